"""The Redis cache with short timeouts and a circuit breaker.

Every cache user already has a fallback (docs/resilience.md); what it
cannot survive is a cache call that blocks. Timeouts bound one call; the
breaker (helpdesk.lib.breaker) makes the calls after a failure fail at once
with CacheUnavailable, for a few seconds, instead of each waiting again.
"""

import functools
from collections.abc import Callable
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from helpdesk.lib.breaker import cache_breaker

# Connection errors, timeouts and refused sockets; not e.g. the ValueError
# of incr() on a missing key (Redis answered).
REDIS_DOWN_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)


class CacheUnavailable(redis.exceptions.ConnectionError):
    """Raised without touching the network while the breaker is open."""


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: RedisCacheClient, *args: Any, **kwargs: Any) -> Any:
        if not cache_breaker.allow():
            raise CacheUnavailable("Redis cache unavailable (circuit open)")
        try:
            result = method(self, *args, **kwargs)
        except REDIS_DOWN_ERRORS:
            cache_breaker.failure()
            raise
        cache_breaker.success()
        return result

    return call


class _Client(RedisCacheClient):
    pass


_METHODS = ("add", "get", "set", "touch", "delete", "get_many", "has_key", "incr", "set_many", "delete_many", "clear")
for _name in _METHODS:
    setattr(_Client, _name, _guarded(getattr(RedisCacheClient, _name)))


class ResilientRedisCache(RedisCache):
    """django.core.cache.backends.redis.RedisCache behind the breaker."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _Client


def redis_cache_config(url: str, *, timeout: float) -> dict[str, Any]:
    """CACHES["default"] for `url`: connect and socket timeouts of `timeout`
    seconds so a hung Redis costs one bounded wait, then the breaker."""
    return {
        "BACKEND": "helpdesk.lib.cache.ResilientRedisCache",
        "LOCATION": url,
        "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
    }
