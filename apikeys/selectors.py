"""Reads of API tokens."""

from django.db import connections, router
from django.db.models import QuerySet

from accounts.models import User
from apikeys.models import ApiToken
from helpdesk.lib.rows import columns, instance_from_row


def api_token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (revoked ones included)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def api_token_get_active(*, token_hash: str) -> ApiToken | None:
    """The active token with this digest and an active owner, or None.

    `ApiToken.objects.select_related("user").filter(token_hash=…,
    revoked_at__isnull=True, user__is_active=True).first()` written out: it
    runs on every API call, and compiling the ORM statement cost more CPU
    than PostgreSQL spent on it (bench/API.md, "Fourth round"). The same
    row, the same conditions; both instances are built as the ORM would."""
    db = router.db_for_read(ApiToken)
    sql = (
        f"SELECT {columns(ApiToken, 't')}, {columns(User, 'u')} "  # noqa: S608 - names from the models
        f'FROM "{ApiToken._meta.db_table}" t INNER JOIN "{User._meta.db_table}" u ON u."id" = t."user_id" '
        'WHERE t."token_hash" = %s AND t."revoked_at" IS NULL AND u."is_active" ORDER BY t."id" LIMIT 1'
    )
    with connections[db].cursor() as cursor:
        cursor.execute(sql, [token_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(ApiToken._meta.concrete_fields)
    token: ApiToken = instance_from_row(ApiToken, db, list(row[:split]))
    token.user = instance_from_row(User, db, list(row[split:]))
    return token
