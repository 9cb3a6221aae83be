"""Tickets, queues and the append-only event log.

Only `tickets.services` writes these rows (docs/architecture.md); models hold
fields, choices, constraints and indexes.
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.timezone import now as _now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class QueueKind(models.TextChoices):
    SUPPORT = "support", _("Support")
    SERVICE = "service", _("Service")


class Calendar(models.Model):
    """Business hours: IANA zone, weekly local intervals, holidays, overrides."""

    name = models.CharField(max_length=100, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # {"mon": [["09:00", "17:00"]], ...}; a missing day is closed.
    hours = models.JSONField(default=dict, blank=True)
    holidays = models.JSONField(default=list, blank=True)  # ["2025-11-27", ...]
    overrides = models.JSONField(default=list, blank=True)  # [{"date", "hours"}]
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class CalendarVersion(models.Model):
    """One version of a calendar's business hours (docs/metrics.md
    #calendar-versions). Business time at an instant uses the version in
    force then: the one with the latest `effective_from` at or before it.
    `effective_from` NULL = since the beginning of time (a calendar's first
    version). Versions are written by `tickets.calendar_versions` only;
    one already in force never changes."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="versions")
    effective_from = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    hours = models.JSONField(default=dict, blank=True)
    holidays = models.JSONField(default=list, blank=True)
    overrides = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=_now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["calendar", "effective_from"], name="calendar_version_once"),
            models.UniqueConstraint(
                fields=["calendar"], condition=models.Q(effective_from__isnull=True), name="calendar_version_first"
            ),
        ]
        ordering = [models.F("effective_from").asc(nulls_first=True)]

    def __str__(self) -> str:
        since = self.effective_from.isoformat() if self.effective_from else "the beginning"
        return f"{self.calendar_id} from {since}"


class SLAPolicy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    pause_statuses = models.JSONField(default=list, blank=True)
    # {"high": {"first_response": 14400, "next_reply": ..., "resolution": ...,
    #           "business_hours": true}}
    targets = models.JSONField(default=dict, blank=True)
    # Warn (an `sla.warning` event, once per target and cycle) when this
    # fraction of a target has elapsed.
    warning_fraction = models.FloatField(default=0.75)
    # [{"on": "breach"|"warning", "targets": [...] (default all),
    #   "action": "raise_priority"|"notify_manager"|"reassign", "queue": slug, "priority": p}]
    escalations = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name


