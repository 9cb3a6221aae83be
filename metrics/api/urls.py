from django.urls import path

from metrics import api

app_name = "metrics-api"

urlpatterns = [
    path("tickets/<int:pk>/", api.TicketMetricsView.as_view(), name="ticket"),
    path("summary/", api.MetricsSummaryView.as_view(), name="summary"),
    path("surveys/", api.SurveySummaryView.as_view(), name="surveys"),
]
