"""The API throttle (its own module: DRF imports it while defining APIView,
so it must not import rest_framework.views)."""

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class ApiRateThrottle(SimpleRateThrottle):
    """Reads and writes have separate budgets (`api_read`, `api_write`), per
    API token when one is used, else per user; anonymous calls count per
    client address (`api_anon`). Rates are read per request from
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], so they follow the settings."""

    def __init__(self) -> None:  # the rate depends on the request
        self.rate: str | None = None

    def _scope(self, request: Request) -> str:
        if not (request.user and request.user.is_authenticated):
            return "api_anon"
        return "api_read" if request.method in ("GET", "HEAD", "OPTIONS") else "api_write"

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = self._scope(request)
        rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
        self.rate = rates.get(self.scope)
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
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
