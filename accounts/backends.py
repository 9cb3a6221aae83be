"""The signed-in user of a session, read without the ORM's compile
(docs/accounts.md, "Per-request cost").

Every signed-in request loads its user by primary key. Django's ModelBackend
does it through the ORM (`User.objects.get(pk=…)`), whose statement compile
cost more CPU than PostgreSQL spent answering it (bench/overhead_profile.py).
SessionUserBackend runs the same statement as SQL and keeps everything else
of ModelBackend: an inactive user is refused, Django still checks the
session's password hash afterwards, permissions are ModelBackend's. It checks
no password (`authenticate` answers None at once): signing in stays
ModelBackend's, and the sign-in views store this backend in the session.
Nothing is cached: a deactivation or password change made anywhere applies
on the next request.
"""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import connections, router
from django.http import HttpRequest

from accounts.models import User
from helpdesk.lib.rows import instance_from_row

# The dotted path the sign-in views store in the session (settings.AUTHENTICATION_BACKENDS).
SESSION_BACKEND = "accounts.backends.SessionUserBackend"

_FIELDS = User._meta.concrete_fields
_SELECT = 'SELECT {columns} FROM "{table}" WHERE "id" = %s'.format(  # noqa: S608 - names from the model
    columns=", ".join(f'"{f.column}"' for f in _FIELDS), table=User._meta.db_table
)


def user_by_pk(user_id: Any) -> User | None:
    """`User.objects.filter(pk=user_id).first()` as SQL, built as the ORM builds it."""
    db = router.db_for_read(User)
    with connections[db].cursor() as cursor:
        cursor.execute(_SELECT, [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    user: User = instance_from_row(User, db, list(row))
    return user


class SessionUserBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        return None  # passwords are ModelBackend's (listed after this one)

    def get_user(self, user_id: Any) -> User | None:
        user = user_by_pk(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
