from django.urls import include, path

from desk_settings import sign_in, views

app_name = "desk_settings"

urlpatterns = [
    path("", views.settings_home, name="home"),
    path("queues/", views.queue_list, name="queue-list"),
    path("queues/new/", views.queue_edit, name="queue-new"),
    path("queues/<int:pk>/", views.queue_edit, name="queue-edit"),
    path("calendars/", views.calendar_list, name="calendar-list"),
    path("calendars/new/", views.calendar_edit, name="calendar-new"),
    path("calendars/<int:pk>/", views.calendar_edit, name="calendar-edit"),
    path("calendars/<int:pk>/delete/", views.calendar_delete, name="calendar-delete"),
    path("sla/", views.policy_list, name="policy-list"),
    path("sla/new/", views.policy_edit, name="policy-new"),
    path("sla/<int:pk>/", views.policy_edit, name="policy-edit"),
    path("sla/<int:pk>/delete/", views.policy_delete, name="policy-delete"),
    path("request-types/", views.request_type_list, name="request-type-list"),
    path("request-types/new/", views.request_type_edit, name="request-type-new"),
    path("request-types/<int:pk>/", views.request_type_edit, name="request-type-edit"),
    path("history/", views.history, name="history"),
    path("surveys/", views.survey_settings, name="surveys"),
    path("sign-in/", sign_in.sign_in_policy, name="sign-in"),
    # Part B (macros, routing, views, agents, organisations) lives in its own module.
    path("", include("desk_settings.urls_b")),
]
