"""Email channel rows. Only `mail.services` writes them (docs/architecture.md)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Mailbox(models.Model):
    """An IMAP mailbox polled for a queue.

    The password is stored Fernet-encrypted (key derived from SECRET_KEY,
    see mail.crypto) or named by an environment variable; admin and API
    never show it back.
    """

    name = models.CharField(max_length=100, unique=True)
    queue = models.ForeignKey("tickets.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    use_ssl = models.BooleanField(default=True)
    username = models.CharField(max_length=255)
    password_encrypted = models.TextField(blank=True, editable=False)
    password_env = models.CharField(
        max_length=100, blank=True, help_text="Name of an environment variable holding the password (optional)."
    )
    folder = models.CharField(max_length=255, default="INBOX")
    is_active = models.BooleanField(default=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)

    class Meta:
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return self.name


def inbound_raw_upload_to(instance: "InboundMessage", filename: str) -> str:
    # Random path: the object name never leaks the sender or the subject.
    import uuid

    return f"mail/raw/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.eml"


class InboundMessage(models.Model):
    """One received email, stored raw before anything parses it.

    The bytes live in the file storage (`raw_file`: local disk or object
    storage, docs/storage.md); `raw` only holds rows stored before that.
    Read them with mail.storage.inbound_raw, never from either field.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        QUARANTINED = "quarantined", "Quarantined"
        # Not trusted as its sender (mail.identity): waits for an agent.
        HELD = "held", "Held for an agent"
        DROPPED = "dropped", "Dropped"

    class Source(models.TextChoices):
        HTTP = "http", "HTTP endpoint"
        IMAP = "imap", "IMAP"
        OTHER = "other", "Other"

    raw = models.BinaryField(default=b"", blank=True)
    raw_file = models.FileField(upload_to=inbound_raw_upload_to, max_length=300, blank=True)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    source = models.CharField(max_length=16, choices=Source.choices)
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    # The Message-ID header ("" when missing) and the dedupe key (the
    # content digest, then the Message-ID: "<hex><message-id>", else
    # "sha256:<hex>"), unique among non-duplicates. A redelivery shares
    # both; a different mail reusing a Message-ID is kept and flagged by
    # `same_message_id_as`.
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    dedupe_key = models.CharField(max_length=998)
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    same_message_id_as = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="An earlier, different mail with the same Message-ID (kept, not deduplicated).",
    )  # fmt: skip
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    reason = models.TextField(blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    result_message = models.ForeignKey(
        "tickets.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # How a reply was threaded: token, header, subject ("" = new ticket).
    threaded_by = models.CharField(max_length=16, blank=True)
    # The trusted server's verdict on the From address (mail.identity):
    # pass, fail or none ("" = not evaluated yet).
    auth_status = models.CharField(max_length=8, blank=True)
    auth_detail = models.TextField(blank=True)
    # Who released or discarded a held message, and when.
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=models.Q(duplicate_of__isnull=True), name="inbound_dedupe_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["received", "processed", "quarantined", "held", "dropped"]),
                name="inbound_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status_received"),
            models.Index(fields=["ticket", "status"], name="inbound_ticket_status"),
        ]

    def __str__(self) -> str:
        return f"inbound #{self.pk} {self.status} {self.subject[:60]}"


class ReplyToken(models.Model):
    """The unguessable part of a ticket's Reply-To address (support+<token>@)."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)


# Kinds about no ticket (no event needed): de-duplicated by dedupe_key when
# they must go once (the weekly report, the NPS survey).
TICKETLESS_KINDS = ["weekly_report", "nps_survey", "account"]


class Notification(models.Model):
    """The outbox: one email to one recipient.

    Ticket kinds are written with the ticket event that caused them (event
    and ticket set, once per (event, recipient, kind)). The weekly KPI
    report has neither (the check constraint lists such ticketless kinds)
    and is de-duplicated by `dedupe_key` instead.
    """

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Request received (to requester)")
        AGENT_REPLY = "agent_reply", _("Agent reply (to requester and CCs)")
        SOLVED = "solved", _("Ticket solved, with CSAT (to requester)")
        ASSIGNED = "assigned", _("Ticket assigned (to assignee)")
        CUSTOMER_REPLY = "customer_reply", _("Customer reply (to assignee)")
        SLA_WARNING = "sla_warning", _("SLA at risk (to assignee)")
        WEEKLY_REPORT = "weekly_report", _("Weekly KPI report (to managers)")
        NPS_SURVEY = "nps_survey", _("NPS relationship survey (to customers)")
        ACCOUNT = "account", _("Account e-mail: sign-in link, password, address (to the person)")

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    # NULL only for ticketless kinds (notification_ticket_kinds_have_ticket).
    # No database FK: the event log may be partitioned (docs/event-partitions.md).
    event = models.ForeignKey(
        "tickets.TicketEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    to_email = models.EmailField()
    kind = models.CharField(max_length=32, choices=Kind.choices)
    subject = models.CharField(max_length=998)
    body = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set (and committed) before the SMTP conversation, cleared with its
    # outcome: a row still carrying it after HELPDESK_NOTIFY_ATTEMPT_TIMEOUT
    # was being sent by a worker that died (docs/delivery.md).
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Idempotency key of a ticketless row, e.g. "weekly_report:<user>:<week
    # start>": unique when not empty, so a redelivered task enqueues nothing.
    dedupe_key = models.CharField(max_length=200, blank=True, default="")
    # Written with its event without subject body and HTML: the delivery
    # worker renders them at its first attempt and stores them, so retries
    # send the same text (docs/delivery.md, "Rendering at send time").
    render_pending = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "recipient", "kind"], name="notification_once"),
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=~models.Q(dedupe_key=""), name="notification_dedupe_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=TICKETLESS_KINDS) | models.Q(event__isnull=False, ticket__isnull=False),
                name="notification_ticket_kinds_have_ticket",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "sent", "failed", "skipped"]),
                name="notification_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="notification_pending",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["ticket", "created_at", "id"], name="notification_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to_email} ({self.status})"


class NotificationPreference(models.Model):
    """A user's choice for one kind of email; no row means "send"."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Notification.Kind.choices)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_pref_unique")]
