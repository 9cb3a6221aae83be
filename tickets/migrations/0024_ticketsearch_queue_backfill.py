"""Fill the search rows' queue (0023) and index (queue, document).

Not atomic, so that it is feasible on a large database while the help desk
runs (bench/WORKSPACE.md "Fifth round (session 10)": timings at 100k):
- the backfill commits every BATCH ticket ids (short row locks, no
  transaction over the whole table); rows written meanwhile already carry
  their queue (0023's triggers), and a re-run skips rows already right;
  then the primary key is rebuilt (REINDEX CONCURRENTLY: the update left
  it twice its size) and the table analysed;
- the (queue, public_doc) and (queue, internal_doc) GIN indexes (btree_gin)
  are built CONCURRENTLY, then the document-only ones are dropped
  CONCURRENTLY: a search by every queue (managers) uses the new indexes on
  the document alone, so nothing is left without an index.
PostgreSQL only; SQLite keeps the state, not the indexes.
"""

import django.contrib.postgres.indexes
from django.db import migrations

from knowledge_base.db import PostgresOnlyAddIndexConcurrently, PostgresOnlyRemoveIndexConcurrently

BATCH = 20_000
FILL = """
UPDATE tickets_ticketsearch s SET queue_id = t.queue_id
FROM tickets_ticket t
WHERE t.id = s.ticket_id AND s.ticket_id >= %s AND s.ticket_id < %s
  AND s.queue_id IS DISTINCT FROM t.queue_id
"""


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT min(ticket_id), max(ticket_id) FROM tickets_ticketsearch")
        low, high = cur.fetchone()
        if low is None:
            return
        for start in range(low, high + 1, BATCH):
            # Autocommit (atomic = False): each batch is its own transaction.
            cur.execute(FILL, [start, start + BATCH])


def reindex(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Every row got a new version (the pages are full, so not on the same
    page): the primary key holds two entries a row, half of them dead, and
    is one level deeper; each search-row probe of a common word's walk read
    a page more (manager, "refund": 6,054 buffers instead of 4,876).
    Rebuilt without blocking writers."""
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute("REINDEX INDEX CONCURRENTLY tickets_ticketsearch_pkey")


def analyze(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Statistics of the new column now, not at the next autovacuum: without
    them a common word's search ("error") was planned as a bitmap of every
    hit (155,364 buffers instead of 1,286 at 100k tickets)."""
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute("ANALYZE tickets_ticketsearch")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("tickets", "0023_ticketsearch_queue")]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(reindex, migrations.RunPython.noop, elidable=True),
        PostgresOnlyAddIndexConcurrently(
            model_name="ticketsearch",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["queue", "public_doc"], name="ticket_search_queue_public"
            ),
        ),
        PostgresOnlyAddIndexConcurrently(
            model_name="ticketsearch",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["queue", "internal_doc"], name="ticket_search_queue_internal"
            ),
        ),
        PostgresOnlyRemoveIndexConcurrently(model_name="ticketsearch", name="ticket_search_public_gin"),
        PostgresOnlyRemoveIndexConcurrently(model_name="ticketsearch", name="ticket_search_internal_gin"),
        migrations.RunPython(analyze, migrations.RunPython.noop, elidable=True),
    ]
