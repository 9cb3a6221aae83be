"""Writes of API tokens: create (the token is returned once) and revoke."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from apikeys.models import ApiToken
from helpdesk.lib.exceptions import ApplicationError

TOKEN_PREFIX = "hdk_"  # noqa: S105 - a public marker, not a secret
MAX_ACTIVE_TOKENS = 20
# last_used_at is written at most this often per token (no write per request).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    key: str  # the only time the clear token exists outside the client


@transaction.atomic
def api_token_create(*, user: User, name: str) -> CreatedToken:
    """Create a personal token for `user`. The clear key is returned here
    only; the database keeps its SHA-256. Raises ApplicationError when the
    name is empty or the user already has MAX_ACTIVE_TOKENS active tokens."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("A token needs a name.", code="name_required", extra={"name": ["Required."]})
    # Lock the user row so two concurrent creates cannot pass the limit.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_ACTIVE_TOKENS:
        raise ApplicationError(f"At most {MAX_ACTIVE_TOKENS} active tokens; revoke one first.", code="too_many_tokens")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=key[:12], token_hash=token_hash(key))
    return CreatedToken(token=token, key=key)


def api_token_revoke(*, user: User, token_id: int | str) -> ApiToken:
    """Revoke one of `user`'s tokens (idempotent). Raises NotFound for a
    token of someone else or a malformed id."""
    from helpdesk.lib.exceptions import NotFound

    try:
        token_id = int(token_id)
    except (TypeError, ValueError):
        raise NotFound("No such token.") from None
    updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    del updated
    from apikeys.token_cache import tokens_forget

    tokens_forget()  # this process at once; the others within their TTL (apikeys.token_cache)
    try:
        return ApiToken.objects.get(pk=token_id, user=user)
    except ApiToken.DoesNotExist:
        raise NotFound("No such token.") from None


def api_token_touch(*, token: ApiToken) -> bool:
    """Record use, at most once per LAST_USED_RESOLUTION (compare-and-set);
    True when the stored time was due."""
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gte=now - LAST_USED_RESOLUTION).update(last_used_at=now)
    token.last_used_at = now
    return True
