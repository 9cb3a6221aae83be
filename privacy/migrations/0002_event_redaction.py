"""Append-only guards for the erasure.

1. The privacy audit log refuses UPDATE and DELETE (like the event log).
2. The ticket event log's trigger (tickets 0002) gains exactly one allowed
   UPDATE: the erasure's redaction. It passes only when
   - the transaction set `helpdesk.event_redaction` to 'on' (SET LOCAL,
     done by privacy.services.person_erase and nothing else),
   - every column but `data` is unchanged,
   - `data` minus the redactable keys is unchanged, and
   - each redactable key either keeps its old value or, where it existed,
     now holds the string "[erased]".
   DELETE is still always refused. So no code path can reorder, retime,
   reattribute, add or remove history; the erasure can only blank free
   text (notes, reasons, survey comments) and e-mail addresses.
   On SQLite (the embedded demo database) there are no session settings:
   the shape check alone guards the UPDATE.
Keep REDACTABLE_KEYS equal to privacy.redaction.EVENT_REDACTABLE_KEYS.
"""

from django.db import migrations

REDACTABLE_KEYS = ("note", "reason", "comment", "to_email")
ERASED = "[erased]"

_PG_KEYS = "ARRAY[" + ", ".join(f"'{k}'" for k in REDACTABLE_KEYS) + "]::text[]"

PG_EVENT_FORWARD = f"""
CREATE OR REPLACE FUNCTION tickets_event_append_only() RETURNS trigger AS $$
DECLARE
    redactable text[] := {_PG_KEYS};
    k text;
BEGIN
    IF TG_OP = 'UPDATE'
       AND current_setting('helpdesk.event_redaction', true) = 'on'
       AND (NEW.id, NEW.ticket_id, NEW.kind, NEW.actor_id, NEW.actor_role, NEW.occurred_at,
            NEW.visibility, NEW.is_automated, NEW.recorded_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.ticket_id, OLD.kind, OLD.actor_id, OLD.actor_role, OLD.occurred_at,
            OLD.visibility, OLD.is_automated, OLD.recorded_at)
       AND (NEW.data - redactable) = (OLD.data - redactable)
    THEN
        FOREACH k IN ARRAY redactable LOOP
            IF (NEW.data -> k) IS DISTINCT FROM (OLD.data -> k)
               AND NOT COALESCE(OLD.data ? k AND NEW.data ? k AND NEW.data -> k = '"{ERASED}"'::jsonb, false)
            THEN
                RAISE EXCEPTION 'tickets_ticketevent redaction may only blank listed keys (%)', k
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
        END LOOP;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'tickets_ticketevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
# The original function of tickets 0002, restored on reverse.
PG_EVENT_BACKWARD = """
CREATE OR REPLACE FUNCTION tickets_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'tickets_ticketevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

PG_AUDIT_FORWARD = """
CREATE OR REPLACE FUNCTION privacy_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'privacy_privacyauditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER privacy_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON privacy_privacyauditevent
    FOR EACH ROW EXECUTE FUNCTION privacy_audit_append_only();
"""
PG_AUDIT_BACKWARD = """
DROP TRIGGER IF EXISTS privacy_audit_no_update_delete ON privacy_privacyauditevent;
DROP FUNCTION IF EXISTS privacy_audit_append_only();
"""


def _sqlite_same(key: str) -> str:
    path = f"'$.{key}'"
    return (
        f"(json_extract(NEW.data, {path}) IS json_extract(OLD.data, {path})"
        f" OR IFNULL(json_type(OLD.data, {path}) IS NOT NULL AND json_type(NEW.data, {path}) = 'text'"
        f" AND json_extract(NEW.data, {path}) = '{ERASED}', 0))"
    )


_SQLITE_PATHS = ", ".join(f"'$.{k}'" for k in REDACTABLE_KEYS)
_SQLITE_REDACTION = " AND ".join(
    [
        "NEW.id IS OLD.id AND NEW.ticket_id IS OLD.ticket_id AND NEW.kind IS OLD.kind",
        "NEW.actor_id IS OLD.actor_id AND NEW.actor_role IS OLD.actor_role",
        "NEW.occurred_at IS OLD.occurred_at AND NEW.visibility IS OLD.visibility",
        "NEW.is_automated IS OLD.is_automated AND NEW.recorded_at IS OLD.recorded_at",
        f"json_remove(NEW.data, {_SQLITE_PATHS}) = json_remove(OLD.data, {_SQLITE_PATHS})",
        *(_sqlite_same(k) for k in REDACTABLE_KEYS),
    ]
)
SQLITE_FORWARD = [
    "DROP TRIGGER IF EXISTS tickets_ticketevent_no_update;",
    f"""CREATE TRIGGER tickets_ticketevent_no_update BEFORE UPDATE ON tickets_ticketevent
       WHEN NOT ({_SQLITE_REDACTION})
       BEGIN SELECT RAISE(ABORT, 'tickets_ticketevent is append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER privacy_audit_no_update BEFORE UPDATE ON privacy_privacyauditevent
       BEGIN SELECT RAISE(ABORT, 'privacy_privacyauditevent is append-only: UPDATE refused'); END;""",
    """CREATE TRIGGER privacy_audit_no_delete BEFORE DELETE ON privacy_privacyauditevent
       BEGIN SELECT RAISE(ABORT, 'privacy_privacyauditevent is append-only: DELETE refused'); END;""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS tickets_ticketevent_no_update;",
    """CREATE TRIGGER tickets_ticketevent_no_update BEFORE UPDATE ON tickets_ticketevent
       BEGIN SELECT RAISE(ABORT, 'tickets_ticketevent is append-only: UPDATE refused'); END;""",
    "DROP TRIGGER IF EXISTS privacy_audit_no_update;",
    "DROP TRIGGER IF EXISTS privacy_audit_no_delete;",
]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_EVENT_FORWARD, params=None)
        schema_editor.execute(PG_AUDIT_FORWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_EVENT_BACKWARD, params=None)
        schema_editor.execute(PG_AUDIT_BACKWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_audit_log"), ("tickets", "0002_event_append_only")]

    operations = [migrations.RunPython(forward, backward)]
