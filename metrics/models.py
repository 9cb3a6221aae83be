"""Metrics tables derived from the ticket event log (METRICS.md 4.1)."""

from django.db import models
from django.utils import timezone


class MetricsDirty(models.Model):
    """Tickets whose metrics must be recomputed (transactional outbox).

    A row is inserted in the same transaction as every event; workers claim
    rows with FOR UPDATE SKIP LOCKED and delete them once recomputed.
    """

    ticket_id = models.BigIntegerField(primary_key=True)
    marked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "metrics dirty tickets"
