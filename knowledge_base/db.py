"""Migration helpers: PostgreSQL-only indexes.

The embedded default database is SQLite, which has neither GIN indexes nor
pg_trgm. These operations keep the migration state identical on every
database (so `makemigrations --check` stays clean) and only touch the schema
on PostgreSQL; search then falls back to `icontains` elsewhere.
"""

from typing import Any

from django.contrib.postgres.operations import (
    AddIndexConcurrently,
    BtreeGinExtension,
    RemoveIndexConcurrently,
    TrigramExtension,
)
from django.db.migrations.operations import AddIndex, RemoveIndex


class _OnPostgres:
    """Run the operation's schema change on PostgreSQL only, both ways."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)  # type: ignore[misc]
        else:
            self.elsewhere(schema_editor)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)  # type: ignore[misc]

    def elsewhere(self, schema_editor: Any) -> None:
        """Forwards on any other database: nothing."""


class _DropElsewhere(_OnPostgres):
    name: str

    def elsewhere(self, schema_editor: Any) -> None:
        # SQLite may have recreated it as a plain index during a table
        # rebuild (the rebuild copies every index of the model state).
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(self.name)}")


class PostgresOnlyAddIndex(_OnPostgres, AddIndex):
    pass


class PostgresOnlyRemoveIndex(_DropElsewhere, RemoveIndex):
    pass


class PostgresOnlyAddIndexConcurrently(_OnPostgres, AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL (writers go on while it
    builds; the migration must be atomic = False); nothing elsewhere."""


class PostgresOnlyRemoveIndexConcurrently(_DropElsewhere, RemoveIndexConcurrently):
    """DROP INDEX CONCURRENTLY on PostgreSQL; elsewhere as PostgresOnlyRemoveIndex."""


# Django's extension operations skip other databases going forwards but not
# backwards (they query pg_extension): a rollback on SQLite failed.
class PostgresOnlyTrigramExtension(_OnPostgres, TrigramExtension):
    pass


class PostgresOnlyBtreeGinExtension(_OnPostgres, BtreeGinExtension):
    pass


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
