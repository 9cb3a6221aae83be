"""Metrics API routes, mounted at /api/v1/metrics/ by helpdesk.api_urls (APP_APIS)."""

from django.urls import path

from metrics.api import views as api

app_name = "metrics-api"

urlpatterns = [
    path("tickets/<int:pk>/", api.TicketMetricsView.as_view(), name="ticket"),
    path("summary/", api.MetricsSummaryView.as_view(), name="summary"),
    path("surveys/", api.SurveySummaryView.as_view(), name="surveys"),
    path("nps/responses/", api.NpsResponsesView.as_view(), name="nps-responses"),
]
