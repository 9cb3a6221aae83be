"""Attempt throttling for login and other abuse-prone forms.

A fixed window per key: the first failure opens a window of `window`
seconds; once `limit` failures are counted in it, further attempts are
refused until the window expires. Keys are hashed, so no email or IP
address is stored in clear.

The counters live in the database (helpdesk.ThrottleCounter), not in the
cache: a lock-out is a security control, and it must hold when Redis is
down, hung or restarted empty (docs/resilience.md). A login costs one or
two small indexed statements, which is nothing next to the password hash.
"""

import hashlib
import time
from dataclasses import dataclass

from django.db import connection

from helpdesk.models import ThrottleCounter

# One statement on PostgreSQL and SQLite (both read the old row on the
# right-hand side of every SET).
_FAILURE_UPSERT = """
INSERT INTO "helpdesk_throttle_counter" ("key", "count", "expires_at") VALUES (%s, 1, %s)
ON CONFLICT ("key") DO UPDATE SET
  "count" = CASE WHEN "helpdesk_throttle_counter"."expires_at" > %s
                 THEN "helpdesk_throttle_counter"."count" + 1 ELSE 1 END,
  "expires_at" = CASE WHEN "helpdesk_throttle_counter"."expires_at" > %s
                      THEN "helpdesk_throttle_counter"."expires_at" ELSE excluded."expires_at" END
RETURNING "count"
"""


@dataclass(frozen=True)
class Throttle:
    """`limit` failures per `window` seconds for one scope (e.g. "login")."""

    scope: str
    limit: int
    window: int

    def _key(self, *parts: str) -> str:
        digest = hashlib.sha256("\x1f".join(p.strip().lower() for p in parts).encode()).hexdigest()
        return f"throttle:{self.scope}:{digest}"

    def failures(self, *parts: str) -> int:
        counts = ThrottleCounter.objects.filter(key=self._key(*parts), expires_at__gt=time.time())
        return counts.values_list("count", flat=True).first() or 0

    def is_blocked(self, *parts: str) -> bool:
        """True when the key has used up its failures in the current window."""
        return self.failures(*parts) >= self.limit

    def failure_record(self, *parts: str) -> int:
        """Count one failure; returns the count in the current window.

        One atomic upsert, so concurrent failures are all counted. The
        window starts at the first failure and is not extended by later
        ones; an expired window restarts at 1."""
        now = time.time()
        with connection.cursor() as cursor:
            cursor.execute(_FAILURE_UPSERT, [self._key(*parts), now + self.window, now, now])
            return int(cursor.fetchone()[0])

    def reset(self, *parts: str) -> None:
        ThrottleCounter.objects.filter(key=self._key(*parts)).delete()


def counters_prune() -> int:
    """Delete expired windows (periodic); returns how many."""
    deleted, _ = ThrottleCounter.objects.filter(expires_at__lte=time.time()).delete()
    return deleted


# Login: 5 failures per email + IP in 15 minutes, and a looser limit per IP
# so one address cannot spray passwords over many accounts.
LOGIN_PER_ACCOUNT = Throttle(scope="login-account-ip", limit=5, window=15 * 60)
LOGIN_PER_IP = Throttle(scope="login-ip", limit=50, window=15 * 60)


def client_ip(request: object) -> str:
    """The peer address. Proxies must set REMOTE_ADDR (e.g. gunicorn
    --forwarded-allow-ips); X-Forwarded-For is not trusted here because a
    client can forge it to dodge the throttle."""
    meta = getattr(request, "META", {})
    return str(meta.get("REMOTE_ADDR") or "unknown")
