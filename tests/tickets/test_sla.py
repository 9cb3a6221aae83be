"""SLA (issue 7): due instants, pauses, DST/holidays, warnings, breaches
marked exactly once, escalations, config round trip, lists and badge."""

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.template import Context, Template

from mail.models import Notification
from tests.factories import AgentFactory, CustomerFactory, ManagerFactory, QueueFactory, ticket_make
from tickets import config, selectors, services
from tickets.models import Calendar, Queue, SLAMark, SLAPolicy, Ticket, TicketEvent
from tickets.sla_services import _mark, sla_breach_scan, ticket_sla_states, tickets_sla_refresh

FIXTURES = __import__("pathlib").Path(__file__).resolve().parent.parent / "fixtures" / "metrics_examples"
AS_OF = datetime.fromisoformat(json.loads((FIXTURES / "expected.json").read_text())["as_of"])
K = TicketEvent.Kind


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def ny_calendar() -> Calendar:
    day = [["09:00", "17:00"]]
    return Calendar.objects.create(
        name="NY",
        timezone="America/New_York",
        hours=dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), day),
        holidays=["2025-11-27", "2025-12-25"],
    )


def sla_queue(*, slug="sla", kind="support", calendar=None, targets=None, pause=("pending",), **policy_kw) -> Queue:
    policy = SLAPolicy.objects.create(
        name=f"policy-{slug}",
        pause_statuses=list(pause),
        targets=targets or {"normal": {"first_response": 3600, "resolution": 36000, "business_hours": True}},
        **policy_kw,
    )
    return QueueFactory(slug=slug, kind=kind, calendar=calendar, sla_policy=policy)


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def at(dt: datetime):
    return time_machine.travel(dt, tick=False)


# --- docs/metrics.md E4 (T-104, T-105) through helpdesk_config + import_tickets ----------


@pytest.fixture
def examples(db):
    call_command("helpdesk_config", "apply", str(FIXTURES / "config.json"))
    call_command("import_tickets", str(FIXTURES / "examples.jsonl"))
    return dict(Ticket.objects.values_list("external_id", "pk"))


def test_e4_outcomes_exact(examples):
    states = ticket_sla_states([examples["T-104"], examples["T-105"]], now=AS_OF)
    s104, s105 = states[examples["T-104"]][0], states[examples["T-105"]][0]

    fr = s104.current("first_response")
    assert (fr.target_s, fr.outcome, fr.elapsed_s) == (14400, "achieved", 9000)
    assert fr.due_at == utc("2025-10-30T15:30:00Z") and fr.outcome_at == utc("2025-10-30T14:00:00Z")
    res = s104.current("resolution")
    assert (res.target_s, res.outcome, res.elapsed_s) == (57600, "achieved", 57600)
    assert res.due_at == utc("2025-11-03T16:30:00Z") and res.outcome_at == utc("2025-11-03T16:30:00Z")

    fr = s105.current("first_response")
    assert (fr.outcome, fr.elapsed_s) == ("breached", 19800)
    assert fr.due_at == utc("2025-11-04T17:00:00Z") and fr.outcome_at == utc("2025-11-04T17:00:00Z")
    res = s105.current("resolution")
    assert (res.outcome, res.elapsed_s, res.due_at) == ("achieved", 21600, None)
    assert res.outcome_at == utc("2025-11-04T19:00:00Z")
    # No next-reply target in the policy; other tickets (priority normal) have no SLA.
    assert s104.current("next_reply") is None
    assert [t.target for t in s104.targets] == ["first_response", "resolution"]
    assert ticket_sla_states([examples["T-101"]], now=AS_OF)[examples["T-101"]][0].applies is False
    # Both solved: nothing is due.
    for ext in ("T-104", "T-105"):
        t = Ticket.objects.get(pk=examples[ext])
        assert (t.sla_due_at, t.first_response_due_at, t.resolution_due_at, t.sla_next_check_at) == (None,) * 4


