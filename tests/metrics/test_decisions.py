"""Two choices written down in docs/metrics.md ("Decisions"), each asserted
through the real importer and metrics engine."""

import io
import json

import pytest
from django.core.management import call_command

from tests.metrics.jsonl_events import FIXTURES
from tickets.models import Ticket

AS_OF = "2025-11-10T00:00:00-05:00"


def _import(tmp_path, lines):
    call_command("helpdesk_config", "apply", str(FIXTURES / "config.json"), stdout=io.StringIO())
    path = tmp_path / "lines.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    err = io.StringIO()
    call_command("import_tickets", str(path), stdout=io.StringIO(), stderr=err)
    return err.getvalue()


def _export():
    out = io.StringIO()
    call_command("metrics_export", "--format", "jsonl", "--as-of", AS_OF, stdout=out)
    return {row["external_id"]: row for row in map(json.loads, out.getvalue().splitlines())}


def _agent_line(ext, events):
    # Monday 2025-11-03 10:00 New York: inside the fixture's 9-17 calendar.
    return {
        "external_id": ext,
        "queue": "tier1",
        "subject": "We noticed a failed payment",
        "priority": "high",  # the fixture's Normal policy: 4 business hours to first reply
        "channel": "agent",
        "requester": {"email": "kim@example.com", "name": "Kim"},
        "created_at": "2025-11-03T10:00:00-05:00",
        "created_by": {"email": "alice@acme.test", "role": "agent"},
        "description": "Your card was declined; could you check it?",
        "events": events,
    }


@pytest.mark.django_db
def test_agent_created_ticket_has_no_first_reply_target_until_the_customer_writes(tmp_path):
    """docs/metrics.md, Decisions: the first-reply clock of an agent-created
    ticket starts at the customer's first public message (M1), and so does
    its SLA first-reply target; with no such message there is no target."""
    reply = {"visibility": "public", "automated": False, "body": "x"}
    errors = _import(
        tmp_path,
        [
            _agent_line("A-1", []),
            _agent_line(
                "A-2",
                [
                    {"at": "2025-11-03T11:00:00-05:00", "type": "message",
                     "author": {"email": "kim@example.com", "role": "customer"}, **reply},
                    {"at": "2025-11-03T12:30:00-05:00", "type": "message",
                     "author": {"email": "alice@acme.test", "role": "agent"}, **reply},
                ],
            ),
        ],
    )  # fmt: skip
    assert Ticket.objects.count() == 2, errors
    rows = _export()
    silent, answered = rows["A-1"], rows["A-2"]
    assert (silent["frt_cal_s"], silent["sla_first_reply_target_s"], silent["sla_first_reply_outcome"]) == (
        None,
        None,
        None,
    )
    assert answered["frt_cal_s"] == 5400  # 11:00 -> 12:30, not from the agent's description at 10:00
    assert answered["sla_first_reply_target_s"] == 14400
    assert (answered["sla_first_reply_elapsed_s"], answered["sla_first_reply_outcome"]) == (5400, "achieved")


@pytest.mark.django_db
def test_ticket_logged_closed_keeps_its_owner_assigned_at_creation(tmp_path):
    """docs/import.md, Decisions: an `assign` at the creation instant of a
    ticket created `closed` is accepted (who owned it when it was logged); a
    later one is refused like any change to a closed ticket."""
    line = _agent_line("C-1", [])
    line["status"] = "closed"
    line["events"] = [
        {"at": line["created_at"], "type": "assign", "to": "alice@acme.test"},
        {"at": "2025-11-03T10:05:00-05:00", "type": "assign", "to": "bob@acme.test"},
    ]
    errors = _import(tmp_path, [line])
    ticket = Ticket.objects.get(external_id="C-1")
    assert ticket.status == "closed" and ticket.assignee.email == "alice@acme.test"
    assert ticket.events.filter(kind="assignee.changed").count() == 1
    assert "events[1] (assign" in errors and "closed" in errors and "events[0]" not in errors
    row = _export()["C-1"]  # logged-only: out of resolution and SLA metrics, computed without error
    assert row["first_resolution_cal_s"] is None and row["sla_first_reply_outcome"] is None
