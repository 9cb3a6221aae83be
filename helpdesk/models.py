"""Models of the helpdesk project app (shared infrastructure only)."""

from django.db import models


class ThrottleCounter(models.Model):
    """Failures of one throttle key in its current fixed window
    (helpdesk.lib.throttle). In the database, not the cache, so a lock-out
    holds through a Redis outage and restart (docs/resilience.md)."""

    key = models.CharField(max_length=120, primary_key=True)  # scope + SHA-256, never clear text
    count = models.PositiveIntegerField(default=0)
    expires_at = models.FloatField(db_index=True)  # Unix time the window ends

    class Meta:
        db_table = "helpdesk_throttle_counter"