def test_e4_due_instants_while_open_and_paused(examples):
    pk104 = examples["T-104"]
    # In `pending` (Thu 10:00-14:00 local) the resolution clock is paused at 9000 s.
    s = ticket_sla_states([pk104], now=utc("2025-10-30T15:00:00Z"))[pk104][0]
    res = s.current("resolution")
    assert res.paused and res.due_at is None and res.elapsed_s == 9000 and s.due("resolution") is None
    # Running again (open, then on_hold runs by default): due Mon 11:30 EST, across the DST change.
    s = ticket_sla_states([pk104], now=utc("2025-10-30T18:00:00Z"))[pk104][0]
    assert s.due("resolution") == utc("2025-11-03T16:30:00Z")
    s = ticket_sla_states([pk104], now=utc("2025-10-31T16:00:00Z"))[pk104][0]
    assert s.current("resolution").elapsed_s == 9000 + 3600 + 7200 + 10800  # new, open, on_hold Thu, Fri 09-12
    assert s.due("resolution") == utc("2025-11-03T16:30:00Z")

    pk105 = examples["T-105"]
    tickets_sla_refresh(ticket_ids=[pk105], now=utc("2025-11-04T10:00:00Z"))
    t = Ticket.objects.get(pk=pk105)
    assert t.first_response_due_at == utc("2025-11-04T17:00:00Z") == t.sla_due_at
    # 57600 business s from Mon 16:00 EST: 3600 Mon + 28800 Tue + 25200 Wed -> Wed 16:00 EST.
    assert t.resolution_due_at == utc("2025-11-05T21:00:00Z")
    # Warning at 75 % of 14400 = 10800: 3600 Mon + 7200 from Tue 09:00 -> Tue 11:00 EST.
    assert t.sla_next_check_at == utc("2025-11-04T16:00:00Z")

    assert sla_breach_scan(now=utc("2025-11-04T15:59:59Z")).tickets == 0
    r = sla_breach_scan(now=utc("2025-11-04T16:00:00Z"))
    assert (r.warnings, r.breaches) == (1, 0)
    assert Ticket.objects.get(pk=pk105).sla_next_check_at == utc("2025-11-04T17:00:00Z")
    r = sla_breach_scan(now=utc("2025-11-04T17:00:00Z"))
    assert (r.warnings, r.breaches) == (0, 1)
    assert sla_breach_scan(now=utc("2025-11-04T17:00:00Z")).marked == []
    breach = TicketEvent.objects.get(ticket_id=pk105, kind=K.SLA_BREACHED)
    assert breach.data["target"] == "first_response" and breach.data["late_s"] == 0
    assert breach.data["due_at"] == "2025-11-04T17:00:00Z"
    assert breach.occurred_at == utc("2025-11-04T17:00:00Z") and breach.actor_id is None
    # Next: the resolution warning at 43200 business s (Wed 12:00 EST).
    assert Ticket.objects.get(pk=pk105).sla_next_check_at == utc("2025-11-05T17:00:00Z")
    assert SLAMark.objects.filter(ticket_id=pk105).count() == 2


# --- live due instants: DST, holidays, closing time ---------------------------------


@pytest.mark.django_db
def test_due_instants_dst_holiday_and_closing_time():
    queue = sla_queue(calendar=ny_calendar(), targets={"normal": {"first_response": 14400, "business_hours": True}})
    customer = CustomerFactory()
    cases = [
        # Fri 16:00 EDT: 1 h Friday, then Mon 09:00-12:00 EST (the clocks went back on Sunday).
        ("2025-10-31T20:00:00Z", "2025-11-03T17:00:00Z"),
        # Wed 15:00 EST: 2 h Wednesday, Thanksgiving closed, Fri 09:00-11:00.
        ("2025-11-26T20:00:00Z", "2025-11-28T16:00:00Z"),
        # Tue 13:00 EST: the target is reached exactly at 17:00 -> due 17:00, not next morning.
        ("2025-11-04T18:00:00Z", "2025-11-04T22:00:00Z"),
        # Created on a closed Saturday: the clock starts Monday 09:00.
        ("2025-11-08T15:00:00Z", "2025-11-10T18:00:00Z"),
    ]
    for created, due in cases:
        with at(utc(created)):
            t = ticket_make(queue=queue, requester=customer, subject=created)
        t = reload(t)
        assert t.first_response_due_at == utc(due) == t.sla_due_at, created
        assert t.resolution_due_at is None and t.next_reply_due_at is None


