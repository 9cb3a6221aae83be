"""Ticket events may be about no ticket: the NPS relationship survey's offer
and answer (docs/surveys.md, "Where NPS events live").

PostgreSQL drops NOT NULL in place (the append-only trigger stays). SQLite
rebuilds the table, which drops its triggers: they are read from
sqlite_master before and created again after, whatever earlier migrations
(tickets 0002, privacy 0002) made them.
"""

import django.db.models.deletion
from django.db import migrations, models

_SAVED: list[str] = []


def _save_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tickets_ticketevent'")
        _SAVED[:] = [row[0] for row in cur.fetchall() if row[0]]


def _restore_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tickets_ticketevent'")
        if cur.fetchall():
            return  # still there (nothing was rebuilt)
    for sql in _SAVED:
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0012_event_kinds_unlinked_split"),
        ("privacy", "0002_event_redaction"),
    ]

    operations = [
        migrations.RunPython(_save_triggers, _restore_triggers),
        migrations.AlterField(
            model_name="ticketevent",
            name="ticket",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="events",
                to="tickets.ticket",
            ),
        ),
        migrations.RunPython(_restore_triggers, _save_triggers),
    ]
