"""Migration helpers: PostgreSQL-only indexes.

The embedded default database is SQLite, which has neither GIN indexes nor
pg_trgm. These operations keep the migration state identical on every
database (so `makemigrations --check` stays clean) and only touch the schema
on PostgreSQL; search then falls back to `icontains` elsewhere.
"""

from typing import Any

from django.db.migrations.operations import AddIndex


class PostgresOnlyAddIndex(AddIndex):
    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
