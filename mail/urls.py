from django.urls import path

from mail import views

app_name = "mail"

urlpatterns = [
    path("inbound/", views.inbound_mail, name="inbound"),
    path("csat/<str:token>/", views.csat_rate, name="csat"),
    path("preferences/", views.notification_preferences, name="preferences"),
    path("held/", views.agent_held_list, name="agent-held-list"),
    path("held/<int:inbound_id>/release/", views.agent_held_release, name="agent-held-release"),
    path("held/<int:inbound_id>/discard/", views.agent_held_discard, name="agent-held-discard"),
]
