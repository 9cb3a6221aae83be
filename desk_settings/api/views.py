"""`GET /api/v1/config/history/`: the configuration audit trail (managers)."""

from typing import Any

from auditlog.models import LogEntry
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from desk_settings import audit
from helpdesk.lib.access import IsManager

MAX_LIMIT = 200


class HistoryFilterSerializer(serializers.Serializer):
    type = serializers.CharField(
        required=False, help_text="Object type as app_label.model, e.g. tickets.calendar or tickets.slapolicy."
    )
    object = serializers.CharField(required=False, max_length=255, help_text="The object's id (needs `type`).")
    before = serializers.IntegerField(
        required=False, min_value=1, help_text="Keyset: the `next_before` of the previous page."
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=50)


class HistoryChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class HistoryEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True, help_text="Email of who made the change (or 'operator ...').")
    via = serializers.ChoiceField(choices=audit.VIA_CHOICES, help_text="page, admin, api, file or other.")
    type = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    action = serializers.ChoiceField(choices=["create", "update", "delete", "access"])
    changes = HistoryChangeSerializer(many=True)


class HistoryPageSerializer(serializers.Serializer):
    results = HistoryEntrySerializer(many=True)
    next_before = serializers.IntegerField(allow_null=True)


def _entry(e: LogEntry) -> dict[str, Any]:
    return {
        "id": e.pk,
        "timestamp": e.timestamp,
        "actor": e.actor.email if e.actor else e.actor_email,
        "via": audit.entry_via(e),
        "type": f"{e.content_type.app_label}.{e.content_type.model}",
        "object_id": e.object_pk,
        "object_repr": e.object_repr,
        "action": {0: "create", 1: "update", 2: "delete", 3: "access"}.get(e.action, "update"),
        "changes": [{"field": f, "before": b, "after": a} for f, b, a in audit.entry_changes(e)],
    }


class ConfigHistoryView(APIView):
    """Who changed which configuration object, when, by which path, with the
    changed fields before and after. Newest first; page with `before`."""

    permission_classes = [IsManager]

    @extend_schema(parameters=[HistoryFilterSerializer], responses={200: HistoryPageSerializer})
    def get(self, request: Request) -> Response:
        f = HistoryFilterSerializer(data=request.query_params)
        f.is_valid(raise_exception=True)
        data = f.validated_data
        type_id = None
        if data.get("type"):
            type_id = audit.content_type_id(data["type"])
            if type_id is None:
                raise serializers.ValidationError(
                    {"type": [_("unknown object type '%(type)s' (app_label.model)") % {"type": data["type"]}]}
                )
        entries = audit.history_entries(
            content_type_id=type_id, object_pk=data.get("object"), before_id=data.get("before"), limit=data["limit"]
        )
        more = len(entries) > data["limit"]
        entries = entries[: data["limit"]]
        return Response({"results": [_entry(e) for e in entries], "next_before": entries[-1].pk if more else None})
