"""A process-local circuit breaker for Redis (cache and Celery broker).

After one failure the breaker opens for a few seconds: callers skip the
call and take their fallback at once instead of each paying a connect or
socket timeout. When the cool-down ends the next call tries again (half
open): success closes the breaker, failure opens it again. Nothing is
shared between processes; each gunicorn or Celery process learns on its
own, which costs at most one timeout per process per cool-down.

Skipping is safe because nothing depends on the skipped call: database
rows (dirty metrics, the notification outbox, webhook deliveries, inbound
mail) are the truth and periodic sweepers pick them up; cache users have
their own fallback (docs/resilience.md).
"""

import logging
import time

from django.conf import settings

logger = logging.getLogger(__name__)

DEFAULT_COOLDOWN_SECONDS = 10.0


class CircuitBreaker:
    """Open for `HELPDESK_REDIS_BREAKER_SECONDS` after a failure."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._open_until = 0.0  # monotonic; 0 = closed

    def allow(self) -> bool:
        """False while open: skip the call and use the fallback."""
        return self._open_until == 0.0 or time.monotonic() >= self._open_until

    def failure(self) -> None:
        was_closed = self._open_until == 0.0
        cooldown = float(getattr(settings, "HELPDESK_REDIS_BREAKER_SECONDS", DEFAULT_COOLDOWN_SECONDS))
        self._open_until = time.monotonic() + cooldown
        if was_closed:
            logger.warning("%s unavailable: skipping it for %.0f s at a time", self.name, cooldown)

    def success(self) -> None:
        if self._open_until != 0.0:
            self._open_until = 0.0
            logger.warning("%s available again", self.name)

    def reset(self) -> None:
        """Close without logging (tests, or after a configuration change)."""
        self._open_until = 0.0


cache_breaker = CircuitBreaker("Redis cache")
broker_breaker = CircuitBreaker("Celery broker")
