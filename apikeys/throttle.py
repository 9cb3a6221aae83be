"""The API throttle (its own module: DRF imports it while defining APIView,
so it must not import rest_framework.views)."""

import logging
from typing import Any

from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)

# Counts while the shared cache is down: per process, so the effective limit
# is the rate times the number of web processes until Redis returns.
_fallback_cache = LocMemCache("api-throttle-fallback", {})


class ApiRateThrottle(SimpleRateThrottle):
    """Reads and writes have separate budgets (`api_read`, `api_write`), per
    API token when one is used, else per user; anonymous calls count per
    client address (`api_anon`). Rates are read per request from
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], so they follow the settings.

    When the shared cache fails (Redis down or hung: bounded by its timeout,
    then the circuit breaker) the request is counted in a per-process memory
    cache instead of failing: a rate limit is a load guard, not an access
    control (every API call is authenticated), so it may loosen for the
    outage but never turns into a 500 (docs/resilience.md)."""

    def __init__(self) -> None:  # the rate depends on the request
        self.rate: str | None = None

    def _scope(self, request: Request) -> str:
        if not (request.user and request.user.is_authenticated):
            return "api_anon"
        return "api_read" if request.method in ("GET", "HEAD", "OPTIONS") else "api_write"

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = self._scope(request)
        rest: dict[str, Any] = settings.REST_FRAMEWORK
        rates = rest.get("DEFAULT_THROTTLE_RATES", {})
        self.rate = rates.get(self.scope)
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # any cache failure: a throttle must never 500
            logger.warning("API throttle cache unavailable (%s); counting per process", exc)
            self.cache = _fallback_cache
            return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        from apikeys.models import ApiToken

        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle_{self.scope}_{ident}"
