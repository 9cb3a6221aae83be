"""Django's database session store, with the read written out
(docs/accounts.md, "Per-request cost").

Every signed-in request reads its session row first. Django's store reads it
through the ORM (`Session.objects.get(...)`), whose statement compile cost
more CPU than PostgreSQL spent answering it (bench/overhead_profile.py). This
store runs the same statement as SQL: same row, same expiry test, same
"unknown or expired key: a new empty session" outcome. Writes, deletes and
the table are Django's, so a session deleted anywhere (sign-out, the privacy
erase) is gone on the next request, as before; nothing is cached.
"""

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.contrib.sessions.models import Session
from django.db import connections, router
from django.utils import timezone

_SELECT = 'SELECT "session_data" FROM "{table}" WHERE "session_key" = %s AND "expire_date" > %s'


class SessionStore(DbSessionStore):
    def _get_session_from_db(self) -> Any:
        key = self.session_key
        if key is None:  # no cookie, or one Django refused as malformed
            return None
        model = self.model
        alias = router.db_for_read(model)
        with connections[alias].cursor() as cursor:
            cursor.execute(_SELECT.format(table=model._meta.db_table), [key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django: a fresh key on the next save
            return None
        return Session(session_key=key, session_data=row[0])
