"""API of the configuration document (managers and admins). The knowledge
base's endpoints are knowledge_base.api's."""

from dataclasses import asdict
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.request_user import signed_in
from helpdesk.lib.access import IsManager
from tickets import config

# --- serializers --------------------------------------------------------------


class ConfigChangeOutputSerializer(serializers.Serializer):
    section = serializers.CharField()
    key = serializers.CharField()
    action = serializers.ChoiceField(choices=["create", "update", "unchanged"])
    fields = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]  # the API field "fields"


class ConfigReportOutputSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    changes = ConfigChangeOutputSerializer(many=True)
    sla_affected_open_tickets = serializers.IntegerField()
    sla_state_changed_open_tickets = serializers.IntegerField()
    lines = serializers.ListField(child=serializers.CharField())


class ConfigApplyInputSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(
        default=False, help_text="true: validate and report what would change, change nothing."
    )


def _input(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- configuration ---------------------------------------------------------------


def _report(report: config.ConfigReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "changes": [asdict(c) for c in report.changes],
        "sla_affected_open_tickets": report.sla_affected_open_tickets,
        "sla_state_changed_open_tickets": report.sla_state_changed_open_tickets,
        "lines": report.lines(),
    }


class ConfigView(generics.GenericAPIView):
    """The `helpdesk_config` document: calendars, SLA policies, queues,
    request types, agents, reporting time zone (managers and admins)."""

    permission_classes = [IsManager]
    serializer_class = ConfigReportOutputSerializer
    pagination_class = None
    metadata_class = None  # OPTIONS: 405 (DRF's metadata would look for an object to PUT)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        """The current configuration, in the shape PUT accepts (a calendar
        changed since its creation lists its `versions`, oldest first)."""
        return Response(config.config_dump())

    @extend_schema(
        parameters=[ConfigApplyInputSerializer],
        request=OpenApiTypes.OBJECT,
        responses={200: ConfigReportOutputSerializer},
        examples=[OpenApiExample("Reporting time zone only", value={"reporting": {"timezone": "Europe/Paris"}})],
    )
    def put(self, request: Request) -> Response:
        """Create or update everything the document names (nothing is ever
        deleted); `?dry_run=true` reports without changing anything. An
        invalid document is a 400 `invalid_config` listing every problem
        with its JSON path (`details.problems[].path`). Only admins grant or
        revoke the manager/admin role or change a staff account's active
        flag, and the last active admin cannot be demoted or deactivated
        (a 400 naming `agents[i].role` / `agents[i].active`). A calendar
        change is a version effective now, or at the item's `effective_from`
        (ISO 8601, never in the past: a 400 naming
        `calendars[i].effective_from`); `versions` as GET returns them
        (docs/metrics.md#calendar-versions)."""
        params = _input(ConfigApplyInputSerializer, request.query_params)
        report = config.config_apply(request.data, dry_run=params["dry_run"], actor=signed_in(request))
        return Response(_report(report))
