"""Row-for-row content of an import (bench/IMPORT.md, fifth round): 150 demo
tickets (fixed anchor and seed, several batches) give exactly the rows in
tests/fixtures/import_rows.json, which was written by the import before the
fifth round's changes. Ids are replaced by what they name (e-mail, external
id, queue slug, message rank) so the file does not depend on sequences;
only the insertion instant (`recorded_at`) and passwords are left out.

Rewrite the file (only when a change of rows is intended and documented):
IMPORT_ROWS_WRITE=1 pytest tests/tickets/test_import_rows.py
"""

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from accounts.models import Organisation, User
from tickets import config
from tickets.importing import demo, import_records
from tickets.models import Message, Queue, Tag, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "import_rows.json"
ANCHOR = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)

# Event data keys holding an id, by what they name.
USER_KEYS = {("assignee.changed", "from"), ("assignee.changed", "to"), ("ticket.created", "requester_id")}
QUEUE_KEYS = {("group.changed", "from"), ("group.changed", "to"), ("ticket.created", "queue_id")}


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


class _Names:
    def __init__(self) -> None:
        self.users = {u.pk: u.email.lower() for u in User.objects.all()}
        self.tickets = dict(Ticket.objects.values_list("pk", "external_id"))
        self.queues = dict(Queue.objects.values_list("pk", "slug"))
        self.orgs = dict(Organisation.objects.values_list("pk", "name"))
        self.tags = dict(Tag.objects.values_list("pk", "name"))
        self.messages: dict[int, str] = {}
        for tid in sorted(self.tickets):
            for k, mid in enumerate(Message.objects.filter(ticket_id=tid).order_by("id").values_list("id", flat=True)):
                self.messages[mid] = f"{self.tickets[tid]}#{k}"

    def fk(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        table = {
            "assignee_id": self.users,
            "requester_id": self.users,
            "author_id": self.users,
            "actor_id": self.users,
            "queue_id": self.queues,
            "organisation_id": self.orgs,
            "merged_into_id": self.tickets,
            "follow_up_of_id": self.tickets,
            "ticket_id": self.tickets,
        }.get(name)
        return table[value] if table is not None else _iso(value)

    def data(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for key, value in data.items():
            if isinstance(value, int) and not isinstance(value, bool):
                if (kind, key) in USER_KEYS or key == "agent_id":
                    value = self.users[value]
                elif (kind, key) in QUEUE_KEYS:
                    value = self.queues[value]
                elif key == "message_id":
                    value = self.messages[value]
                elif key == "target_id":
                    value = self.tickets[value]
            out[key] = value
        return out


def _rows(model: type, names: _Names, *, order: str, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in ("id", *drop)]
    out = []
    for row in model.objects.order_by(order, "id").values(*fields):
        if "kind" in row and "data" in row and model is TicketEvent:
            row["data"] = names.data(row["kind"], row["data"] or {})
        out.append({k: names.fk(k, v) if k != "data" else v for k, v in row.items()})
    return out


def _snapshot() -> dict[str, Any]:
    names = _Names()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ticket_id, public_doc::text, internal_doc::text FROM tickets_ticketsearch ORDER BY ticket_id"
        )
        search = sorted([names.tickets[t], p, i] for t, p, i in cur.fetchall())
    tags = sorted(
        [names.tickets[t], names.tags[g]] for t, g in Ticket.tags.through.objects.values_list("ticket_id", "tag_id")
    )
    users = sorted(
        [u.email.lower(), u.role, u.name, u.is_active] for u in User.objects.filter(pk__in=list(names.users))
    )
    tickets = sorted(_rows(Ticket, names, order="external_id"), key=lambda r: r["external_id"])
    messages = _rows(Message, names, order="ticket_id")
    events = _rows(TicketEvent, names, order="ticket_id", drop=("recorded_at",))
    return {
        "tickets": tickets,
        "tags": tags,
        "users": users,
        "messages": sorted(messages, key=lambda r: r["ticket_id"]),
        "events": sorted(events, key=lambda r: r["ticket_id"]),
        "search": search,
    }


def _line(ext: str, created_by: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """An open ticket of fixed instants (its first-reply clock may be running)."""
    return {
        "external_id": ext,
        "queue": "tech-support",
        "subject": f"Subject {ext}",
        "priority": "high",
        "channel": "email" if created_by == "customer" else "phone",
        "requester": {"email": f"{ext.lower()}@example.com", "name": "Req"},
        "created_by": {"email": "agent@example.com", "role": "agent"} if created_by == "agent" else None,
        "created_at": "2025-05-30T09:00:00+00:00",
        "description": "Help",
        "events": events,
    }


AGENT = {"email": "agent@example.com", "role": "agent"}
EXTRA = [
    _line("X-WAITING", "customer", []),
    _line(
        "X-ANSWERED",
        "customer",
        [{"at": "2025-05-30T10:00:00+00:00", "type": "message", "author": AGENT, "body": "Hi"}],
    ),
    _line(
        "X-AGENT",
        "agent",
        [
            {
                "at": "2025-05-30T11:00:00+00:00",
                "type": "message",
                "author": {"email": "x-agent@example.com"},
                "body": "Me",
            }
        ],
    ),
]


def test_import_writes_exactly_the_recorded_rows(db):
    config.config_apply(demo.demo_config())
    records = [*demo.demo_lines(80, seed=5, anchor=ANCHOR), *((81 + i, x) for i, x in enumerate(EXTRA))]
    report = import_records(records, batch_size=30)
    assert report.imported == 83 and report.errors == 0
    got = json.loads(json.dumps(_snapshot(), default=_iso))
    if os.environ.get("IMPORT_ROWS_WRITE"):
        GOLDEN.write_text(
            "{\n"
            + ",\n".join(
                f"{json.dumps(t)}: [\n" + ",\n".join(json.dumps(r, sort_keys=True) for r in rows) + "\n]"
                for t, rows in sorted(got.items())
            )
            + "\n}\n"
        )
    expected = json.loads(GOLDEN.read_text())
    for table in expected:
        assert len(got[table]) == len(expected[table]), table
        for i, (g, e) in enumerate(zip(got[table], expected[table], strict=True)):
            assert g == e, f"{table}[{i}]"
