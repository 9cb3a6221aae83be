"""Smaller indexes (bench/PERF_SECOND_PASS.md, "Storage, second round").

* `event_kind_occurred` holds only the kinds some query selects by kind and time
  (`tickets.models.KINDS_BY_TIME`); messages, work sessions and creations are read per ticket.
* The foreign-key indexes of `TicketEvent.actor` (NULL on most rows: system and imported events),
  `Ticket.merged_into` and `Ticket.follow_up_of` (rarely set), and both indexes of
  `Message.email_message_id` (empty except on e-mail messages) become partial `IS NOT NULL` /
  `<> ''` indexes: every lookup (`= x`, `IN (...)`, the foreign-key checks) implies the condition.

Two indexes go without replacement (PostgreSQL): the `varchar_pattern_ops` copy of the
`external_id` unique index (for LIKE 'prefix%', which no query does; lookups are exact) and the
`ticket_id` index of the tags link table (the leading column of its (ticket_id, tag_id) unique index).

The field changes are state-only: Django's AlterField would drop and re-add the foreign-key
constraints, i.e. re-validate every event row. Only the old indexes are dropped (found by
introspection, so any database and any index name qualifies).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (table, column) whose plain single-column index goes.
OLD_INDEXES = (
    ("tickets_ticketevent", "actor_id"),
    ("tickets_ticket", "merged_into_id"),
    ("tickets_ticket", "follow_up_of_id"),
    ("tickets_message", "email_message_id"),
)


def drop_old_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    conn = schema_editor.connection
    with conn.cursor() as cur:
        for table, column in OLD_INDEXES:
            for name, info in conn.introspection.get_constraints(cur, table).items():
                plain = info["index"] and not (info["unique"] or info["primary_key"] or info["foreign_key"])
                if plain and info["columns"] == [column]:
                    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def drop_redundant_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        cur.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND ("
            " (tablename = 'tickets_ticket' AND indexdef LIKE '%%(external_id varchar_pattern_ops)')"
            " OR (tablename = 'tickets_ticket_tags' AND indexdef NOT LIKE '%%UNIQUE%%'"
            " AND indexdef LIKE '%%btree (ticket_id)'))"
        )
        for (name,) in cur.fetchall():
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def recreate_redundant_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX tickets_ticket_external_id_like ON tickets_ticket (external_id varchar_pattern_ops)"
        )
        schema_editor.execute("CREATE INDEX tickets_ticket_tags_ticket_id_old ON tickets_ticket_tags (ticket_id)")


def recreate_old_indexes(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table, column in OLD_INDEXES:
        name = schema_editor.quote_name(f"{table}_{column}_old")
        schema_editor.execute(f"CREATE INDEX {name} ON {table} ({column})")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_is_away"),
        ("tickets", "0019_event_csat_comment_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="ticketevent",
            name="event_kind_occurred",
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="email_message_id",
                    field=models.CharField(blank=True, max_length=998),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="follow_up_of",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="follow_ups",
                        to="tickets.ticket",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticket",
                    name="merged_into",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="merged_from",
                        to="tickets.ticket",
                    ),
                ),
                migrations.AlterField(
                    model_name="ticketevent",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_old_indexes, recreate_old_indexes)],
        ),
        migrations.RunPython(drop_redundant_indexes, recreate_redundant_indexes),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("email_message_id", ""), _negated=True),
                fields=["email_message_id"],
                name="message_email_id",
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", False)), fields=["merged_into"], name="ticket_merged_into"
            ),
        ),
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("follow_up_of__isnull", False)), fields=["follow_up_of"], name="ticket_follow_up_of"
            ),
        ),
        migrations.AddIndex(
            model_name="ticketevent",
            index=models.Index(
                condition=models.Q(
                    (
                        "kind__in",
                        (
                            "status.changed",
                            "group.changed",
                            "assignee.changed",
                            "survey.offered",
                            "csat.responded",
                            "ces.responded",
                            "nps.responded",
                        ),
                    )
                ),
                fields=["kind", "occurred_at"],
                name="event_kind_occurred",
            ),
        ),
        migrations.AddIndex(
            model_name="ticketevent",
            index=models.Index(condition=models.Q(("actor__isnull", False)), fields=["actor"], name="event_actor"),
        ),
    ]
