"""The privacy audit log: who exported or erased whom, and when.

Append-only like the ticket event log (a trigger refuses UPDATE and
DELETE, migration 0001). Rows never hold personal data of the subject:
only ids, counts and the channel used (docs/privacy.md).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class PrivacyAuditEvent(models.Model):
    class Kind(models.TextChoices):
        EXPORTED = "person.exported", "Data exported"
        ERASED = "person.erased", "Person erased"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    # PROTECT: the subject's row is kept (pseudonymised) by the erasure.
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # None = an operator at the command line.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # "page", "api", "command", "portal".
    via = models.CharField(max_length=16)
    occurred_at = models.DateTimeField(default=timezone.now)
    # Counts of what was exported or erased; never names, addresses or text.
    data = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["subject", "occurred_at"], name="privacy_audit_subject")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["person.exported", "person.erased"]), name="privacy_audit_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} user #{self.subject_id} at {self.occurred_at:%Y-%m-%d %H:%M}"
