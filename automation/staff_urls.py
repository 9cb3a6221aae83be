"""Settings → Agents, Organisations (mounted at /settings/ by helpdesk.urls)."""

from django.urls import path

from automation import staff_views

app_name = "staff"

urlpatterns = [
    path("agents/", staff_views.agent_list, name="agent-list"),
    path("agents/away/", staff_views.away_toggle, name="away-toggle"),
    path("agents/<int:user_id>/", staff_views.agent_edit, name="agent-edit"),
    path("organisations/", staff_views.organisation_list, name="organisation-list"),
    path("organisations/new/", staff_views.organisation_edit, name="organisation-create"),
    path("organisations/<int:org_id>/", staff_views.organisation_edit, name="organisation-edit"),
]
