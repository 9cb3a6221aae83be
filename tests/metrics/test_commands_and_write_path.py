"""metrics_rebuild, metrics_export and the dirty outbox (the dashboard cells under random histories:
tests/dashboard/test_rollup.py)."""

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.db import transaction

from metrics.models import DashboardRollup, MetricsDirty, TicketMetrics
from metrics.services import metrics_dirty_claim_and_recompute
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tests.metrics.jsonl_events import FIXTURES
from tests.metrics.test_compute import assert_same
from tickets import services

EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


@pytest.fixture
def imported(db):
    call_command("helpdesk_config", "apply", str(FIXTURES / "config.json"), stdout=io.StringIO())
    call_command("import_tickets", str(FIXTURES / "examples.jsonl"), stdout=io.StringIO(), stderr=io.StringIO())


def test_import_marks_every_ticket_dirty_and_a_claim_drains_them(imported):
    assert MetricsDirty.objects.count() == 16
    assert metrics_dirty_claim_and_recompute(batch=10) == 10
    assert metrics_dirty_claim_and_recompute(batch=10) == 6
    assert metrics_dirty_claim_and_recompute(batch=10) == 0
    assert TicketMetrics.objects.count() == 16


def test_rebuild_as_of_then_export_jsonl_equals_expected(imported):
    call_command(
        "metrics_rebuild", "--as-of", EXPECTED["as_of"], "--chunk", "5", stdout=io.StringIO(), stderr=io.StringIO()
    )
    assert MetricsDirty.objects.count() == 0
    out = io.StringIO()
    call_command("metrics_export", "--format", "jsonl", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 16
    for row in rows:
        assert isinstance(row["ticket"], int)
        expected = EXPECTED["tickets"][row["external_id"]]
        assert_same(row, expected, row["external_id"])


def test_export_as_of_recomputes_without_storing_and_csv_has_every_field(imported):
    out = io.StringIO()
    call_command("metrics_export", "--format", "csv", "--as-of", EXPECTED["as_of"], stdout=out)
    assert TicketMetrics.objects.count() == 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 16
    by_ext = {r["external_id"]: r for r in rows}
    assert by_ext["T-108"]["frt_cal_s"] == "236700"
    assert by_ext["T-110"]["handle_by_agent_s"] == json.dumps({"alice@acme.test": 1320, "bob@acme.test": 1080})
    assert by_ext["T-105"]["sla_first_reply_outcome"] == "breached"
    assert "sla_resolution_outcome_at" in rows[0]


def test_rebuild_reset_gives_the_same_rollups(imported):
    call_command("metrics_rebuild", "--as-of", EXPECTED["as_of"], stdout=io.StringIO(), stderr=io.StringIO())
    cells = ("dim", "key", "metric", "span", "start", "kind", "bin", "n", "sum_s", "num", "den")
    before = sorted(DashboardRollup.objects.filter(n__gt=0).values_list(*cells))
    call_command("metrics_rebuild", "--as-of", EXPECTED["as_of"], "--reset", stdout=io.StringIO(), stderr=io.StringIO())
    after = sorted(DashboardRollup.objects.filter(n__gt=0).values_list(*cells))
    assert before == after
    assert len(after) > 20


@pytest.mark.django_db(transaction=True)
def test_event_commit_marks_dirty_and_wakes_recompute_eagerly(settings):
    """Without a broker (eager mode) the wake-up runs on commit in-process;
    the dirty row is written in the event's own transaction."""
    from helpdesk.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the embedded default (no REDIS_URL)
    try:
        _event_commit_recomputes_in_process()
    finally:
        app.conf.task_always_eager = eager


def _event_commit_recomputes_in_process():
    queue = QueueFactory()
    agent = AgentFactory()
    ticket = ticket_make(queue=queue, requester=CustomerFactory())
    services.message_post(ticket_id=ticket.pk, author=agent, body="Hello")
    row = TicketMetrics.objects.get(ticket_id=ticket.pk)
    assert row.public_agent_replies == 1
    assert row.first_reply_at is not None
    assert not MetricsDirty.objects.filter(ticket_id=ticket.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_rolled_back_event_leaves_no_dirty_row():
    ticket = ticket_make(queue=QueueFactory(), requester=CustomerFactory())
    MetricsDirty.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.message_post(ticket_id=ticket.pk, author=AgentFactory(), body="x")
        assert MetricsDirty.objects.filter(ticket_id=ticket.pk).exists()
        raise RuntimeError
    assert not MetricsDirty.objects.filter(ticket_id=ticket.pk).exists()


def test_export_carries_queue_kind_assignee_and_organisation(imported):
    """Both paths (stored rows and --as-of) name the ticket's final queue, its
    kind, the assignee and the organisation (docs/metrics.md)."""
    from accounts.models import Organisation
    from tickets.models import Ticket

    acme = Organisation.objects.create(name="Acme Corp")
    t101 = Ticket.objects.get(external_id="T-101")
    Ticket.objects.filter(pk=t101.pk).update(organisation=acme)
    call_command("metrics_rebuild", "--as-of", EXPECTED["as_of"], stdout=io.StringIO(), stderr=io.StringIO())
    for extra in ([], ["--as-of", EXPECTED["as_of"]]):
        out = io.StringIO()
        call_command("metrics_export", "--format", "csv", *extra, stdout=out)
        by_ext = {r["external_id"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
        row = by_ext["T-101"]
        assert (row["queue"], row["kind"], row["assignee"], row["organisation"]) == (
            "tier1",
            "service",
            "alice@acme.test",
            "Acme Corp",
        ), extra
        escalated = Ticket.objects.get(external_id="T-103")
        assert by_ext["T-103"]["queue"] == escalated.queue.slug and by_ext["T-103"]["kind"] == escalated.kind