class Queue(models.Model):
    class AutoAssign(models.TextChoices):
        NONE = "none", "None"
        ROUND_ROBIN = "round_robin", "Round-robin"
        LEAST_LOADED = "least_loaded", "Least-loaded"

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=QueueKind.choices)
    calendar = models.ForeignKey(Calendar, null=True, blank=True, on_delete=models.PROTECT)
    sla_policy = models.ForeignKey(SLAPolicy, null=True, blank=True, on_delete=models.PROTECT)
    auto_assign = models.CharField(max_length=16, choices=AutoAssign.choices, default=AutoAssign.NONE)
    inbound_email = models.EmailField(blank=True)
    # Time-based automations: None = the global setting (auto-close) / off
    # (reminder); 0 = never auto-close.
    auto_close_days = models.PositiveIntegerField(null=True, blank=True)
    pending_reminder_days = models.PositiveIntegerField(null=True, blank=True)
    # "We received your request" e-mail (ticket number and link) for every
    # new customer request by portal, e-mail, API or the embedded form.
    send_acknowledgement = models.BooleanField(
        default=True, help_text="E-mail the customer a receipt with the ticket number and a link for each new request."
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="QueueMembership", related_name="queues", blank=True
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=["support", "service"]), name="queue_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class QueueCalendarChange(models.Model):
    """Which calendar a queue uses, from when (docs/metrics.md#calendar-assignments).
    Business time at an instant uses the calendar assigned to the queue then
    (NULL calendar = 24/7), each with its own versions, so changing a queue's
    calendar never moves a value of an earlier instant. `effective_from` NULL
    = since the beginning of time (the queue's first assignment). Written by
    `tickets.calendar_versions.queue_calendar_record` only; the Queue row's
    `calendar` is the latest assignment. A calendar once assigned cannot be
    deleted (PROTECT): past values were computed with it."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="calendar_changes")
    calendar = models.ForeignKey(Calendar, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    effective_from = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=_now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "effective_from"], name="queue_calendar_change_once"),
            models.UniqueConstraint(
                fields=["queue"], condition=models.Q(effective_from__isnull=True), name="queue_calendar_change_first"
            ),
        ]

    def __str__(self) -> str:
        since = self.effective_from.isoformat() if self.effective_from else "the beginning"
        return f"queue {self.queue_id}: calendar {self.calendar_id} from {since}"


class QueueMembership(models.Model):
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "user"], name="queue_membership_unique")]


class RequestType(models.Model):
    """What a customer picks on the portal; decides the queue (so the kind)."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="request_types")
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    # Shown to customers next to the name; the default is preselected on the portal (one at most).
    description = models.CharField(max_length=300, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("ticket status", "New")
        OPEN = "open", pgettext_lazy("ticket status", "Open")
        PENDING = "pending", pgettext_lazy("ticket status", "Pending")
        ON_HOLD = "on_hold", pgettext_lazy("ticket status", "On hold")
        SOLVED = "solved", pgettext_lazy("ticket status", "Solved")
        CLOSED = "closed", pgettext_lazy("ticket status", "Closed")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Portal")
        EMAIL = "email", _("Email")
        API = "api", "API"
        AGENT = "agent", _("Agent")
        PHONE = "phone", _("Phone")
        CHAT = "chat", _("Chat")
        IMPORT = "import", _("Import")

    UNSOLVED = ("new", "open", "pending", "on_hold")

    # The primary key is the human ticket number (#1042); it is never the
    # only secret for anything (attachments, reply tokens, CSAT are signed).
    subject = models.CharField(max_length=500)
    # FK indexes of queue/requester/organisation/assignee are left out on
    # purpose: composite indexes below lead with these columns (writes at 1M
    # tickets pay for every index).
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="tickets", db_index=False)
    kind = models.CharField(max_length=16, choices=QueueKind.choices)  # from the queue
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.PORTAL)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_tickets", db_index=False
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
        db_index=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
        db_index=False,
    )
    request_type = models.ForeignKey(RequestType, null=True, blank=True, on_delete=models.SET_NULL)
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    ccs = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="cc_tickets")
    related = models.ManyToManyField("self", blank=True, symmetrical=True)
    # Rarely set: indexed where set (partial indexes below), not on every row.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from", db_index=False
    )
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups", db_index=False
    )
    external_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    # Fingerprint of the import line last applied (idempotent re-import).
    import_digest = models.CharField(max_length=64, blank=True)
    is_spam = models.BooleanField(default=False)
    is_deleted = models.BooleanField(default=False)

    created_at = models.DateTimeField(default=_now)
    updated_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    solved_at = models.DateTimeField(null=True, blank=True)
    # SLA due instants (filled by the SLA service; indexed for at-risk views).
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    next_reply_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)  # earliest of the above
    # The first-response clock's start while no first reply followed it (tickets/first_reply.py,
    # docs/metrics.md#awaiting-first-reply-now); NULL once replied or when no clock runs.
    awaiting_first_reply_since = models.DateTimeField(null=True, blank=True)
    # Next instant the SLA scan must look at this ticket (a warning or a
    # breach to mark); NULL = nothing scheduled. Drives tickets.sla_services.
    sla_next_check_at = models.DateTimeField(null=True, blank=True)
    # Sort key for "by priority" lists (urgent=4 ... low=1), computed by the
    # database so every write path (import COPY included) keeps it right.
    priority_rank = models.GeneratedField(
        expression=models.Case(
            models.When(priority="urgent", then=models.Value(4)),
            models.When(priority="high", then=models.Value(3)),
            models.When(priority="normal", then=models.Value(2)),
            default=models.Value(1),
        ),
        output_field=models.SmallIntegerField(),
        db_persist=True,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["new", "open", "pending", "on_hold", "solved", "closed"]),
                name="ticket_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=["low", "normal", "high", "urgent"]),
                name="ticket_priority_valid",
            ),
            models.CheckConstraint(condition=models.Q(kind__in=["support", "service"]), name="ticket_kind_valid"),
        ]
        indexes = [
            # Agent lists: filter by queue/status/assignee, keyset on (sort key, id).
            models.Index(fields=["queue", "status", "-updated_at", "-id"], name="ticket_queue_status_upd"),
            models.Index(fields=["assignee", "status", "-updated_at", "-id"], name="ticket_assignee_status_upd"),
            models.Index(fields=["status", "-updated_at", "-id"], name="ticket_status_upd"),
            models.Index(fields=["-updated_at", "-id"], name="ticket_updated"),
            models.Index(fields=["requester", "-created_at"], name="ticket_requester_created"),
            models.Index(fields=["organisation", "-created_at"], name="ticket_org_created"),
            # Workspace sorts (keyset on (key, id)) and the open-work views.
            models.Index(fields=["-created_at", "-id"], name="ticket_created_id"),
            models.Index(fields=["-priority_rank", "-id"], name="ticket_priority_id"),
            models.Index(fields=["sla_due_at", "id"], name="ticket_sla_id"),
            models.Index(fields=["queue", "-priority_rank", "-id"], name="ticket_queue_priority"),
            models.Index(fields=["queue", "-created_at", "-id"], name="ticket_queue_created"),
            models.Index(
                fields=["assignee", "-updated_at", "-id"],
                name="ticket_open_assignee_upd",
                condition=models.Q(status__in=["new", "open", "pending", "on_hold"]),
            ),
            # Awaiting first reply now, per queue: count and oldest (tickets/first_reply.py).
            models.Index(
                fields=["queue", "awaiting_first_reply_since"],
                include=["kind", "priority", "channel", "assignee"],
                name="ticket_awaiting_first_reply",
                condition=models.Q(
                    awaiting_first_reply_since__isnull=False,
                    status__in=["new", "open", "pending", "on_hold"],
                    is_spam=False,
                    is_deleted=False,
                ),
            ),
            # Auto-assignment's open load per candidate agent (routing._open_load):
            # index-only, reading only the candidates' entries.
            models.Index(
                fields=["assignee"],
                name="ticket_open_assignee_load",
                condition=models.Q(status__in=["new", "open", "pending", "on_hold"], is_spam=False, is_deleted=False),
            ),
            models.Index(
                fields=["queue", "-updated_at", "-id"],
                name="ticket_open_unassigned_upd",
                condition=models.Q(status__in=["new", "open", "pending", "on_hold"], assignee__isnull=True),
            ),
            models.Index(
                fields=["queue", "sla_due_at", "id"],
                name="ticket_open_queue_sla",
                condition=models.Q(status__in=["new", "open", "pending", "on_hold"]),
            ),
            models.Index(fields=["requester", "-updated_at", "-id"], name="ticket_requester_upd"),
            # The ticket page's "Other requests from ..." card: the newest visible
            # tickets of a requester per queue (selectors.ticket_requester_other_tickets).
            models.Index(
                fields=["requester", "queue", "-created_at", "-id"],
                name="ticket_requester_queue_created",
                condition=models.Q(is_spam=False, is_deleted=False),
            ),
            # Auto-close sweep: solved tickets by solve time.
            models.Index(
                fields=["solved_at", "id"], name="ticket_solved_autoclose", condition=models.Q(status="solved")
            ),
            # SLA breach scan (a range scan over the few scheduled rows) and
            # the "at risk / breached" lists over open tickets.
            models.Index(
                fields=["sla_next_check_at"],
                name="ticket_sla_check",
                condition=models.Q(sla_next_check_at__isnull=False),
            ),
            models.Index(
                fields=["sla_due_at", "id"],
                name="ticket_open_sla_due",
                condition=models.Q(status__in=["new", "open", "pending", "on_hold"], sla_due_at__isnull=False),
            ),
            # The workspace's per-queue and per-view counts (workspace.workspace_counts):
            # one grouped index-only scan over the unsolved, visible tickets.
            models.Index(
                fields=["queue"],
                # awaiting_first_reply_since: the "Awaiting first reply" count and oldest (tickets/first_reply.py)
                include=["status", "assignee", "sla_due_at", "updated_at", "id", "awaiting_first_reply_since"],
                name="ticket_ws_counts",
                condition=models.Q(status__in=["new", "open", "pending", "on_hold"], is_spam=False, is_deleted=False),
            ),
            models.Index(
                fields=["merged_into"], name="ticket_merged_into", condition=models.Q(merged_into__isnull=False)
            ),
            models.Index(
                fields=["follow_up_of"], name="ticket_follow_up_of", condition=models.Q(follow_up_of__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def number(self) -> int:
        return self.pk

    @property
    def is_resolved(self) -> bool:
        return self.status in (self.Status.SOLVED, self.Status.CLOSED)


class Message(models.Model):
    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public reply")
        INTERNAL = "internal", _("Internal note")

    class Format(models.TextChoices):
        MARKDOWN = "markdown", "Markdown"
        PLAIN = "plain", "Plain text"
        HTML = "html", "HTML (sanitised)"

    class AuthorRole(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    # Indexed by message_ticket_created (leading column).
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages", db_index=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    author_role = models.CharField(max_length=16, choices=AuthorRole.choices)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    body = models.TextField()
    body_format = models.CharField(max_length=16, choices=Format.choices, default=Format.MARKDOWN)
    is_automated = models.BooleanField(default=False)
    is_description = models.BooleanField(default=False)  # the creation message
    channel = models.CharField(max_length=16, blank=True)
    # Set on e-mail messages only: indexed where set (partial), for threading by In-Reply-To.
    email_message_id = models.CharField(max_length=998, blank=True)
    created_at = models.DateTimeField(default=_now)

    class Meta:
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="message_ticket_created"),
            models.Index(
                fields=["email_message_id"], name="message_email_id", condition=~models.Q(email_message_id="")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(visibility__in=["public", "internal"]), name="message_visibility_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_visibility_display()} on #{self.ticket_id}"


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    # Random path: the stored name never leaks the original name or ticket.
    import uuid

    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_upload_to, max_length=300)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    is_inline = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=_now)

    def __str__(self) -> str:
        return self.filename


# Event kinds some query selects by kind and a time range rather than by ticket: the partial
# `event_kind_time` index holds these, plus the status changes that reopen a ticket
# (REOPEN_EVENT), the only status changes read by time (tests/tickets/test_storage_indexes.py,
# docs/database-size.md).
KINDS_BY_TIME = (
    "group.changed",
    "assignee.changed",
    "survey.offered",
    "csat.responded",
    "ces.responded",
    "nps.responded",
)
# A reopen: a status change from solved / closed back to an unsolved status. Queries that count
# reopens by time use this very Q, so that they imply the index predicate below.
REOPEN_EVENT = models.Q(kind="status.changed", data__from__in=["solved", "closed"], data__to__in=list(Ticket.UNSOLVED))


class TicketEvent(models.Model):
    """Append-only history. Never updated or deleted (a DB trigger enforces it).

    `kind` names follow docs/metrics.md §1.1; `data` keys per kind may be added,
    never change meaning. Ordering is (occurred_at, id): `id` is the `seq`.
    """

    class Kind(models.TextChoices):
        CREATED = "ticket.created", "Created"
        MESSAGE = "message.created", "Message"
        STATUS = "status.changed", "Status changed"
        ASSIGNEE = "assignee.changed", "Assignee changed"
        QUEUE = "group.changed", "Queue changed"
        PRIORITY = "priority.changed", "Priority changed"
        TAGS = "tags.changed", "Tags changed"
        CCS = "ccs.changed", "CCs changed"
        FIELDS = "ticket.updated", "Fields changed"
        WORK_SESSION = "work_session.recorded", "Work session"
        TIME_ENTRY = "time_entry.logged", "Time logged"
        SURVEY_OFFERED = "survey.offered", "Survey offered"
        CSAT = "csat.responded", "CSAT rating"
        CES = "ces.responded", "CES rating"
        NPS = "nps.responded", "NPS rating"
        MERGED_INTO = "ticket.merged_into", "Merged into"
        MERGED_FROM = "ticket.merged_from", "Merged from"
        LINKED = "ticket.linked", "Linked"
        UNLINKED = "ticket.unlinked", "Unlinked"
        SPLIT = "ticket.split", "Message split off"
        SPAM = "ticket.marked_spam", "Marked as spam"
        DELETED = "ticket.deleted", "Deleted"
        RESTORED = "ticket.restored", "Restored"
        ROUTING = "routing.matched", "Routing rule matched"
        SLA_WARNING = "sla.warning", "SLA warning"
        SLA_BREACHED = "sla.breached", "SLA breached"
        SLA_ESCALATED = "sla.escalated", "SLA escalation"

    class ActorRole(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    # Indexed by event_ticket_occurred (leading column). NULL only for a
    # customer-level event that is about no ticket: the NPS relationship
    # survey's offer and answer (docs/surveys.md, "Where NPS events live").
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # NULL for system and imported events (most rows): indexed where set (event_actor).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    actor_role = models.CharField(max_length=16, choices=ActorRole.choices, default=ActorRole.SYSTEM)
    occurred_at = models.DateTimeField(default=timezone.now)
    # Only messages carry visibility; "" for other kinds. Internal rows never
    # reach customers (selectors filter on it).
    visibility = models.CharField(max_length=16, blank=True, default="")
    is_automated = models.BooleanField(default=False)
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["ticket", "occurred_at", "id"], name="event_ticket_occurred"),
            # Only the rows read by kind and time (surveys, reopens and escalations per period, the
            # erasure's assignee lookup): ~20 % of the log. Messages, work sessions, creations and
            # the status changes that are not reopens are read per ticket (event_ticket_occurred).
            models.Index(
                fields=["kind", "occurred_at"],
                name="event_kind_time",
                condition=models.Q(kind__in=KINDS_BY_TIME) | REOPEN_EVENT,
            ),
            models.Index(fields=["actor"], name="event_actor", condition=models.Q(actor__isnull=False)),
        ]

    def __str__(self) -> str:
        where = f"#{self.ticket_id}" if self.ticket_id else "no ticket"
        return f"{self.kind} on {where} at {self.occurred_at:%Y-%m-%d %H:%M}"


class HelpdeskSetting(models.Model):
    """Small instance-wide settings as key/value (e.g. `reporting.timezone`).

    Written by `tickets.config` (configuration as code).
    """

    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


# --- Agent workspace: saved views, macros, routing, search (issue 4) -------


class SavedView(models.Model):
    """A named list filter + sort, personal or shared with every agent."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=100)
    is_shared = models.BooleanField(default=False)
    # The list's GET parameters (queue, kind, status, priority, assignee,
    # tags, requester, created/updated range) and its sort key.
    filters = models.JSONField(default=dict, blank=True)
    sort = models.CharField(max_length=16, default="updated")
    created_at = models.DateTimeField(default=_now)
    # Order of the shared views in the rail (Settings → Saved views);
    # a disabled view is kept but shown to nobody.
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="saved_view_owner_name_unique")]

    def __str__(self) -> str:
        return self.name


class Macro(models.Model):
    """Canned reply text with placeholders plus actions, applied by services.

    `body` is a Django template rendered with a small whitelist context
    (requester.first_name/name/email, ticket.number/subject/status/priority,
    agent.name/first_name/email) and autoescape on. `actions`:
    {"status": "pending", "priority": "high", "add_tags": ["x"],
     "remove_tags": [], "assignee": "me" | "none"}.
    """

    name = models.CharField(max_length=100, unique=True)
    body = models.TextField(blank=True)
    visibility = models.CharField(max_length=16, choices=Message.Visibility.choices, default="public")
    actions = models.JSONField(default=dict, blank=True)
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.CASCADE, related_name="macros")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Personal macro: offered to and managed by this agent only. Empty: shared.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="personal_macros"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """Evaluated in `position` order on interactive ticket creation.

    Every non-empty condition must hold (AND); within a list any value may
    match (OR). Actions: move to `set_queue`, set `set_priority`, add tags.
    """

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    channels = models.JSONField(default=list, blank=True)  # ["email", "portal"]
    requester_domains = models.JSONField(default=list, blank=True)  # ["acme.com"]
    keywords = models.JSONField(default=list, blank=True)  # in subject or body
    request_type = models.ForeignKey(RequestType, null=True, blank=True, on_delete=models.CASCADE)
    set_queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    set_priority = models.CharField(max_length=16, blank=True, choices=Ticket.Priority.choices)
    add_tags = models.JSONField(default=list, blank=True)
    stop_processing = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class QueueAssignState(models.Model):
    """Round-robin position of a queue (its row is the assignment lock)."""

    queue = models.OneToOneField(Queue, primary_key=True, on_delete=models.CASCADE, related_name="assign_state")
    last_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class TicketSearch(models.Model):
    """Full-text documents of a ticket, rewritten by the services on write.

    `public_doc`: subject + public messages; `internal_doc`: internal notes
    only. Searches by people who may not see internal notes never touch
    `internal_doc`. PostgreSQL only (GIN indexes); SQLite falls back to
    icontains over the rows themselves.

    `queue`: a copy of the ticket's queue, kept by the database (tickets
    0023: filled on insert, follows every change of the ticket's queue), so
    an agent's search reads only the hits in their queues from the
    (queue, document) GIN indexes (btree_gin). A search by everyone's tickets
    uses the same indexes on the document alone.
    """

    ticket = models.OneToOneField(Ticket, primary_key=True, on_delete=models.CASCADE, related_name="search")
    queue = models.ForeignKey(
        Queue, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, null=True, related_name="+"
    )
    public_doc = SearchVectorField(null=True)
    internal_doc = SearchVectorField(null=True)

    class Meta:
        indexes = [
            GinIndex(fields=["queue", "public_doc"], name="ticket_search_queue_public"),
            GinIndex(fields=["queue", "internal_doc"], name="ticket_search_queue_internal"),
        ]


class SLAMark(models.Model):
    """Exactly-once marks of time-driven actions.

    One row per (ticket, kind, target, cycle): an SLA warning or breach of a
    target's cycle, or a pending reminder (target "", cycle = the pending
    period's start as epoch seconds). Inserted with ON CONFLICT DO NOTHING
    in the transaction that records the event, so two scans (two beats, a
    restarted worker) record it once.
    """

    class Kind(models.TextChoices):
        WARNING = "warning", "SLA warning"
        BREACH = "breach", "SLA breach"
        REMINDER = "reminder", "Pending reminder"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_marks")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    target = models.CharField(max_length=32, blank=True)
    cycle = models.BigIntegerField(default=0)
    due_at = models.DateTimeField(null=True, blank=True)
    marked_at = models.DateTimeField(default=timezone.now)
    event_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "target", "cycle"], name="sla_mark_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.target}#{self.cycle} on #{self.ticket_id}"


class SLADirty(models.Model):
    """Tickets whose stored SLA due instants must be recomputed (a
    transactional outbox, like metrics.MetricsDirty: docs/delivery.md, "SLA
    due instants").

    A row is upserted in every event transaction; the worker task
    `tickets.sla_refresh_dirty` (woken on commit) and the breach scan (every
    20 s, the sweep) claim rows with FOR UPDATE SKIP LOCKED, refresh the
    tickets and delete the rows in one transaction. No foreign key: the mark
    must cost one index insert.
    """

    ticket_id = models.BigIntegerField(primary_key=True)
    marked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "SLA dirty ticket"
        verbose_name_plural = "SLA dirty tickets"
