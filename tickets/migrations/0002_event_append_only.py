"""The database itself refuses UPDATE and DELETE of ticket events.

No code path (ORM, raw SQL, admin, a future bug) can rewrite history. TRUNCATE
stays possible for operators (and test-database flushes).
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION tickets_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'tickets_ticketevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tickets_ticketevent_no_update_delete
    BEFORE UPDATE OR DELETE ON tickets_ticketevent
    FOR EACH ROW EXECUTE FUNCTION tickets_event_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS tickets_ticketevent_no_update_delete ON tickets_ticketevent;
DROP FUNCTION IF EXISTS tickets_event_append_only();
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER tickets_ticketevent_no_update BEFORE UPDATE ON tickets_ticketevent
       BEGIN SELECT RAISE(ABORT, 'tickets_ticketevent is append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER tickets_ticketevent_no_delete BEFORE DELETE ON tickets_ticketevent
       BEGIN SELECT RAISE(ABORT, 'tickets_ticketevent is append-only: DELETE refused'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS tickets_ticketevent_no_update;",
    "DROP TRIGGER IF EXISTS tickets_ticketevent_no_delete;",
]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
