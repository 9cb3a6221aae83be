"""A partial index for the dashboard's "latest CSAT comments" (metrics/dashboard/comments.py).

The query walks csat.responded events newest first until it has ten with a comment. Where
few ratings carry a comment it read every rating of the period (2.3 s for 365 days at 1M
tickets, bench/METRICS.md); this index holds only the commented ones. PostgreSQL only: on
SQLite the dashboard takes its Python path. On a partitioned event log (docs/event-partitions.md)
the index is declared on the parent and created on every partition.
"""

from django.db import migrations

INDEX = "event_csat_comment"
CREATE = f"""
CREATE INDEX IF NOT EXISTS {INDEX} ON tickets_ticketevent (occurred_at DESC, id DESC)
WHERE kind = 'csat.responded' AND COALESCE(data->>'comment', '') <> ''
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0018_queue_calendar_changes")]

    operations = [migrations.RunPython(forwards, backwards)]
