"""Metrics API: per-ticket metrics and summaries (thin views over selectors).

Per ticket: whoever may see the ticket as staff (404 otherwise, 403 for
customers on their own ticket). Summary: managers see everything; agents
only metrics attributed to themselves (the agent filter is forced).
"""

from datetime import date, timedelta
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from metrics import selectors
from metrics.present import row_present, stored_row
from metrics.services import reporting_zone
from tickets.selectors import ticket_get_for_user

HEADLINE_DURATIONS = (
    "frt_cal_s",
    "frt_bus_s",
    "first_resolution_cal_s",
    "first_resolution_bus_s",
    "full_resolution_cal_s",
    "full_resolution_bus_s",
    "requester_wait_cal_s",
    "requester_wait_bus_s",
    "agent_wait_cal_s",
    "agent_wait_bus_s",
    "handle_s",
)


def _require_staff(user: Any) -> None:
    if not getattr(user, "is_staff_role", False):
        raise exceptions.PermissionDenied(_("Only agents and managers can see metrics."))


class SummaryInputSerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First local day (reporting zone); default 29 days ago.")
    end = serializers.DateField(required=False, help_text="Last local day, inclusive; default today.")
    queue = serializers.IntegerField(required=False)
    kind = serializers.ChoiceField(choices=["support", "service"], required=False)
    agent = serializers.IntegerField(required=False)
    priority = serializers.CharField(required=False)
    channel = serializers.CharField(required=False)


class TicketMetricsView(APIView):
    """Every per-ticket metric of one ticket (expected.json field names)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        ticket = ticket_get_for_user(user=request.user, ticket_id=pk)
        _require_staff(request.user)
        m = selectors.ticket_metrics_get(ticket_id=ticket.pk)
        if m is None:
            raise exceptions.NotFound(_("Metrics for this ticket are not computed yet."))
        emails = dict(User.objects.filter(role__in=User.STAFF_ROLES).values_list("pk", "email"))
        row = stored_row(m)
        body = {
            "ticket": ticket.pk,
            "external_id": ticket.external_id,
            "computed_at": m.computed_at,
            "definition_version": m.definition_version,
            **row_present(row, emails=emails),
        }
        return Response(body)


class MetricsSummaryView(APIView):
    """Aggregates over local days [start, end] with filters; n, mean, median, p90, ratios."""

    @extend_schema(
        parameters=[OpenApiParameter(str(n), str, required=False) for n in SummaryInputSerializer().fields],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        _require_staff(request.user)
        data = SummaryInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        zone = reporting_zone()
        end_day = params.get("end") or date.today()  # noqa: DTZ011 - a default day, refined by the zone below
        start_day = params.get("start") or end_day - timedelta(days=29)
        if start_day > end_day:
            raise exceptions.ValidationError({"start": [_("start must be on or before end")]})
        start, end = selectors.local_day_bounds(start_day, end_day, zone)
        raw = {
            "queue_id": params.get("queue"),
            "kind": params.get("kind"),
            "agent_id": params.get("agent"),
            "priority": params.get("priority"),
            "channel": params.get("channel"),
        }
        filters = selectors.filters_for_user(user=request.user, filters=raw)
        body = {
            "start": start,
            "end": end,
            "timezone": str(zone),
            "filters": filters,
            "durations": {
                m: selectors.duration_summary(metric=m, start=start, end=end, **filters) for m in HEADLINE_DURATIONS
            },
            "csat": selectors.csat_summary(start=start, end=end, **filters),
            "fcr": selectors.fcr_summary(start=start, end=end, **filters),
            "reopens": selectors.reopen_summary(start=start, end=end, **filters),
            "sla": selectors.sla_summary(start=start, end=end, **filters),
            "tickets_created": len(selectors.count_created(start=start, end=end, **filters)),
            "tickets_resolved": len(selectors.count_resolved(start=start, end=end, **filters)),
            **_survey_kpis(start_day, end_day, filters),
            **_escalation_kpis(start_day, end_day, filters),
        }
        return Response(body)


def _survey_kpis(first: date, last: date, filters: dict[str, Any]) -> dict[str, Any]:
    """CES (M15) and NPS (M16) per side, from the dashboard's KPI registry; null when filtered by
    what survey answers do not carry (queue, agent, priority, channel: docs/architecture-kpis.md)."""
    from metrics.dashboard import Period, Scope
    from metrics.dashboard.surveys import survey_tiles

    scope = Scope(period=Period(first, last, reporting_zone()), with_agents=False, **filters)
    tiles = survey_tiles(scope)
    sides = (scope.kind, "all") if scope.kind else ("support", "service", "all")
    return {key: {side: tiles[key][side]["cur"] for side in sides} if key in tiles else None for key in ("ces", "nps")}


ESCALATION_SUMMARY_KPIS = (
    "escalation_rate",
    "esc_to_service",
    "esc_to_support",
    "time_to_escalation",
    "ping_pong",
    "resolution_escalated",
    "resolution_not_escalated",
    "next_reply",
)


def _escalation_kpis(first: date, last: date, filters: dict[str, Any]) -> dict[str, Any]:
    """Escalation KPIs, next-reply aggregates (per side, current period) and the tickets awaiting their
    first reply now, from the dashboard's KPI registry (docs/metrics.md#escalations)."""
    from django.utils import timezone

    from metrics.dashboard import Period, Scope
    from metrics.dashboard.awaiting import awaiting_tiles
    from metrics.dashboard.build import kpi_values

    scope = Scope(period=Period(first, last, reporting_zone()), with_agents=False, **filters)
    values = kpi_values(scope=scope, keys=ESCALATION_SUMMARY_KPIS)
    awaiting = awaiting_tiles(scope, timezone.now())["awaiting_first_reply"]
    sides = (scope.kind, "all") if scope.kind else ("support", "service", "all")
    live = {side: {k: v for k, v in awaiting[side]["now"].items() if k != "oldest_fmt"} for side in sides}
    next_reply = values.pop("next_reply")
    return {"escalations": values, "next_reply": next_reply, "awaiting_first_reply": live}


class SurveyInputSerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First local day (reporting zone); default 29 days ago.")
    end = serializers.DateField(required=False, help_text="Last local day, inclusive; default today.")


class SurveySummaryView(APIView):
    """CSAT (M10), CES (M15) per side and NPS (M16) over local days [start, end] (managers)."""

    @extend_schema(
        parameters=[OpenApiParameter(str(n), str, required=False) for n in SurveyInputSerializer().fields],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        from metrics.surveys import survey_report_load

        window, zone = _survey_window(request)
        report = survey_report_load(window=window)
        report.pop("responses")
        return Response({"start": window.start, "end": window.end, "timezone": str(zone), **report})


def _survey_window(request: Request) -> tuple[Any, Any]:
    """Managers only; the [start, end] local days of the query (400 when bad)."""
    from metrics.surveys import Window

    if not getattr(request.user, "is_manager_role", False):
        raise exceptions.PermissionDenied(_("Only managers can see survey results."))
    data = SurveyInputSerializer(data=request.query_params)
    data.is_valid(raise_exception=True)
    zone = reporting_zone()
    end_day = data.validated_data.get("end") or date.today()  # noqa: DTZ011 - a default day
    start_day = data.validated_data.get("start") or end_day - timedelta(days=29)
    if start_day > end_day:
        raise exceptions.ValidationError({"start": [_("start must be on or before end")]})
    return Window.of_dates(start_day, end_day, zone), zone


class NpsResponsesView(APIView):
    """NPS (M16) over local days [start, end] (managers): the aggregate and
    every counted answer (each customer's latest in the period), from the
    relationship survey (ticket_id null) or given on a ticket."""

    @extend_schema(
        parameters=[OpenApiParameter(str(n), str, required=False) for n in SurveyInputSerializer().fields],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        from metrics.surveys import survey_report_load

        window, zone = _survey_window(request)
        report = survey_report_load(window=window)
        rows = [
            {
                "customer_id": r.customer_id,
                "organisation_id": r.organisation_id,
                "ticket_id": r.ticket_id,
                "responded_at": r.at,
                "value": r.value,
                "comment": r.comment,
            }
            for r in report["responses"]["nps"]
        ]
        return Response(
            {"start": window.start, "end": window.end, "timezone": str(zone), "nps": report["nps"], "responses": rows}
        )
