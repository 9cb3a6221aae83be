"""The embedded SQLite database gets the same redaction-only UPDATE rule
(shape check only: SQLite has no session settings)."""

import importlib
import json
import sqlite3

import pytest

migration = importlib.import_module("privacy.migrations.0002_event_redaction")

ROW = {"from": "new", "to": "open", "note": "call Zelda back"}


@pytest.fixture
def conn():
    conn = sqlite3.connect(":memory:")
    conn.execute(
        """CREATE TABLE tickets_ticketevent (id integer primary key, ticket_id int, kind text, actor_id int,
           actor_role text, occurred_at text, visibility text, is_automated bool, data text, recorded_at text)"""
    )
    conn.execute("CREATE TABLE privacy_privacyauditevent (id integer primary key, via text)")
    conn.execute(
        "CREATE TRIGGER tickets_ticketevent_no_delete BEFORE DELETE ON tickets_ticketevent "
        "BEGIN SELECT RAISE(ABORT, 'append-only'); END;"
    )
    for sql in migration.SQLITE_FORWARD:
        conn.execute(sql)
    conn.execute(
        "INSERT INTO tickets_ticketevent VALUES (1, 7, 'status.changed', 3, 'agent', 't0', '', 0, ?, 't0')",
        [json.dumps(ROW)],
    )
    conn.execute("INSERT INTO privacy_privacyauditevent VALUES (1, 'api')")
    return conn


def _update(conn, data: dict | None = None, **columns) -> bool:
    sets = {"data": json.dumps(data)} if data is not None else {}
    sets.update(columns)
    sql = "UPDATE tickets_ticketevent SET " + ", ".join(f"{k} = ?" for k in sets) + " WHERE id = 1"  # noqa: S608
    try:
        conn.execute(sql, list(sets.values()))
    except sqlite3.DatabaseError:
        return False
    return True


def test_blanking_a_listed_key_passes(conn):
    assert _update(conn, {**ROW, "note": "[erased]"})


@pytest.mark.parametrize(
    "data",
    [
        {**ROW, "to": "solved", "note": "[erased]"},
        {**ROW, "note": "other text"},
        {**ROW, "note": "[erased]", "reason": "[erased]"},
        {"from": "new", "to": "open"},
    ],
)
def test_anything_else_in_data_is_refused(conn, data):
    assert not _update(conn, data)


def test_other_columns_and_delete_are_refused(conn):
    assert not _update(conn, kind="priority.changed")
    assert not _update(conn, actor_id=4)
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("DELETE FROM tickets_ticketevent")
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("UPDATE privacy_privacyauditevent SET via = 'x'")
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("DELETE FROM privacy_privacyauditevent")
