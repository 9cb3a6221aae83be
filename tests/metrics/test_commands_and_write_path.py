"""metrics_rebuild, metrics_export, the dirty outbox and rollups under random histories."""

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.models import MetricsDaily, MetricsDirty, TicketMetrics
from metrics.services import contributions, metrics_dirty_claim_and_recompute, reporting_zone, tickets_recompute
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
    before = sorted(MetricsDaily.objects.filter(n__gt=0).values_list("day", "metric", "agent_id", "n", "sum_s"))
    call_command("metrics_rebuild", "--as-of", EXPECTED["as_of"], "--reset", stdout=io.StringIO(), stderr=io.StringIO())
    after = sorted(MetricsDaily.objects.filter(n__gt=0).values_list("day", "metric", "agent_id", "n", "sum_s"))
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


def _rollup_state():
    return {
        (r.day, r.queue_id, r.kind, r.agent_id, r.metric): (r.n, r.sum_s, r.numerator, r.denominator)
        for r in MetricsDaily.objects.all()
        if (r.n, r.sum_s, r.numerator, r.denominator) != (0, 0.0, 0, 0)
    }


def _scratch_state():
    zone = reporting_zone()
    total: dict = {}
    for m in TicketMetrics.objects.all():
        for key, v in contributions(m, zone).items():
            cell = total.setdefault(key, [0, 0.0, 0, 0])
            for i in range(4):
                cell[i] += v[i]
    return {k: tuple(v) for k, v in total.items() if any(v)}


ACTIONS = st.lists(
    st.tuples(
        st.integers(0, 2),  # ticket
        st.sampled_from(["reply", "customer", "solve", "reopen", "pending", "spam", "restore", "late_reply", "csat"]),
        st.integers(1, 6 * 3600),  # seconds later
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS, seed=st.integers(0, 1000))
def test_rollups_equal_from_scratch_after_random_histories(db, actions, seed):
    """Recompute after every event (retract-and-apply) == the sum of fresh contributions."""
    rnd = random.Random(seed)
    with transaction.atomic():
        TicketMetrics.objects.all().delete()
        MetricsDaily.objects.all().delete()
        queue = QueueFactory()
        agents = [AgentFactory(), AgentFactory()]
        base = datetime(2025, 11, 3, 14, 0, tzinfo=UTC)
        tickets = [ticket_make(queue=queue, requester=CustomerFactory(), occurred_at=base) for _ in range(3)]
        clock = {t.pk: base for t in tickets}
        for idx, action, secs in actions:
            t = tickets[idx]
            t.refresh_from_db()
            at = clock[t.pk] + timedelta(seconds=secs)
            clock[t.pk] = at
            agent = rnd.choice(agents)
            if action == "reply":
                services.message_post(ticket_id=t.pk, author=agent, body="r", occurred_at=at, apply_rules=False)
            elif action == "late_reply":  # a late-arriving event, back in time
                services.message_post(
                    ticket_id=t.pk, author=agent, body="r", occurred_at=at - timedelta(hours=5), apply_rules=False
                )
            elif action == "customer":
                services.message_post(ticket_id=t.pk, author=t.requester, body="c", occurred_at=at, apply_rules=False)
            elif action == "solve" and t.status in ("new", "open", "pending", "on_hold"):
                services.ticket_assign(ticket_id=t.pk, assignee=agent, actor=agent, occurred_at=at)
                services.ticket_transition(ticket_id=t.pk, target="solved", actor=agent, occurred_at=at)
            elif action == "reopen" and t.status == "solved":
                services.ticket_transition(ticket_id=t.pk, target="open", actor=agent, occurred_at=at)
            elif action == "pending" and t.status in ("new", "open"):
                services.ticket_transition(ticket_id=t.pk, target="pending", actor=agent, occurred_at=at)
            elif action == "spam":
                services.ticket_mark_spam(ticket_id=t.pk, actor=agent, occurred_at=at)
            elif action == "restore":
                services.ticket_restore(ticket_id=t.pk, actor=agent)
            elif action == "csat":
                services.survey_respond(ticket_id=t.pk, survey="csat", value=rnd.randint(1, 5), occurred_at=at)
            tickets_recompute(ticket_ids=[t.pk], as_of=base + timedelta(days=30))
        assert _rollup_state() == _scratch_state()
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM metrics_metricsdaily WHERE n < 0 OR numerator < 0 OR denominator < 0")
            assert cur.fetchone()[0] == 0
        transaction.set_rollback(True)


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
