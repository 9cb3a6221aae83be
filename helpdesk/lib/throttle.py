"""Cache-based attempt throttling (login and other abuse-prone forms).

A fixed window per key: the first failure opens a window of `window`
seconds; once `limit` failures are counted in it, further attempts are
refused until the window expires. Keys are hashed, so no email or IP
address is stored in the cache in clear.
"""

import hashlib
from dataclasses import dataclass

from django.core.cache import cache


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
        return int(cache.get(self._key(*parts), 0))

    def is_blocked(self, *parts: str) -> bool:
        """True when the key has used up its failures in the current window."""
        return self.failures(*parts) >= self.limit

    def failure_record(self, *parts: str) -> int:
        """Count one failure; returns the count in the current window."""
        key = self._key(*parts)
        # add() only sets when absent, so the window starts at the first
        # failure and is not extended by later ones.
        cache.add(key, 0, timeout=self.window)
        try:
            return int(cache.incr(key))
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=self.window)
            return 1

    def reset(self, *parts: str) -> None:
        cache.delete(self._key(*parts))


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
