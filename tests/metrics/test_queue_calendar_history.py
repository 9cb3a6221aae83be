"""Which calendar a queue uses is history too (docs/metrics.md#calendar-assignments):
a change is recorded from its instant on every path (config file, API,
Settings page, Django admin, even a raw update), business time at an instant
uses the calendar assigned then, and no earlier value ever moves: rebuilt as
of an earlier instant, rebuilt now, or incrementally."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from metrics.models import TicketMetrics
from metrics.services import tickets_recompute
from tests.factories import AgentFactory, ticket_make
from tests.metrics.histories import apply_action
from tests.metrics.test_calendar_versions import (
    BASE,
    MORNINGS,
    NINE_FIVE,
    NY,
    _diff,
    _rebuild,
    _rollups,
    _rows,
    utc,
)
from tickets import services
from tickets.clock_context import clock_context
from tickets.config import config_apply
from tickets.models import Calendar, Queue, QueueCalendarChange, Ticket
from tickets.sla_services import tickets_sla_refresh

CHANGE = utc("2025-11-05T12:00:00-05:00")
CREATED = utc("2025-11-04T15:00:00-05:00")
REPLIED = utc("2025-11-06T10:00:00-05:00")


def _desk() -> Queue:
    config_apply(
        {
            "calendars": [
                {"name": "NY", "timezone": NY, "hours": NINE_FIVE},
                {"name": "Mornings", "timezone": NY, "hours": MORNINGS},
                {"name": "Tokyo", "timezone": "Asia/Tokyo", "hours": {"mon": [["09:00", "18:00"]]}},
            ],
            "sla_policies": [
                {
                    "name": "Std",
                    "targets": {p: {"first_response": 28800, "business_hours": True} for p in Ticket.Priority},
                }
            ],
            "queues": [
                {"slug": "support", "name": "Support", "kind": "support", "calendar": "NY", "sla_policy": "Std"},
                {"slug": "care", "name": "Care", "kind": "service", "calendar": "Tokyo", "sla_policy": "Std"},
            ],
        }
    )
    return Queue.objects.get(slug="support")


def _use(calendar: str | None, *, at: datetime) -> None:
    """Point the queue at another calendar through the config document at instant `at`."""
    item = {"slug": "support", "name": "Support", "kind": "support", "calendar": calendar, "sla_policy": "Std"}
    with time_machine.travel(at, tick=False):
        config_apply({"queues": [item]})


def _assignments(queue) -> list[tuple]:
    rows = QueueCalendarChange.objects.filter(queue=queue).order_by("pk")
    return [(r.effective_from, r.calendar.name if r.calendar else None) for r in rows]


# --- the hand-checked example --------------------------------------------------------
#
# Queue on NY 09:00-17:00 Mon-Fri; at Wed 2025-11-05 12:00 NY a manager points
# it at "Mornings" (09:00-13:00). Ticket created Tue 15:00 NY, replied Thu 10:00 NY:
#   NY, [Tue 15:00, Wed 12:00): Tue 15-17 = 2 h, Wed 09-12 = 3 h   -> 18000 s
#   Mornings, [Wed 12:00, Thu 10:00): Wed 12-13 = 1 h, Thu 09-10 = 1 h -> 7200 s
#   business FRT = 25200 s (before the fix: Mornings for the whole past = 18000 s)
# The 8-business-hour target from Tue 15:00, computed Tue 15:05, was due Wed 15:00 NY;
# after the change it is due Thu 11:00 NY. Then at Thu 10:30 NY the queue goes
# round the clock (no calendar): a second ticket created Wed 09:00 NY and replied
# Thu 12:00 NY counts Wed 09-12 (NY, 3 h) + Wed 12-13 and Thu 09-10:30 (Mornings,
# 2.5 h) + Thu 10:30-12:00 (24/7, 1.5 h) = 25200 s.


@pytest.mark.django_db
def test_hand_checked_queue_calendar_change():
    queue = _desk()
    ticket = ticket_make(queue=queue, occurred_at=CREATED)
    with time_machine.travel(CREATED + timedelta(minutes=5), tick=False):
        tickets_sla_refresh(ticket_ids=[ticket.pk])
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == utc("2025-11-05T15:00:00-05:00")
    tickets_recompute(ticket_ids=[ticket.pk], as_of=CHANGE - timedelta(minutes=1))
    before = TicketMetrics.objects.get(ticket_id=ticket.pk).sla_first_reply_elapsed_s

    _use("Mornings", at=CHANGE)
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == utc("2025-11-06T11:00:00-05:00")
    assert _assignments(queue) == [(None, "NY"), (CHANGE, "Mornings")]
    tickets_recompute(ticket_ids=[ticket.pk], as_of=CHANGE - timedelta(minutes=1))
    assert TicketMetrics.objects.get(ticket_id=ticket.pk).sla_first_reply_elapsed_s == before == 5 * 3600 - 60

    agent = AgentFactory()
    services.message_post(ticket_id=ticket.pk, author=agent, body="r", occurred_at=REPLIED, apply_rules=False)
    tickets_recompute(ticket_ids=[ticket.pk], as_of=REPLIED + timedelta(days=1))
    m = TicketMetrics.objects.get(ticket_id=ticket.pk)
    assert (m.frt_cal_s, m.frt_bus_s) == (2 * 86400 - 5 * 3600, 25200)

    second = ticket_make(queue=queue, occurred_at=utc("2025-11-05T09:00:00-05:00"))
    _use(None, at=utc("2025-11-06T10:30:00-05:00"))
    assert _assignments(queue)[-1] == (utc("2025-11-06T10:30:00-05:00"), None)
    at = utc("2025-11-06T12:00:00-05:00")
    services.message_post(ticket_id=second.pk, author=agent, body="r", occurred_at=at, apply_rules=False)
    tickets_recompute(ticket_ids=[second.pk, ticket.pk], as_of=at + timedelta(days=1))
    assert TicketMetrics.objects.get(ticket_id=second.pk).frt_bus_s == 25200
    assert TicketMetrics.objects.get(ticket_id=ticket.pk).frt_bus_s == 25200  # unmoved


# --- every path records the change -----------------------------------------------------


@pytest.fixture
def desk(db):
    return _desk()


def test_settings_page_records_a_change_from_now(client, manager, desk):
    client.force_login(manager)
    mornings = Calendar.objects.get(name="Mornings")
    before = timezone.now()
    response = client.post(
        f"/settings/queues/{desk.pk}/",
        {"name": "Support", "kind": "support", "auto_assign": "none", "calendar": mornings.pk, "is_active": "on"},
    )
    assert response.status_code == 302
    (first, second) = _assignments(desk)
    assert first == (None, "NY") and second[1] == "Mornings" and before <= second[0] <= timezone.now()
    # Saving again without a change records nothing.
    client.post(
        f"/settings/queues/{desk.pk}/",
        {"name": "Support", "kind": "support", "auto_assign": "none", "calendar": mornings.pk, "is_active": "on"},
    )
    assert len(_assignments(desk)) == 2
    # The page lists the history, newest first, with who changed it.
    html = client.get(f"/settings/queues/{desk.pk}/").content.decode()
    table = html[html.index('id="queue-calendar-history"') :]
    assert table.index("Mornings") < table.index("NY") and manager.email in table and "the beginning" in table


def test_api_and_config_file_record_a_change(client, manager, desk, tmp_path):
    from django.core.management import call_command

    client.force_login(manager)
    item = {"slug": "support", "name": "Support", "kind": "support", "calendar": "Tokyo", "sla_policy": "Std"}
    response = client.put("/api/v1/config/", json.dumps({"queues": [item]}), content_type="application/json")
    assert response.status_code == 200, response.content
    assert [name for _, name in _assignments(desk)] == ["NY", "Tokyo"]
    dry = client.put(
        "/api/v1/config/?dry_run=1",
        json.dumps({"queues": [{**item, "calendar": "NY"}]}),
        content_type="application/json",
    )
    assert dry.status_code == 200 and len(_assignments(desk)) == 2  # a dry run writes nothing
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"queues": [{**item, "calendar": None}]}))
    call_command("helpdesk_config", "apply", str(path))
    assert [name for _, name in _assignments(desk)] == ["NY", "Tokyo", None]


def test_django_admin_records_a_change_and_a_new_queue(admin_client, desk):
    base = {"slug": "support", "name": "Support", "kind": "support", "auto_assign": "none", "is_active": "on"}
    base |= {"queuemembership_set-TOTAL_FORMS": "0", "queuemembership_set-INITIAL_FORMS": "0"}
    mornings = Calendar.objects.get(name="Mornings")
    response = admin_client.post(f"/admin/tickets/queue/{desk.pk}/change/", {**base, "calendar": mornings.pk})
    assert response.status_code == 302
    assert [name for _, name in _assignments(desk)] == ["NY", "Mornings"]
    response = admin_client.post("/admin/tickets/queue/add/", {**base, "slug": "vip", "calendar": mornings.pk})
    assert response.status_code == 302
    assert _assignments(Queue.objects.get(slug="vip")) == [(None, "Mornings")]


def test_a_raw_update_is_recorded_when_first_seen_not_applied_to_the_past(desk):
    tokyo = Calendar.objects.get(name="Tokyo")
    Queue.objects.filter(pk=desk.pk).update(calendar=tokyo)  # behind every service's back
    seen = timezone.now()
    clock_context()
    (first, second) = _assignments(desk)
    assert first == (None, "NY") and second[1] == "Tokyo" and second[0] >= seen


def test_a_calendar_a_queue_used_cannot_be_deleted(client, manager, desk):
    _use("Mornings", at=timezone.now())
    ny = Calendar.objects.get(name="NY")
    client.force_login(manager)
    response = client.post(f"/settings/calendars/{ny.pk}/delete/", follow=True)
    assert response.status_code == 200 and Calendar.objects.filter(pk=ny.pk).exists()
    assert "past business-hours values depend on it" in response.content.decode()


# --- the property: a change of calendar never moves an earlier value -----------------

CHOICES = st.sampled_from(["Mornings", "Tokyo", None])
ACTIONS = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["reply", "customer", "solve", "reopen", "pending", "move"]),
        st.integers(600, 10 * 3600),
    ),
    min_size=1,
    max_size=18,
)


def _history(actions) -> dict[int, datetime]:
    """Random events on three tickets of "support", some escalated to "care" and
    back (each queue's own calendar while the ticket is there); id -> last event instant."""
    queues = {q.slug: q for q in Queue.objects.all()}
    agent = AgentFactory()
    tickets = [ticket_make(queue=queues["support"], occurred_at=BASE) for _ in range(3)]
    last = {t.pk: BASE for t in tickets}
    for idx, action, secs in actions:
        t = tickets[idx]
        t.refresh_from_db()
        at = last[t.pk] + timedelta(seconds=secs)
        last[t.pk] = at
        if apply_action(action, t, agent, at):
            continue
        if action == "move" and t.status != "closed":
            other = queues["care"] if t.queue_id == queues["support"].pk else queues["support"]
            services.ticket_move_queue(ticket_id=t.pk, queue=other, actor=agent, reason="r", occurred_at=at)
    return last


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: the diff says it all
)
@given(
    actions=ACTIONS,
    target=CHOICES,
    offset=st.integers(6 * 3600, 5 * 86400),  # after some events: an empty past proves nothing
    back=st.integers(1, 86400),
)
def test_a_queue_calendar_change_never_moves_an_earlier_value(db, actions, target, offset, back):
    """Random histories (with escalations to a queue on another calendar and
    back), the first queue pointed at a random other calendar (or none) at E:
    a rebuild as of any instant before E gives the same rows before and after;
    a rebuild now the same rows for every ticket resolved with all its events
    before E; the incremental path equals the rebuild."""
    with transaction.atomic():
        _desk()
        last = _history(actions)
        effective = BASE + timedelta(seconds=offset)
        as_of = max(BASE, effective - timedelta(seconds=back))
        _rebuild("--as-of", as_of.isoformat())
        before_as_of = _rows(effective)
        _rebuild("--inline")
        before_now = _rows(effective)

        _use(target, at=effective)

        _rebuild("--as-of", as_of.isoformat())
        assert _diff(_rows(effective), before_as_of) == {}
        _rebuild("--inline")
        after_now = _rows(effective)
        for pk, row in before_now.items():
            if last[pk] < effective and row["status"] in ("solved", "closed"):
                assert _diff({pk: after_now[pk]}, {pk: row}) == {}
            elif last[pk] < effective and row["frt_bus_s"] is not None:
                assert after_now[pk]["frt_bus_s"] == row["frt_bus_s"], pk

        now = datetime.now(UTC)
        tickets_recompute(ticket_ids=list(last), as_of=now)
        incremental, incremental_rollups = _rows(effective), _rollups()
        _rebuild("--as-of", now.isoformat(), "--reset")
        assert _diff(_rows(effective), incremental) == {}
        assert _rollups() == incremental_rollups
        transaction.set_rollback(True)