# --- pause and resume across reopens ---------------------------------------------------


@pytest.mark.django_db
def test_resolution_pauses_in_pending_and_resumes_across_reopen():
    queue = sla_queue(targets={"normal": {"first_response": 400000, "resolution": 36000, "business_hours": True}})
    agent, customer = AgentFactory(), CustomerFactory()
    t0 = utc("2025-06-02T08:00:00Z")
    h = timedelta(hours=1)
    with at(t0):
        t = ticket_make(queue=queue, requester=customer)
    assert reload(t).resolution_due_at == t0 + 10 * h
    with at(t0 + 2 * h):
        services.ticket_transition(ticket_id=t.pk, target="pending", actor=agent)
    t = reload(t)
    assert t.resolution_due_at is None and t.sla_due_at == t.first_response_due_at == t0 + timedelta(seconds=400000)
    with at(t0 + 5 * h):
        services.ticket_transition(ticket_id=t.pk, target="open", actor=agent)
    assert reload(t).resolution_due_at == t0 + 13 * h  # 2 h used, 8 h left from 05:00
    with at(t0 + 6 * h):
        services.ticket_transition(ticket_id=t.pk, target="solved", actor=agent)
    t = reload(t)
    assert (t.resolution_due_at, t.sla_due_at, t.sla_next_check_at) == (None, None, None)
    # The customer reopens a day later: 3 h were used, solved time never counts.
    with at(t0 + 30 * h):
        services.message_post(ticket_id=t.pk, author=customer, body="Still broken")
    t = reload(t)
    assert t.status == "open" and t.resolution_due_at == t0 + 37 * h
    with at(t0 + 31 * h):
        services.ticket_transition(ticket_id=t.pk, target="on_hold", actor=agent)
    assert reload(t).resolution_due_at == t0 + 37 * h  # on_hold runs by default
    with at(t0 + 32 * h):
        state = ticket_sla_states([t.pk])[t.pk][0]
    assert state.current("resolution").elapsed_s == 5 * 3600


@pytest.mark.django_db
def test_priority_and_queue_changes_move_the_due_instant():
    targets = {
        "normal": {"first_response": 7200, "business_hours": False},
        "urgent": {"first_response": 1800, "business_hours": False},
    }
    queue = sla_queue(targets=targets)
    other = QueueFactory(slug="nosla")
    agent = AgentFactory()
    t0 = utc("2025-06-02T08:00:00Z")
    with at(t0):
        t = ticket_make(queue=queue)
    assert reload(t).first_response_due_at == t0 + timedelta(hours=2)
    with at(t0 + timedelta(minutes=10)):
        services.ticket_set_priority(ticket_id=t.pk, priority="urgent", actor=agent)
    assert reload(t).first_response_due_at == t0 + timedelta(minutes=30)
    with at(t0 + timedelta(minutes=20)):
        services.ticket_move_queue(ticket_id=t.pk, queue=other, actor=agent)
    assert reload(t).sla_due_at is None
    with at(t0 + timedelta(minutes=25)):
        services.ticket_move_queue(ticket_id=t.pk, queue=queue, actor=agent)
        services.message_post(ticket_id=t.pk, author=agent, body="On it")
    t = reload(t)
    assert (t.first_response_due_at, t.sla_due_at) == (None, None)


