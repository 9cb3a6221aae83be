"""API serializers: `<Entity>OutputSerializer` for answers and
`<Entity><Action>InputSerializer` for input, never shared (STYLE 2.3).
Input serializers only parse; the services decide."""

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from helpdesk.lib.markdown import render_body
from tickets.api.selectors import TICKET_INSTANTS, TICKET_OUTPUT_VALUES
from tickets.importing import fingerprint
from tickets.models import Attachment, Message, Queue, QueueKind, RequestType, Ticket, TicketEvent
from tickets.workflow import customer_status_label

MAX_BODY = 100_000
# What API clients may write (HTML bodies come from email only).
INPUT_BODY_FORMATS = [
    (Message.Format.MARKDOWN.value, Message.Format.MARKDOWN.label),
    (Message.Format.PLAIN.value, Message.Format.PLAIN.label),
]

# --- Output ----------------------------------------------------------------


class PersonOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class QueueOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Queue
        fields = ["id", "slug", "name", "kind"]


class RequestTypeOutputSerializer(serializers.ModelSerializer):
    queue: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    kind = serializers.ChoiceField(source="queue.kind", choices=QueueKind.choices, read_only=True)

    class Meta:
        model = RequestType
        fields = ["id", "slug", "name", "queue", "kind"]


class TicketOutputSerializer(serializers.ModelSerializer):
    number = serializers.IntegerField(source="pk", read_only=True)
    queue = QueueOutputSerializer(read_only=True)
    requester = PersonOutputSerializer(read_only=True)
    assignee = PersonOutputSerializer(read_only=True, allow_null=True)
    tags = serializers.SerializerMethodField()
    request_type: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    customer_status = serializers.SerializerMethodField(
        help_text="The status as customers read it (Received, In progress, Awaiting your reply, Solved, Closed)."
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "subject",
            "queue",
            "kind",
            "status",
            "customer_status",
            "priority",
            "channel",
            "requester",
            "assignee",
            "organisation_id",
            "request_type",
            "tags",
            "merged_into_id",
            "follow_up_of_id",
            *TICKET_INSTANTS,
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, ticket: Ticket) -> list[str]:
        # Uses the prefetch of the list/retrieve querysets.
        return sorted(t.name for t in ticket.tags.all())

    def get_customer_status(self, ticket: Ticket) -> str:
        return customer_status_label(ticket.status)

    def to_representation(self, ticket: Ticket) -> dict[str, Any]:
        """The declared fields, written out by hand: DRF's per-field path
        cost ~0.5 ms a row, most of a 50-row list page (bench/API.md).
        Equality with the generic path is asserted by a test."""
        return ticket_rows_output([ticket_row(ticket)], {ticket.pk: self.get_tags(ticket)})[0]

    def generic_representation(self, ticket: Ticket) -> dict[str, Any]:
        """DRF's own rendering of the declared fields (for the test)."""
        return dict(super().to_representation(ticket))


_DATETIME = serializers.DateTimeField()


def ticket_row(ticket: Ticket) -> dict[str, Any]:
    """A loaded ticket (queue, requester, assignee, request type) as the
    mapping `TICKET_OUTPUT_VALUES` reads from the database."""
    queue, requester, assignee = ticket.queue, ticket.requester, ticket.assignee
    request_type = ticket.request_type if ticket.request_type_id else None
    return {
        **{name: getattr(ticket, name) for name in TICKET_OUTPUT_VALUES if "__" not in name},
        "queue__slug": queue.slug,
        "queue__name": queue.name,
        "queue__kind": queue.kind,
        "requester__name": requester.name,
        "requester__email": requester.email,
        "assignee__name": assignee.name if assignee else None,
        "assignee__email": assignee.email if assignee else None,
        "request_type__slug": request_type.slug if request_type else None,
    }


def _instant_text() -> Callable[[datetime | None], Any]:
    """DRF's DateTimeField.to_representation with the current time zone
    and the format read once, not per value (same text: ISO 8601 in the
    active zone, "+00:00" written "Z"); DRF's own for anything else."""
    zone = timezone.get_current_timezone() if settings.USE_TZ else None
    fast = zone is not None and str(api_settings.DATETIME_FORMAT).lower() == ISO_8601

    def text(value: datetime | None) -> Any:
        if value is None:
            return None
        if not fast or value.tzinfo is None:
            return _DATETIME.to_representation(value)
        out = value.astimezone(zone).isoformat()
        return out[:-6] + "Z" if out.endswith("+00:00") else out

    return text


