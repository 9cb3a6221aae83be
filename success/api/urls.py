"""Customer success API routes, included under /api/v1/ by helpdesk.api_urls."""

from django.urls import path

from success.api import views

urlpatterns = [
    path("success/accounts/", views.AccountListView.as_view(), name="success-accounts"),
    path("success/accounts/<str:kind>/<int:pk>/", views.AccountDetailView.as_view(), name="success-account"),
]
