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


def _partitions(schema_editor: Any, table: str) -> list[str] | None:
    """The partitions of `table` if it is a partitioned PostgreSQL table, else None."""
    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cur.fetchone()
        if not row or row[0] != "p":
            return None
        cur.execute("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = to_regclass(%s)", [table])
        return [name for (name,) in cur.fetchall()]


class AddIndexOnline(AddIndexConcurrently):
    """Build an index without blocking writers (the migration must be atomic = False).

    PostgreSQL, plain table: CREATE INDEX CONCURRENTLY. Partitioned table (the event log after
    `events_partition`, docs/event-partitions.md), where CONCURRENTLY is refused: the parent's
    index ON ONLY the parent, each partition's built concurrently, then attached. Other
    databases (SQLite): a plain CREATE INDEX. Backwards: DROP INDEX (CONCURRENTLY on a plain
    PostgreSQL table).
    """

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor != "postgresql":
            schema_editor.add_index(model, self.index)
            return
        table = model._meta.db_table
        partitions = _partitions(schema_editor, table)
        if partitions is None:
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        self._ensure_not_in_transaction(schema_editor)
        sql = str(self.index.create_sql(model, schema_editor))
        on = f" ON {schema_editor.quote_name(table)} "
        schema_editor.execute(sql.replace(on, f" ON ONLY {schema_editor.quote_name(table)} ", 1))
        for part in partitions:
            name = f"{self.index.name}_{part.rsplit('_', 1)[-1]}"[:63]
            schema_editor.execute(
                sql.replace(
                    f"INDEX {schema_editor.quote_name(self.index.name)}{on}",
                    f"INDEX CONCURRENTLY {schema_editor.quote_name(name)} ON {schema_editor.quote_name(part)} ",
                    1,
                )
            )
            parent, child = schema_editor.quote_name(self.index.name), schema_editor.quote_name(name)
            schema_editor.execute(f"ALTER INDEX {parent} ATTACH PARTITION {child}")

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        _drop_online(schema_editor, from_state.apps.get_model(app_label, self.model_name), self.index)


class RemoveIndexOnline(RemoveIndexConcurrently):
    """Drop an index: DROP INDEX CONCURRENTLY on a plain PostgreSQL table; a plain DROP INDEX on a
    partitioned one (refused concurrently there; the drop itself is instant but waits for an
    exclusive lock) and on other databases. Backwards: AddIndexOnline's build."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            _drop_online(schema_editor, model, index)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
        AddIndexOnline(self.model_name, index).database_forwards(app_label, schema_editor, from_state, to_state)


def _drop_online(schema_editor: Any, model: Any, index: Any) -> None:
    online = (
        schema_editor.connection.vendor == "postgresql" and _partitions(schema_editor, model._meta.db_table) is None
    )
    if online:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(index.name)}")
    else:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index.name)}")


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
