"""The ticket's queue on its search row (tickets/search.py, issue #22): an
agent's search then reads only the hits in their queues from a (queue,
document) GIN index (0024) instead of walking the list for a word that is
common elsewhere.

The database keeps the copy, so no path can forget it (services, bulk
actions, the importer's set-based UPDATE, raw SQL, the code still running
during a deploy): a search row inserted without a queue takes its ticket's;
a change of a ticket's queue is copied to its search row in the same
statement. Existing rows are filled by 0024 (in batches). PostgreSQL only:
SQLite has no search rows (its search reads the tickets with icontains).
"""

import django.db.models.deletion
from django.db import migrations, models

from knowledge_base.db import PostgresOnlyBtreeGinExtension

PG_FORWARD = """
CREATE OR REPLACE FUNCTION tickets_search_queue_fill() RETURNS trigger AS $$
BEGIN
    SELECT t.queue_id INTO NEW.queue_id FROM tickets_ticket t WHERE t.id = NEW.ticket_id;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tickets_ticketsearch_queue_fill
    BEFORE INSERT ON tickets_ticketsearch
    FOR EACH ROW WHEN (NEW.queue_id IS NULL)
    EXECUTE FUNCTION tickets_search_queue_fill();

CREATE OR REPLACE FUNCTION tickets_search_queue_follow() RETURNS trigger AS $$
BEGIN
    UPDATE tickets_ticketsearch SET queue_id = NEW.queue_id WHERE ticket_id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tickets_ticket_search_queue_follow
    AFTER UPDATE OF queue_id ON tickets_ticket
    FOR EACH ROW WHEN (OLD.queue_id IS DISTINCT FROM NEW.queue_id)
    EXECUTE FUNCTION tickets_search_queue_follow();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS tickets_ticket_search_queue_follow ON tickets_ticket;
DROP FUNCTION IF EXISTS tickets_search_queue_follow();
DROP TRIGGER IF EXISTS tickets_ticketsearch_queue_fill ON tickets_ticketsearch;
DROP FUNCTION IF EXISTS tickets_search_queue_fill();
"""


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0022_open_assignee_load_index")]

    operations = [
        # No-op outside PostgreSQL; IF NOT EXISTS. A trusted extension.
        PostgresOnlyBtreeGinExtension(),
        # Nullable, no default: a catalogue change, no table rewrite.
        migrations.AddField(
            model_name="ticketsearch",
            name="queue",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="tickets.queue",
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