def ticket_rows_output(rows: Iterable[Mapping[str, Any]], tags: Mapping[int, list[str]]) -> list[dict[str, Any]]:
    """TicketOutputSerializer's answer for each row of `TICKET_OUTPUT_VALUES`
    (the list reads the page as values: no model instance a row), `tags`
    being each ticket's tag names, sorted. The time zone, the date format
    and the customer status labels (in the active language) are looked up
    once for all rows."""
    dt = _instant_text()
    labels: dict[str, str] = {}
    out = []
    for row in rows:
        status, assignee_id = row["status"], row["assignee_id"]
        label = labels.get(status)
        if label is None:
            label = labels[status] = customer_status_label(status)
        item = {
            "id": row["id"],
            "number": row["id"],
            "subject": row["subject"],
            "queue": {
                "id": row["queue_id"],
                "slug": row["queue__slug"],
                "name": row["queue__name"],
                "kind": row["queue__kind"],
            },
            "kind": row["kind"],
            "status": status,
            "customer_status": label,
            "priority": row["priority"],
            "channel": row["channel"],
            # User.display_name: the name, else the address.
            "requester": {"id": row["requester_id"], "name": row["requester__name"] or row["requester__email"]},
            "assignee": (
                {"id": assignee_id, "name": row["assignee__name"] or row["assignee__email"]}
                if assignee_id is not None
                else None
            ),
            "organisation_id": row["organisation_id"],
            "request_type": row["request_type__slug"],
            "tags": tags.get(row["id"], []),
            "merged_into_id": row["merged_into_id"],
            "follow_up_of_id": row["follow_up_of_id"],
        }
        for name in TICKET_INSTANTS:
            item[name] = dt(row[name])
        out.append(item)
    return out


class AttachmentOutputSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size", "sha256", "created_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, attachment: Attachment) -> str:
        return reverse("api:attachment-download", kwargs={"pk": attachment.pk})


class MessageOutputSerializer(serializers.ModelSerializer):
    author = PersonOutputSerializer(read_only=True, allow_null=True)
    body_html = serializers.SerializerMethodField()
    attachments = AttachmentOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "ticket_id",
            "author",
            "author_role",
            "visibility",
            "body",
            "body_format",
            "body_html",
            "is_automated",
            "is_description",
            "channel",
            "created_at",
            "attachments",
        ]
        read_only_fields = fields

    def get_body_html(self, message: Message) -> str:
        """The body rendered and sanitised (safe to show as HTML)."""
        return str(render_body(message.body, message.body_format))


# What a customer may learn from each event kind they can see.
CUSTOMER_EVENT_DATA_KEYS: dict[str, tuple[str, ...]] = {
    TicketEvent.Kind.CREATED: ("to", "channel", "priority"),
    TicketEvent.Kind.STATUS: ("from", "to"),
    TicketEvent.Kind.MERGED_INTO: ("target_id",),
    TicketEvent.Kind.MERGED_FROM: ("source_id",),
}


class EventOutputSerializer(serializers.ModelSerializer):
    data = serializers.SerializerMethodField()  # type: ignore[assignment]  # the event's "data" field

    class Meta:
        model = TicketEvent
        fields = ["id", "ticket_id", "kind", "actor_id", "actor_role", "occurred_at", "visibility", "data"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_data(self, event: TicketEvent) -> dict[str, Any]:
        if self.context.get("staff"):
            return fingerprint.data_out(event.kind, event.occurred_at, event.data)
        keys = CUSTOMER_EVENT_DATA_KEYS.get(event.kind, ())
        return {k: event.data[k] for k in keys if k in event.data}


class EventPageOutputSerializer(serializers.Serializer):
    results = EventOutputSerializer(many=True)
    next_after = serializers.IntegerField(
        allow_null=True, help_text="Pass as `after` for the next page; null when no more events are ready."
    )
    has_more = serializers.BooleanField()


# --- Input -----------------------------------------------------------------


class TicketListFilterInputSerializer(serializers.Serializer):
    """Query parameters of the ticket list (all optional, combined with AND)."""

    queue = serializers.SlugField(required=False, help_text="Queue slug.")
    kind = serializers.ChoiceField(choices=QueueKind.choices, required=False)
    status = serializers.ChoiceField(
        choices=[*Ticket.Status.choices, ("unsolved", "Unsolved")], required=False, help_text="A status or `unsolved`."
    )
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False)
    assignee = serializers.RegexField(
        r"^(me|none|[0-9]{1,18})$", required=False, help_text="A user id, `me` or `none` (unassigned)."
    )
    requester = serializers.EmailField(required=False, help_text="Requester email (exact, case-insensitive).")
    tag = serializers.CharField(required=False, max_length=64)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    updated_after = serializers.DateTimeField(required=False)
    updated_before = serializers.DateTimeField(required=False)


class TicketCreateInputSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=500)
    body = serializers.CharField(max_length=MAX_BODY, allow_blank=True, default="")
    body_format = serializers.ChoiceField(choices=INPUT_BODY_FORMATS, default=Message.Format.MARKDOWN)
    request_type = serializers.SlugField(required=False, help_text="Request type slug (decides the queue).")
    queue = serializers.SlugField(required=False, help_text="Queue slug (agents; instead of a request type).")
    requester_email = serializers.EmailField(
        required=False, help_text="Agents: create on behalf of this existing user."
    )
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False, help_text="Agents only.")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=20, help_text="Agents only."
    )


