"""Trigram indexes for the agent search's requester match (tickets/search.py:
_requester_q): `UPPER(col) LIKE '%text%'` read through an index instead of a
scan of every person. PostgreSQL only (SQLite keeps the state, not the index)."""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.db import migrations

from knowledge_base.db import PostgresOnlyAddIndex, PostgresOnlyTrigramExtension


def _trgm(column: str, name: str) -> django.contrib.postgres.indexes.GinIndex:
    return django.contrib.postgres.indexes.GinIndex(
        django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper(column), name="gin_trgm_ops"),
        name=name,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_is_away"),
    ]

    operations = [
        # No-op outside PostgreSQL; IF NOT EXISTS (knowledge_base 0001 may have made it).
        PostgresOnlyTrigramExtension(),
        PostgresOnlyAddIndex(model_name="organisation", index=_trgm("name", "organisation_name_upper_trgm")),
        PostgresOnlyAddIndex(model_name="user", index=_trgm("name", "user_name_upper_trgm")),
        PostgresOnlyAddIndex(model_name="user", index=_trgm("email", "user_email_upper_trgm")),
    ]
