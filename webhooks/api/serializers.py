"""Webhook API serializers (output / input never shared). The secret is
only in the create answer."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import event_kinds


class WebhookOutputSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.CharField())
    created_by_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "description",
            "events",
            "include_internal",
            "active",
            "failure_count",
            "disabled_at",
            "disabled_reason",
            "created_by_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WebhookCreatedOutputSerializer(WebhookOutputSerializer):
    secret = serializers.CharField(help_text="The signing secret. Shown only in this answer: store it now.")

    class Meta(WebhookOutputSerializer.Meta):
        fields = [*WebhookOutputSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookDeliveryOutputSerializer(serializers.ModelSerializer):
    event_kind = serializers.SerializerMethodField()
    payload = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription_id",
            "event_id",
            "event_kind",
            "status",
            "attempts",
            "replays",
            "next_attempt_at",
            "response_code",
            "response_body",
            "duration_ms",
            "last_error",
            "created_at",
            "delivered_at",
            "payload",
        ]
        read_only_fields = fields

    def get_event_kind(self, row: WebhookDelivery) -> str:
        return str((row.payload or {}).get("kind", ""))

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_payload(self, row: WebhookDelivery) -> dict:
        return dict(row.payload or {})


_EVENTS_HELP = "TicketEvent kinds to send, or `*` for all."


class WebhookCreateInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=event_kinds()), min_length=1, max_length=50, help_text=_EVENTS_HELP
    )
    description = serializers.CharField(max_length=200, allow_blank=True, default="")
    include_internal = serializers.BooleanField(
        default=False, help_text="Also send internal notes (message.created with visibility internal)."
    )


class WebhookUpdateInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=event_kinds()),
        min_length=1,
        max_length=50,
        required=False,
        help_text=_EVENTS_HELP,
    )
    description = serializers.CharField(max_length=200, allow_blank=True, required=False)
    include_internal = serializers.BooleanField(required=False)
    active = serializers.BooleanField(
        required=False, help_text="true re-activates a disabled subscription (clears the notice)."
    )
