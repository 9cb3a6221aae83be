from django.urls import path

from mail import views

app_name = "mail"

urlpatterns = [
    path("inbound/", views.inbound_mail, name="inbound"),
    path("csat/<str:token>/", views.csat_rate, name="csat"),
    path("preferences/", views.notification_preferences, name="preferences"),
]
