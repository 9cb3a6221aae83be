"""The Redis cache with short timeouts and a circuit breaker.

Every cache user already has a fallback (docs/resilience.md); what it
cannot survive is a cache call that blocks. Timeouts bound one call; the
breaker (helpdesk.lib.breaker) makes the calls after a failure fail at once
with CacheUnavailable, for a few seconds, instead of each waiting again.
"""

import functools
from collections.abc import Callable
from typing import Any, cast

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
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        """One redis.Redis per connection pool, kept: Django builds a new one
        for every call (with its ~170-entry response-callback table), which
        was a visible share of a write request's CPU (bench/API.md). A
        client holds no connection of its own and is thread-safe."""
        django_client: Any = self  # the stubs omit the base class's private members
        pool = django_client._get_connection_pool(write)
        clients: dict[int, Any] = self.__dict__.setdefault("_clients_by_pool", {})
        client = clients.get(id(pool))
        if client is None or client.connection_pool is not pool:
            client = clients[id(pool)] = django_client._client(connection_pool=pool)
        return client

    def version_bump(self, key: str, fresh: int, timeout: float | None) -> int:
        """INCR `key`, first setting it to `fresh` when it is missing: one
        round trip (MULTI: SET NX, INCR) instead of EXISTS + INCR (+ SET)."""
        pipe = self.get_client(key, write=True).pipeline(transaction=True)
        pipe.set(key, fresh, ex=None if timeout is None else int(timeout), nx=True)
        pipe.incr(key)
        return int(pipe.execute()[1])

    def versions_bump(self, keys: list[str], fresh: list[int], timeout: float | None) -> None:
        """version_bump for many keys in one round trip (a bulk write): one
        script call (EVALSHA) whose arguments are the keys and values, not a
        pipeline of two commands a key, whose packing cost ~0.1 ms a key of
        client CPU (the import bumps 1,000 tickets a batch: bench/IMPORT.md)."""
        client = self.get_client(keys[0], write=True)
        ttl = 0 if timeout is None else int(timeout)
        # A Script object per call: one SHA1 of a short script a batch; it runs by EVALSHA.
        client.register_script(_VERSIONS_BUMP_LUA)(keys=keys, args=[ttl, *fresh], client=client)


# versions_bump: per key SET key fresh [EX ttl] NX, then INCR key (ttl 0: no expiry).
_VERSIONS_BUMP_LUA = """
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if ttl > 0 then
    redis.call('SET', key, ARGV[i + 1], 'EX', ttl, 'NX')
  else
    redis.call('SET', key, ARGV[i + 1], 'NX')
  end
  redis.call('INCR', key)
end
return #KEYS
"""


_METHODS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
    "version_bump",
    "versions_bump",
)
for _name in _METHODS:
    setattr(_Client, _name, _guarded(getattr(_Client, _name)))


class ResilientRedisCache(RedisCache):
    """django.core.cache.backends.redis.RedisCache behind the breaker."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _Client

    def version_bump(self, key: str, fresh: int, timeout: int | None) -> int:
        """A version counter: +1, or `fresh` + 1 when the key is missing (one round trip)."""
        key = self.make_and_validate_key(key)
        client = cast(_Client, self._cache)
        return int(client.version_bump(key, fresh, self.get_backend_timeout(timeout)))

    def versions_bump(self, keys: list[str], fresh: list[int], timeout: int | None) -> None:
        """version_bump of every key, one round trip (not atomic across keys)."""
        if not keys:
            return
        full = [self.make_and_validate_key(key) for key in keys]
        cast(_Client, self._cache).versions_bump(full, fresh, self.get_backend_timeout(timeout))


def redis_cache_config(url: str, *, timeout: float) -> dict[str, Any]:
    """CACHES["default"] for `url`: connect and socket timeouts of `timeout`
    seconds so a hung Redis costs one bounded wait, then the breaker."""
    return {
        "BACKEND": "helpdesk.lib.cache.ResilientRedisCache",
        "LOCATION": url,
        "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
    }
