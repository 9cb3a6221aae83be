"""Automation API routes, mounted at /api/v1/ by helpdesk.api_urls (APP_APIS)."""

from django.urls import path

from automation.api import views as api

app_name = "automation-api"

urlpatterns = [
    path("macros/", api.MacroListView.as_view(), name="macro-list"),
    path("macros/<int:macro_id>/", api.MacroDetailView.as_view(), name="macro-detail"),
    path("routing-rules/", api.RoutingRuleListView.as_view(), name="rule-list"),
    path("routing-rules/test/", api.RoutingRuleTestView.as_view(), name="rule-test"),
    path("routing-rules/<int:rule_id>/", api.RoutingRuleDetailView.as_view(), name="rule-detail"),
]
