"""DRF authentication with personal API tokens.

Accepts `Authorization: Token <key>` and `Authorization: Bearer <key>`. The
key is hashed and looked up by digest, so the clear token is never stored
or compared. Revoked tokens and inactive users are refused (401).
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from apikeys import selectors, services, token_cache

KEYWORDS = (b"token", b"bearer")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        auth = authentication.get_authorization_header(request).split()
        if not auth or auth[0].lower() not in KEYWORDS:
            return None
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."), code="invalid_token")
        try:
            key = auth[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token header."), code="invalid_token") from None
        digest = services.token_hash(key)
        # Remembered for a few seconds per process (apikeys.token_cache).
        token = token_cache.token_recall(digest)
        remembered = token is not None
        if token is None:
            token = selectors.api_token_get_active(token_hash=digest)
            if token is None:
                raise exceptions.AuthenticationFailed(_("Invalid or revoked token."), code="invalid_token")
        touched = services.api_token_touch(token=token)
        if not remembered:
            token_cache.token_remember(token)
        elif touched:
            token_cache.token_forget(digest)  # once a minute the database is asked again
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # A header here makes DRF answer 401 (not 403) to anonymous calls.
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Personal API token: `Authorization: Bearer <key>` (or `Token <key>`).",
        }
