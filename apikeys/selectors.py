"""Reads of API tokens."""

from django.db.models import QuerySet

from accounts.models import User
from apikeys.models import ApiToken


def api_token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (revoked ones included)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_get_active(*, token_hash: str) -> ApiToken | None:
    """The active token with this digest and an active owner, or None."""
    return (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_hash, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
