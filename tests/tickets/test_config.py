"""helpdesk_config apply/dump (docs/import.md: configuration as code)."""

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from tests.factories import ticket_make
from tickets import config
from tickets.models import Calendar, HelpdeskSetting, Queue, QueueMembership, RequestType, SLAPolicy, Ticket

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "metrics_examples" / "config.json"

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("helpdesk_config", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def full_document():
    doc = json.loads(FIXTURE.read_text())
    doc["calendars"][0]["overrides"] = [{"date": "2025-12-24", "hours": [["09:00", "13:00"]]}]
    doc["request_types"] = [{"slug": "bug", "name": "Something is broken", "queue": "tier2"}]
    doc["agents"][0]["capacity"] = 10
    return doc


def write(tmp_path, doc, name="config.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_apply_creates_everything_in_the_document(tmp_path):
    """The fixture document creates its calendar, policy, queues, agents and reporting zone exactly."""
    out, _ = run("apply", write(tmp_path, full_document()))
    cal = Calendar.objects.get(name="NY-9-5")
    assert cal.timezone == "America/New_York"
    assert cal.hours["mon"] == [["09:00", "17:00"]] and "sat" not in cal.hours
    assert cal.holidays == ["2025-11-27", "2025-12-25"]
    assert cal.overrides == [{"date": "2025-12-24", "hours": [["09:00", "13:00"]]}]
    policy = SLAPolicy.objects.get(name="Normal")
    assert policy.pause_statuses == ["pending"]
    assert policy.targets == {"high": {"business_hours": True, "first_response": 14400, "resolution": 57600}}
    tier1, tier2 = Queue.objects.get(slug="tier1"), Queue.objects.get(slug="tier2")
    assert (tier1.kind, tier2.kind) == ("service", "support")
    assert tier1.calendar == cal and tier1.sla_policy == policy and tier1.auto_assign == "none"
    assert RequestType.objects.get(slug="bug").queue == tier2
    alice = User.objects.get(email="alice@acme.test")
    assert (alice.role, alice.name, alice.capacity) == ("agent", "Alice", 10)
    assert not alice.has_usable_password()
    assert set(QueueMembership.objects.filter(user=alice).values_list("queue__slug", flat=True)) == {"tier1"}
    assert HelpdeskSetting.objects.get(key="reporting.timezone").value == "America/New_York"
    assert config.reporting_timezone() == "America/New_York"
    assert "9 create, 0 update, 0 unchanged" in out


def test_apply_twice_changes_nothing_and_dump_round_trips(tmp_path):
    """Applying the same document again reports every item unchanged; dump -> apply changes nothing."""
    path = write(tmp_path, full_document())
    run("apply", path)
    out, _ = run("apply", path)
    assert "0 create, 0 update, 9 unchanged" in out
    dump_path = tmp_path / "dump.json"
    run("dump", str(dump_path))
    dumped = json.loads(dump_path.read_text())
    assert set(dumped) == {"calendars", "sla_policies", "queues", "request_types", "agents", "reporting"}
    assert dumped["queues"][0] == {
        "slug": "tier1",
        "name": "Tier 1 (service desk)",
        "kind": "service",
        "calendar": "NY-9-5",
        "sla_policy": "Normal",
        "auto_assign": "none",
    }
    assert {"email": "carol@acme.test", "name": "Carol", "role": "agent", "queues": ["tier2"], "capacity": None} in (
        dumped["agents"]
    )
    report = config.config_apply(dumped)
    assert not report.has_changes and report.unchanged == 9
    assert config.config_dump() == dumped


def test_existing_user_keeps_password_and_gets_role_and_queues(tmp_path):
    """An agent listed in the document who already exists is updated, not recreated."""
    user = User.objects.create_user(email="alice@acme.test", password="pw-Secret-123", role="customer")
    run("apply", write(tmp_path, full_document()))
    user.refresh_from_db()
    assert user.role == "agent" and user.check_password("pw-Secret-123")
    assert User.objects.filter(email__iexact="alice@acme.test").count() == 1


def test_dry_run_reports_and_changes_nothing(tmp_path):
    """--dry-run prints what would be created and writes nothing."""
    out, _ = run("apply", write(tmp_path, full_document()), "--dry-run")
    assert "would create    queue tier1" in out
    assert "Dry run: 9 would create" in out
    assert not Queue.objects.exists() and not Calendar.objects.exists()
    assert not User.objects.filter(email="alice@acme.test").exists()
    assert not HelpdeskSetting.objects.exists()


def test_dry_run_counts_open_tickets_whose_sla_would_change(tmp_path, customer):
    """Changing a policy's targets is reported with the open tickets of the queues using it."""
    doc = full_document()
    run("apply", write(tmp_path, doc))
    tier1 = Queue.objects.get(slug="tier1")
    open_ticket = ticket_make(queue=tier1, requester=customer)
    ticket_make(queue=tier1, requester=customer, status=Ticket.Status.SOLVED)
    ticket_make(queue=Queue.objects.get(slug="tier2"), requester=customer)
    doc["sla_policies"][0]["targets"]["high"]["resolution"] = 30000
    doc["queues"] = [q for q in doc["queues"] if q["slug"] == "tier1"]
    doc["queues"][0]["sla_policy"] = "Normal"
    # tier2 also uses the policy, so both queues' unsolved tickets count.
    out, _ = run("apply", write(tmp_path, doc, "changed.json"), "--dry-run")
    assert "would update    sla_policy Normal (targets)" in out
    assert "open tickets that would change SLA state: 2" in out
    assert SLAPolicy.objects.get(name="Normal").targets["high"]["resolution"] == 57600
    assert open_ticket.status == "new"


def test_invalid_document_reports_every_problem_with_its_path(tmp_path):
    """Validation covers the whole document before any write; each problem names its JSON path."""
    doc = full_document()
    doc["calendars"][0]["timezone"] = "Mars/Olympus"
    doc["calendars"][0]["hours"]["mon"] = [["17:00", "09:00"]]
    doc["calendars"][0]["holidays"].append("2025-13-40")
    doc["sla_policies"][0]["targets"]["critical"] = {"first_response": 10}
    doc["queues"][0]["kind"] = "sales"
    doc["queues"][1]["calendar"] = "nope"
    doc["agents"][1]["queues"] = ["tier9"]
    doc["agents"][2]["role"] = "customer"
    doc["unknown"] = 1
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("helpdesk_config", "apply", write(tmp_path, doc), stdout=StringIO(), stderr=(err := StringIO()))
    text = err.getvalue()
    for path in (
        "calendars[0].timezone",
        "calendars[0].hours.mon[0]",
        "calendars[0].holidays[2]",
        "sla_policies[0].targets.critical",
        "queues[0].kind",
        "queues[1].calendar",
        "agents[1].queues[0]",
        "agents[2].role",
        "$.unknown",
    ):
        assert f"  {path}: " in text, path
    assert not Calendar.objects.exists() and not Queue.objects.exists()


def test_invalid_json_file_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"queues": [')
    with pytest.raises(CommandError, match="not valid JSON"):
        run("apply", str(path))


def test_fixture_file_applies_as_shipped(tmp_path):
    """The shipped metrics fixture config applies cleanly (8 objects)."""
    shutil.copy(FIXTURE, tmp_path / "config.json")
    out, _ = run("apply", str(tmp_path / "config.json"))
    assert "8 create, 0 update, 0 unchanged" in out
