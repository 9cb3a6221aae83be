"""Settings API routes, included under /api/v1/ by helpdesk.api_urls."""

from django.urls import path

from desk_settings.api import sign_in, views

urlpatterns = [
    path("config/history/", views.ConfigHistoryView.as_view(), name="config-history"),
    path("config/sign-in/", sign_in.SignInPolicyView.as_view(), name="config-sign-in"),
]
