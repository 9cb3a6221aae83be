"""Migration helpers: PostgreSQL-only indexes.

The embedded default database is SQLite, which has neither GIN indexes nor
pg_trgm. These operations keep the migration state identical on every
database (so `makemigrations --check` stays clean) and only touch the schema
on PostgreSQL; search then falls back to `icontains` elsewhere.
"""

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db.migrations.operations import AddIndex, RemoveIndex


class PostgresOnlyAddIndex(AddIndex):
    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgresOnlyRemoveIndex(RemoveIndex):
    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            # SQLite may have recreated it as a plain index during a table
            # rebuild (the rebuild copies every index of the model state).
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(self.name)}")

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgresOnlyAddIndexConcurrently(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL (writers go on while it
    builds; the migration must be atomic = False); nothing elsewhere."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgresOnlyRemoveIndexConcurrently(RemoveIndexConcurrently):
    """DROP INDEX CONCURRENTLY on PostgreSQL; elsewhere as PostgresOnlyRemoveIndex."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(self.name)}")

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


# The weighted document of one article (title A > tags B > body C), as one
# upsert into the narrow search table. Used by services.article_index and by
# migration 0002 (backfill). %(where)s is a trusted literal, never user input.
INDEX_UPSERT_SQL = """
INSERT INTO knowledge_base_articlesearchdoc
    (article_id, title, status, visibility, audience, search_vector, title_vector)
SELECT id, title, status, visibility, audience, tv || setweight(to_tsvector(%%(cfg)s::regconfig, body), 'C'), tv
FROM (
    SELECT a.id, a.title, a.status, a.visibility, a.audience, coalesce(a.body_text, '') AS body,
           setweight(to_tsvector(%%(cfg)s::regconfig, coalesce(a.title, '')), 'A')
        || setweight(to_tsvector(%%(cfg)s::regconfig, coalesce(a.tags_text, '')), 'B') AS tv
    FROM knowledge_base_article a
    WHERE %(where)s
) src
ON CONFLICT (article_id) DO UPDATE SET
    title = EXCLUDED.title, status = EXCLUDED.status, visibility = EXCLUDED.visibility,
    audience = EXCLUDED.audience, search_vector = EXCLUDED.search_vector, title_vector = EXCLUDED.title_vector
"""
