"""Import speed, fifth round (bench/IMPORT.md): a new ticket's first-reply
clock is folded from the rows the import is about to write and stored with
the ticket row, instead of the side work reading its 12-odd events back
(a SELECT, JSON decoding and an UPDATE a batch). Same value as the refresh
computes from the table; changed lines still go through the refresh."""

import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import orjson
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tickets import config
from tickets.first_reply import tickets_first_reply_refresh
from tickets.importing import demo, import_records
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

ANCHOR = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def demo_configured(db):
    config.config_apply(demo.demo_config())


def _demo_records(n: int, *, start: int = 0):
    return list(demo.demo_lines(n, seed=11, anchor=ANCHOR, start=start))


def _recent_line(ext: str, *, replied: bool) -> dict:
    """A line created an hour ago, answered or not (awaiting its first reply)."""
    now = timezone.now()
    events = []
    if replied:
        events.append(
            {
                "at": (now - timedelta(minutes=30)).isoformat(),
                "type": "message",
                "author": {"email": "agent@example.com", "role": "agent"},
                "body": "On it.",
            }
        )
    return {
        "external_id": ext,
        "queue": demo.demo_config()["queues"][0]["slug"],
        "subject": f"Subject {ext}",
        "priority": "normal",
        "channel": "email",
        "requester": {"email": f"{ext.lower()}@example.com", "name": "Req"},
        "created_at": (now - timedelta(hours=1)).isoformat(),
        "description": "Help",
        "events": events,
    }


def _event_reads(ctx) -> list[int]:
    """Ticket ids whose events were read back."""
    ids: list[int] = []
    for q in ctx.captured_queries:
        sql = q["sql"]
        if sql.startswith("SELECT") and "tickets_ticketevent" in sql:
            ids += [int(x) for x in re.search(r"IN \(([\d, ]+)\)", sql).group(1).split(",")]
    return ids


def test_new_tickets_first_reply_clock_is_what_the_refresh_computes(demo_configured):
    records = [*_demo_records(300), (301, _recent_line("R-OPEN", replied=False))]
    records.append((302, _recent_line("R-DONE", replied=True)))
    report = import_records(records, batch_size=100)
    assert report.imported == 302 and report.errors == 0
    awaiting = dict(Ticket.objects.values_list("external_id", "awaiting_first_reply_since"))
    assert awaiting["R-OPEN"] is not None and awaiting["R-DONE"] is None
    assert sum(v is not None for v in awaiting.values()) > 1
    # The refresh (what the side work read back before) changes no row.
    assert tickets_first_reply_refresh(ticket_ids=list(Ticket.objects.values_list("pk", flat=True))) == 0


def test_import_of_new_tickets_reads_no_event_back(demo_configured, settings):
    """Fails before this round: the first-reply refresh read every imported
    ticket's events back (one SELECT of ~12,000 events a batch of 1,000).
    The SLA refresh in a worker, as in production (the tests' inline refresh
    reads the history of the few open tickets)."""
    settings.HELPDESK_SLA_REFRESH = "worker"
    with CaptureQueriesContext(connection) as ctx:
        report = import_records(_demo_records(200), batch_size=100)
    assert report.imported == 200
    assert _event_reads(ctx) == []  # before: all 200
    # And no UPDATE of the ticket rows just written (the clock goes in with them).
    assert [q for q in ctx.captured_queries if q["sql"].startswith("UPDATE tickets_ticket")] == []
    # Statements per batch of 100 new tickets, COPY aside (psycopg2's
    # copy_expert bypasses the query log): bounded, independent of the batch size.
    assert len(ctx.captured_queries) <= 2 * 12 + 10


def test_changed_line_still_refreshes_from_the_table(demo_configured, tmp_path):
    """A changed line's history is partly in the table: the refresh reads it."""
    line = _recent_line("R-CHANGE", replied=False)
    assert import_records([(1, line)]).imported == 1
    assert Ticket.objects.get(external_id="R-CHANGE").awaiting_first_reply_since is not None
    line = _recent_line("R-CHANGE", replied=True)
    line["created_at"] = Ticket.objects.get(external_id="R-CHANGE").created_at.isoformat()
    report = import_records([(1, line)])
    assert report.updated == 1 and report.errors == 0
    assert Ticket.objects.get(external_id="R-CHANGE").awaiting_first_reply_since is None


@pytest.mark.django_db(transaction=True)
def test_pipelined_import_stores_the_same_clock(tmp_path):
    """The writer thread path (outside a transaction) stores it too."""
    config.config_apply(demo.demo_config())
    path = tmp_path / "lines.jsonl"
    lines = [line for _, line in _demo_records(150)] + [_recent_line("R-OPEN", replied=False)]
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    out = StringIO()
    call_command("import_tickets", str(path), "--batch-size", "50", stdout=out, stderr=StringIO())
    assert "151 imported" in out.getvalue()
    assert Ticket.objects.get(external_id="R-OPEN").awaiting_first_reply_since is not None
    assert tickets_first_reply_refresh(ticket_ids=list(Ticket.objects.values_list("pk", flat=True))) == 0