@pytest.mark.django_db
def test_next_reply_cycles():
    queue = sla_queue(targets={"normal": {"next_reply": 3600, "business_hours": False}})
    agent, customer = AgentFactory(), CustomerFactory()
    t0 = utc("2025-06-02T08:00:00Z")
    with at(t0):
        t = ticket_make(queue=queue, requester=customer)
    assert reload(t).next_reply_due_at is None  # no first reply yet
    with at(t0 + timedelta(minutes=5)):
        services.message_post(ticket_id=t.pk, author=agent, body="Hi")
    with at(t0 + timedelta(minutes=10)):
        services.message_post(ticket_id=t.pk, author=customer, body="More info")
    with at(t0 + timedelta(minutes=20)):
        services.message_post(ticket_id=t.pk, author=customer, body="And more")  # same run
    assert reload(t).next_reply_due_at == t0 + timedelta(minutes=70)
    with at(t0 + timedelta(minutes=30)):
        services.message_post(ticket_id=t.pk, author=agent, body="Thanks")
    assert reload(t).next_reply_due_at is None
    with at(t0 + timedelta(hours=3)):
        services.message_post(ticket_id=t.pk, author=customer, body="Again")
    assert reload(t).next_reply_due_at == t0 + timedelta(hours=4)
    with at(t0 + timedelta(hours=4)):
        r = sla_breach_scan()
    assert r.marked == [(t.pk, "breach", "next_reply", 2)]
    states = ticket_sla_states([t.pk], now=t0 + timedelta(hours=5))[t.pk][0]
    assert [(x.cycle, x.outcome) for x in states.targets] == [(1, "achieved"), (2, "breached")]


# --- warnings, breaches, escalations --------------------------------------------------


@pytest.mark.django_db
def test_warning_threshold_then_breach_each_once():
    queue = sla_queue(targets={"normal": {"first_response": 3600, "business_hours": False}}, warning_fraction=0.5)
    agent = AgentFactory()
    t0 = utc("2025-06-02T08:00:00Z")
    with at(t0):
        t = ticket_make(queue=queue)
        services.ticket_assign(ticket_id=t.pk, assignee=agent, actor=None)
    assert reload(t).sla_next_check_at == t0 + timedelta(minutes=30)
    with at(t0 + timedelta(minutes=29, seconds=59)):
        assert sla_breach_scan().tickets == 0
    with at(t0 + timedelta(minutes=30)):
        r = sla_breach_scan()
        assert (r.warnings, r.breaches) == (1, 0)
        assert sla_breach_scan().tickets == 0
    warning = TicketEvent.objects.get(ticket_id=t.pk, kind=K.SLA_WARNING)
    assert warning.data["target"] == "first_response" and warning.data["elapsed_s"] == 1800
    assert Notification.objects.filter(event=warning, recipient=agent, kind="sla_warning").count() == 1
    assert reload(t).sla_next_check_at == t0 + timedelta(hours=1)
    with at(t0 + timedelta(hours=1, seconds=20)):
        r = sla_breach_scan()
        assert (r.warnings, r.breaches) == (0, 1)
        assert sla_breach_scan().tickets == 0
    assert TicketEvent.objects.get(ticket_id=t.pk, kind=K.SLA_BREACHED).data["late_s"] == 20
    assert TicketEvent.objects.filter(ticket_id=t.pk, kind__startswith="sla.").count() == 2
    t = reload(t)
    assert t.sla_next_check_at is None and t.sla_due_at == t0 + timedelta(hours=1)  # breached, still open


