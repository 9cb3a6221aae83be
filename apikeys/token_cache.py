"""A per-process memory of verified API tokens (issue 22, docs/api-bulk.md).

Every API call looked its token up by digest (one query joining the user).
A verified token is remembered here for HELPDESK_API_TOKEN_CACHE_SECONDS
(default 0: off, so a revocation anywhere is refused at once; an operator
who trades that for one query per call opts in), keyed by the digest: within that window a revocation or a
deactivated account made in another process is still accepted by this one;
the process that revokes or saves the user forgets at once. Each request
gets fresh model instances (nothing one request caches on `request.user`
leaks into the next).
"""

import copy
import time
from typing import Any

from django.conf import settings

from accounts.models import User
from apikeys.models import ApiToken

MAX_ENTRIES = 2000

# digest -> (expires at (monotonic), token values, user values)
_entries: dict[str, tuple[float, list[Any], list[Any]]] = {}

_TOKEN_FIELDS = [f.attname for f in ApiToken._meta.concrete_fields]
_USER_FIELDS = [f.attname for f in User._meta.concrete_fields]


def ttl_seconds() -> float:
    return float(getattr(settings, "HELPDESK_API_TOKEN_CACHE_SECONDS", 0))


def token_recall(token_hash: str) -> ApiToken | None:
    """The remembered active token (its user loaded), or None."""
    entry = _entries.get(token_hash)
    if entry is None:
        return None
    expires, token_values, user_values = entry
    if time.monotonic() >= expires:
        _entries.pop(token_hash, None)
        return None
    token = ApiToken.from_db("default", _TOKEN_FIELDS, copy.deepcopy(token_values))
    token.user = User.from_db("default", _USER_FIELDS, copy.deepcopy(user_values))
    return token


def token_remember(token: ApiToken) -> None:
    """Remember a token just verified against the database (active, with an
    active user)."""
    ttl = ttl_seconds()
    if ttl <= 0:
        return
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    token_values = [getattr(token, name) for name in _TOKEN_FIELDS]
    user_values = [getattr(token.user, name) for name in _USER_FIELDS]
    _entries[token.token_hash] = (time.monotonic() + ttl, copy.deepcopy(token_values), copy.deepcopy(user_values))


def tokens_forget() -> None:
    """Forget every remembered token (a revocation, a user saved)."""
    _entries.clear()


def token_forget(token_hash: str) -> None:
    _entries.pop(token_hash, None)
