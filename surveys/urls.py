from django.urls import path

from surveys import views

app_name = "surveys"

urlpatterns = [
    path("surveys/rate/<str:token>/", views.survey_rate, name="rate"),
    path("surveys/nps/<str:token>/", views.nps_answer_page, name="nps"),
    path(
        "portal/tickets/<int:ticket_id>/survey/<str:survey>/",
        views.customer_survey_answer,
        name="customer-answer",
    ),
    path("manager/surveys/", views.manager_survey_report, name="manager-report"),
    path("manager/surveys/responses/", views.manager_survey_responses, name="manager-responses"),
]