class TicketCreateManyInputSerializer(serializers.Serializer):
    """The request as documented (the view checks the shape, then each item)."""

    # tickets.bulk.MAX_TICKETS: a batch is one transaction, kept short.
    tickets = serializers.ListField(
        child=TicketCreateInputSerializer(),
        min_length=1,
        max_length=100,
        help_text="1-100 tickets, each as `POST /tickets/` takes.",
    )


class TicketCreateManyShapeSerializer(serializers.Serializer):
    """The batch's shape; each item is then checked on its own (errors by index)."""

    tickets = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=100)


class TicketCreatedItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the request.")
    id = serializers.IntegerField(help_text="The new ticket's id.")


class TicketCreateManyOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = TicketCreatedItemSerializer(many=True)


class MessagePostInputSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=MAX_BODY)
    body_format = serializers.ChoiceField(choices=INPUT_BODY_FORMATS, default=Message.Format.MARKDOWN)


class TicketTransitionInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Ticket.Status.choices)
    note = serializers.CharField(max_length=2000, allow_blank=True, default="")


class TicketAssignInputSerializer(serializers.Serializer):
    assignee_id = serializers.IntegerField(
        allow_null=True, min_value=1, max_value=2**63 - 1, help_text="A staff user id, or null to unassign."
    )
    reason = serializers.CharField(max_length=500, allow_blank=True, default="")


class TicketEscalateInputSerializer(serializers.Serializer):
    queue = serializers.SlugField(help_text="Slug of the queue to move the ticket to.")
    reason = serializers.CharField(max_length=2000)


class TicketMergeInputSerializer(serializers.Serializer):
    target_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The ticket to merge into.")


class TicketTagInputSerializer(serializers.Serializer):
    add = serializers.ListField(child=serializers.CharField(max_length=64), default=list, max_length=50)
    remove = serializers.ListField(child=serializers.CharField(max_length=64), default=list, max_length=50)


class TicketPriorityInputSerializer(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices)


class AttachmentUploadInputSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True), min_length=1)
    body = serializers.CharField(max_length=MAX_BODY, allow_blank=True, default="")
    visibility = serializers.ChoiceField(choices=Message.Visibility.choices, default=Message.Visibility.PUBLIC)


class EventListInputSerializer(serializers.Serializer):
    after = serializers.IntegerField(
        min_value=0, max_value=2**63 - 1, default=0, help_text="Return events with an id greater than this."
    )
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=500)
    ticket = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, help_text="Only events of this ticket."
    )


class TicketCsatInputSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5, help_text="1 (very unhappy) to 5 (very happy).")
    comment = serializers.CharField(max_length=2000, allow_blank=True, default="")


class TicketCsatOutputSerializer(serializers.Serializer):
    ticket_id = serializers.IntegerField()
    event_id = serializers.IntegerField()
    rating = serializers.IntegerField()
    comment = serializers.CharField()
    occurred_at = serializers.DateTimeField()


# --- ticket operations (issue #14) -------------------------------------------------


class TicketReplyInputSerializer(MessagePostInputSerializer):
    status = serializers.ChoiceField(
        choices=[(s, Ticket.Status(s).label) for s in ("open", "pending", "solved", "on_hold")],
        required=False,
        help_text="Agents: leave the ticket in this status (one transaction with the reply).",
    )


class TicketPropertiesInputSerializer(serializers.Serializer):
    """A partial update: only the keys given are changed."""

    status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False)
    assignee_id = serializers.IntegerField(allow_null=True, min_value=1, max_value=2**63 - 1, required=False)
    queue = serializers.SlugField(required=False, help_text="Queue slug.")
    reason = serializers.CharField(max_length=500, allow_blank=True, default="")
    tags = serializers.ListField(child=serializers.CharField(max_length=64), max_length=50, required=False)
    cc_emails = serializers.ListField(child=serializers.EmailField(), max_length=50, required=False)


class TicketOtherInputSerializer(serializers.Serializer):
    ticket_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The other ticket.")


class TicketLinksOutputSerializer(serializers.Serializer):
    ticket_id = serializers.IntegerField()
    related_ids = serializers.ListField(child=serializers.IntegerField(), help_text="Linked tickets you may see.")


class TicketCcsInputSerializer(serializers.Serializer):
    emails = serializers.ListField(child=serializers.EmailField(), max_length=50, allow_empty=True)


class TicketCcsOutputSerializer(serializers.Serializer):
    ticket_id = serializers.IntegerField()
    emails = serializers.ListField(child=serializers.EmailField())


class TicketSplitInputSerializer(serializers.Serializer):
    message_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    subject = serializers.CharField(max_length=500, allow_blank=True, default="")