@pytest.mark.django_db
def test_breach_escalations_raise_priority_notify_manager_reassign():
    manager = ManagerFactory()
    billing = QueueFactory(slug="billing", kind="service")
    targets = {
        "normal": {"first_response": 3600, "business_hours": False},
        "high": {"first_response": 3600, "business_hours": False},
    }
    escalations = [
        {"on": "breach", "action": "raise_priority"},
        {"on": "breach", "action": "notify_manager", "targets": ["first_response"]},
        {"on": "breach", "action": "reassign", "queue": "billing"},
        {"on": "breach", "action": "raise_priority", "targets": ["resolution"]},  # not this target
    ]
    queue = sla_queue(slug="tech", targets=targets, escalations=escalations)
    t0 = utc("2025-06-02T08:00:00Z")
    with at(t0):
        t = ticket_make(queue=queue)
    with at(t0 + timedelta(hours=1)):
        r = sla_breach_scan()
        assert (r.breaches, r.escalations) == (1, 3)
        assert sla_breach_scan().tickets == 0
    t = reload(t)
    assert (t.priority, t.queue_id, t.kind) == ("high", billing.pk, "service")
    kinds = list(
        TicketEvent.objects.filter(ticket_id=t.pk, occurred_at=t0 + timedelta(hours=1))
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == [
        K.SLA_BREACHED,
        K.SLA_ESCALATED,
        K.PRIORITY,
        K.SLA_ESCALATED,
        K.SLA_ESCALATED,
        K.QUEUE,
    ]
    actions = [
        e.data["action"] for e in TicketEvent.objects.filter(ticket_id=t.pk, kind=K.SLA_ESCALATED).order_by("id")
    ]
    assert actions == ["raise_priority", "notify_manager", "reassign"]
    notify = TicketEvent.objects.get(ticket_id=t.pk, kind=K.SLA_ESCALATED, data__action="notify_manager")
    assert notify.data["recipients"] == [manager.pk]
    assert Notification.objects.filter(event=notify, recipient=manager).count() == 1
    assert TicketEvent.objects.get(ticket_id=t.pk, kind=K.PRIORITY).actor_id is None
    # The billing queue has no policy: nothing is due any more.
    assert (t.sla_due_at, t.sla_next_check_at) == (None, None)


@pytest.mark.django_db
def test_escalation_that_moves_the_due_instant_into_the_past_breaches_in_the_same_scan():
    """A warning escalation raises the priority; the high-priority target is
    shorter, so first response is already overdue. The breach is marked by
    the same scan (late by the escalation's own lateness, 600 s), not a
    minute or more later as before the fix (the next check was pushed to
    now + 60 s). An agent's priority change schedules the check at the new
    due instant."""
    targets = {
        "normal": {"first_response": 3600, "business_hours": False},
        "high": {"first_response": 1200, "business_hours": False},
    }
    escalations = [{"on": "warning", "action": "raise_priority"}]
    queue = sla_queue(targets=targets, warning_fraction=0.5, escalations=escalations)
    t0 = utc("2025-06-02T08:00:00Z")
    with at(t0):
        t = ticket_make(queue=queue)
    now = t0 + timedelta(minutes=30)
    with at(now):
        r = sla_breach_scan()
        assert (r.warnings, r.escalations, r.breaches) == (1, 1, 1)
        assert sla_breach_scan().tickets == 0
    breach = TicketEvent.objects.get(ticket_id=t.pk, kind=K.SLA_BREACHED)
    assert breach.occurred_at == now and breach.data["late_s"] == 600
    t = reload(t)
    assert t.priority == "high" and t.sla_next_check_at is None

    with at(t0):
        other = ticket_make(queue=queue)
    with at(now - timedelta(minutes=5)):
        services.ticket_set_priority(ticket_id=other.pk, priority="high", actor=None)
    assert reload(other).sla_next_check_at == t0 + timedelta(minutes=20)  # the due instant, not later


# --- exactly once under concurrency ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_scans_mark_each_breach_once():
    queue = sla_queue(targets={"normal": {"first_response": 60, "business_hours": False}})
    customer = CustomerFactory()
    past = datetime.now(UTC) - timedelta(minutes=10)
    tickets = [ticket_make(queue=queue, requester=customer, occurred_at=past) for _ in range(40)]
    assert all(reload(t).sla_next_check_at == past + timedelta(seconds=60) for t in tickets)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(sla_breach_scan(batch=7))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert sum(r.breaches for r in results) == 40
    events = TicketEvent.objects.filter(kind=K.SLA_BREACHED)
    assert events.count() == 40 and len(set(events.values_list("ticket_id", flat=True))) == 40
    assert SLAMark.objects.filter(kind="breach").count() == 40
    assert sla_breach_scan().breaches == 0


@pytest.mark.django_db(transaction=True)
def test_mark_insert_is_exactly_once_between_two_transactions():
    """The unique row: the second writer waits for the first and inserts nothing."""
    t = ticket_make(queue=QueueFactory())
    now = datetime.now(UTC)
    first_in = threading.Event()
    out = {}

    def first():
        with transaction.atomic():
            out["a"] = _mark(t.pk, "breach", "first_response", 0, now, now)
            first_in.set()
            threading.Event().wait(0.5)
        connection.close()

    def second():
        first_in.wait()
        with transaction.atomic():
            out["b"] = _mark(t.pk, "breach", "first_response", 0, now, now)
        connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert out["a"] is not None and out["b"] is None
    assert SLAMark.objects.count() == 1


# --- configuration ------------------------------------------------------------------------


@pytest.mark.django_db
def test_config_round_trip_and_dry_run_counts_sla_state_changes():
    doc = json.loads((FIXTURES / "config.json").read_text())
    doc["sla_policies"][0]["targets"]["normal"] = {"first_response": 7200, "next_reply": 3600, "business_hours": False}
    doc["sla_policies"][0]["warning_fraction"] = 0.5
    doc["sla_policies"][0]["escalations"] = [
        {"on": "breach", "action": "reassign", "queue": "tier2", "targets": ["first_response"]},
        {"on": "warning", "action": "notify_manager"},
    ]
    doc["queues"][0]["auto_close_days"] = 2
    doc["queues"][0]["pending_reminder_days"] = 3
    config.config_apply(doc)
    dumped = config.config_dump()
    pol = dumped["sla_policies"][0]
    assert pol["warning_fraction"] == 0.5 and len(pol["escalations"]) == 2
    assert pol["targets"]["normal"] == {"business_hours": False, "first_response": 7200, "next_reply": 3600}
    assert dumped["queues"][0]["auto_close_days"] == 2 and dumped["queues"][0]["pending_reminder_days"] == 3
    assert not config.config_apply(dumped).has_changes

    tier1 = Queue.objects.get(slug="tier1")
    normal = [ticket_make(queue=tier1) for _ in range(3)]
    low = ticket_make(queue=tier1, priority="low")  # no target for low: unaffected
    before = {t.pk: reload(t).first_response_due_at for t in normal}
    assert all(before.values()) and reload(low).sla_due_at is None
    dumped["sla_policies"][0]["targets"]["normal"]["first_response"] = 3600
    report = config.config_apply(dumped, dry_run=True)
    assert report.sla_affected_open_tickets == 4 and report.sla_state_changed_open_tickets == 3
    assert "open tickets whose SLA due instants would change: 3" in report.lines()[-1]
    assert {t.pk: reload(t).first_response_due_at for t in normal} == before  # rolled back
    config.config_apply(dumped)
    assert all(reload(t).first_response_due_at == before[t.pk] - timedelta(hours=1) for t in normal)


@pytest.mark.django_db
def test_config_rejects_bad_sla_extras():
    doc = {
        "sla_policies": [
            {"name": "P", "warning_fraction": 1.5, "escalations": [{"on": "later", "action": "explode"}]},
        ],
        "queues": [{"slug": "q", "name": "Q", "kind": "support", "auto_close_days": -1}],
    }
    paths = {p.path for p in config.config_validate(doc)}
    assert {
        "sla_policies[0].warning_fraction",
        "sla_policies[0].escalations[0].on",
        "sla_policies[0].escalations[0].action",
        "queues[0].auto_close_days",
    } <= paths


# --- workspace lists and badge --------------------------------------------------------------


@pytest.mark.django_db
def test_at_risk_and_breached_lists_and_badge():
    queue = sla_queue(targets={"normal": {"first_response": 3600, "business_hours": False}})
    agent, outsider = AgentFactory(), AgentFactory()
    queue.members.add(agent)
    now = datetime.now(UTC)
    breached = ticket_make(queue=queue, occurred_at=now - timedelta(hours=2))
    risky = ticket_make(queue=queue, occurred_at=now - timedelta(minutes=40))
    calm = ticket_make(queue=queue)
    ticket_make(queue=QueueFactory(slug="plain"))
    assert list(selectors.ticket_sla_breached_for_user(user=agent, now=now)) == [reload(breached)]
    at_risk = selectors.ticket_sla_at_risk_for_user(user=agent, within_s=3600, now=now)
    assert list(at_risk) == [reload(risky)]
    assert list(selectors.ticket_sla_at_risk_for_user(user=agent, within_s=7200, now=now)) == [
        reload(risky),
        reload(calm),
    ]
    assert not selectors.ticket_sla_breached_for_user(user=outsider, now=now).exists()

    tpl = Template("{% load sla_tags %}{% sla_badge t now %}")
    html = tpl.render(Context({"t": reload(breached), "now": now}))
    assert "breached 1h 0m ago" in html and "sla-breached" in html
    html = tpl.render(Context({"t": reload(risky), "now": now}))
    assert "due in 20m" in html and "sla-at_risk" in html
    assert "sla-ok" in tpl.render(Context({"t": reload(calm), "now": now}))


# --- time-based automations ----------------------------------------------------------------


@pytest.mark.django_db
def test_auto_close_days_per_queue(settings):
    settings.HELPDESK_AUTO_CLOSE_DAYS = 4
    agent = AgentFactory()
    fast = QueueFactory(slug="fast", auto_close_days=1)
    default = QueueFactory(slug="default")
    never = QueueFactory(slug="never", auto_close_days=0)
    t0 = utc("2025-06-02T08:00:00Z")
    tickets = {}
    for q in (fast, default, never):
        with at(t0):
            tickets[q.slug] = ticket_make(queue=q, subject=q.slug)
            services.ticket_transition(ticket_id=tickets[q.slug].pk, target="solved", actor=agent)
    with at(t0 + timedelta(days=2)):
        assert services.tickets_auto_close_solved() == 1
    assert {s: reload(t).status for s, t in tickets.items()} == {
        "fast": "closed",
        "default": "solved",
        "never": "solved",
    }
    with at(t0 + timedelta(days=5)):
        assert services.tickets_auto_close_solved() == 1
        assert services.tickets_auto_close_solved() == 0
    assert {s: reload(t).status for s, t in tickets.items()} == {
        "fast": "closed",
        "default": "closed",
        "never": "solved",
    }
    event = TicketEvent.objects.filter(ticket_id=tickets["fast"].pk, kind=K.STATUS).latest("id")
    assert event.data["to"] == "closed" and event.actor_role == "system"
    assert event.occurred_at == t0 + timedelta(days=2)


@pytest.mark.django_db
def test_pending_reminder_once_per_pending_period():
    from tickets.sla_services import tickets_remind_pending

    queue = QueueFactory(slug="remind", pending_reminder_days=2)
    QueueFactory(slug="quiet")  # no reminders configured
    agent, customer = AgentFactory(), CustomerFactory()
    t0 = utc("2025-06-02T08:00:00Z")
    with at(t0):
        t = ticket_make(queue=queue, requester=customer)
        services.message_post(ticket_id=t.pk, author=agent, body="Can you send a screenshot?")
        services.ticket_transition(ticket_id=t.pk, target="pending", actor=agent)
    with at(t0 + timedelta(days=1, hours=23)):
        assert tickets_remind_pending() == 0
    with at(t0 + timedelta(days=2)):
        assert tickets_remind_pending() == 1
        assert tickets_remind_pending() == 0
    reminder = TicketEvent.objects.filter(ticket_id=t.pk, kind=K.MESSAGE).latest("id")
    assert reminder.is_automated and reminder.actor_id is None and reminder.data["author_role"] == "system"
    assert reminder.visibility == "public" and reminder.occurred_at == t0 + timedelta(days=2)
    assert Notification.objects.filter(event=reminder, recipient=customer).count() == 1
    assert reload(t).status == "pending"  # a reminder changes nothing else
    # A new pending period gets its own reminder.
    with at(t0 + timedelta(days=3)):
        services.message_post(ticket_id=t.pk, author=customer, body="Here it is")
        assert reload(t).status == "open"
        services.ticket_transition(ticket_id=t.pk, target="pending", actor=agent)
    with at(t0 + timedelta(days=5)):
        assert tickets_remind_pending() == 1
    assert SLAMark.objects.filter(ticket_id=t.pk, kind="reminder").count() == 2
