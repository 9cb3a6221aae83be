"""Outbound webhooks: subscriptions and their delivery log (an outbox).

A delivery row is written in the same transaction as its TicketEvent
(tickets.events.event_record publishes it; webhooks.services.webhooks_for_event
is an in-transaction subscriber, registered in webhooks.apps) and
sent by the Celery task `webhooks.deliver`; the row is the truth.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tickets.models import TicketEvent


class WebhookSubscription(models.Model):
    """Where to POST which event kinds. `events` lists TicketEvent kinds, or
    ["*"] for all. Internal-note events (message.created with visibility
    internal) are sent only when `include_internal` is set."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True, default="")
    events = models.JSONField(default=list)
    # Stored in clear because we must sign with it; shown once at creation,
    # never in API lists (admin shows only its prefix).
    secret = models.CharField(max_length=100)
    include_internal = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    # Consecutive failed attempts; reset by a success.
    failure_count = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.url}"

    @property
    def secret_hint(self) -> str:
        return f"{self.secret[:10]}…" if self.secret else ""


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    # No database FK: the event log may be partitioned, and PostgreSQL cannot
    # reference it by id alone (docs/event-partitions.md). Events are never
    # deleted (append-only trigger), so the reference cannot dangle.
    event = models.ForeignKey(TicketEvent, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    # The event in the event-log schema, frozen when the event was written.
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")  # first 2,000 characters
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    replays = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="webhook_delivery_once_per_event"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["subscription", "-id"], name="webhook_delivery_by_sub"),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"delivery #{self.pk} of event {self.event_id} to {self.subscription_id}"
