"""Calendar versions (docs/metrics.md#calendar-versions): business time with
the version in force at each instant; an edit never moves an earlier value,
neither in the incremental path nor in `metrics_rebuild`."""

import io
import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from helpdesk.lib.business_hours import BusinessCalendar, VersionedCalendar
from metrics import rollup
from metrics.models import DashboardRollup, TicketMetrics
from metrics.services import tickets_recompute
from tests.factories import AgentFactory, CustomerFactory, ticket_make
from tests.metrics.histories import apply_action
from tickets import services
from tickets.config import config_apply
from tickets.models import Calendar, CalendarVersion, Queue, Ticket
from tickets.sla_services import tickets_sla_refresh

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
NINE_FIVE = {d: [["09:00", "17:00"]] for d in WEEKDAYS}
MORNINGS = {d: [["09:00", "13:00"]] for d in WEEKDAYS}
NY = "America/New_York"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- the hand-checked example ----------------------------------------------------
#
# Calendar NY 09:00-17:00 Mon-Fri; a version effective Wed 2025-11-05 12:00 NY
# (17:00Z) keeps only 09:00-13:00. Ticket created Tue 15:00 NY, first reply
# Thu 10:00 NY.
#   version 1, [Tue 15:00, Wed 12:00): Tue 15-17 = 2 h, Wed 09-12 = 3 h -> 18000 s
#   version 2, [Wed 12:00, Thu 10:00): Wed 12-13 = 1 h, Thu 09-10 = 1 h ->  7200 s
#   business FRT = 25200 s (version 1 alone: 39600 s; version 2 alone: 18000 s)
# First-reply target 8 business hours from Tue 15:00: 2 h Tue, 3 h Wed morning
# (version 1), then Wed 12-13 (1 h) and Thu 09-11 (2 h): due Thu 11:00 NY (16:00Z).
# With version 1 alone it would be due Wed 15:00 NY (20:00Z).
CHANGE = utc("2025-11-05T12:00:00-05:00")
CREATED = utc("2025-11-04T15:00:00-05:00")
REPLIED = utc("2025-11-06T10:00:00-05:00")


def test_versioned_calendar_splits_an_interval_at_the_effective_instant():
    v1, v2 = BusinessCalendar(NY, NINE_FIVE), BusinessCalendar(NY, MORNINGS)
    cal = VersionedCalendar([(float("-inf"), v1), (CHANGE.timestamp(), v2)])
    assert cal.seconds(CREATED, REPLIED) == 25200
    assert v1.seconds(CREATED, REPLIED) == 39600 and v2.seconds(CREATED, REPLIED) == 18000
    assert cal.add(CREATED, 8 * 3600) == utc("2025-11-06T11:00:00-05:00")
    assert v1.add(CREATED, 8 * 3600) == utc("2025-11-05T15:00:00-05:00")
    # Additive across the change, and exactly at it.
    assert cal.seconds(CREATED, CHANGE) + cal.seconds(CHANGE, REPLIED) == 25200
    assert cal.add(CREATED, 18000) == CHANGE
    assert cal.is_open_ts(utc("2025-11-05T14:00:00-05:00").timestamp()) is False
    assert cal.is_open_ts(utc("2025-11-04T14:00:00-05:00").timestamp()) is True


def _setup_desk() -> Queue:
    config_apply(
        {
            "calendars": [{"name": "NY", "timezone": NY, "hours": NINE_FIVE}],
            "sla_policies": [
                {
                    "name": "Std",
                    "targets": {p: {"first_response": 28800, "business_hours": True} for p in Ticket.Priority},
                }
            ],
            "queues": [
                {"slug": "support", "name": "Support", "kind": "support", "calendar": "NY", "sla_policy": "Std"}
            ],
        }
    )
    return Queue.objects.get(slug="support")


def _edit(hours, *, at: datetime, effective_from: datetime | None = None, **content) -> None:
    """Change the calendar through the config document at instant `at`."""
    item = {"name": "NY", "timezone": NY, "hours": hours} | content
    if effective_from is not None:
        item["effective_from"] = effective_from.isoformat()
    with time_machine.travel(at, tick=False):
        config_apply({"calendars": [item]})


@pytest.mark.django_db
def test_hand_checked_ticket_spanning_a_version_change():
    """The same example through the SLA service (a scheduled change moves
    the open ticket's due instant) and the metrics row."""
    queue = _setup_desk()
    ticket = ticket_make(queue=queue, occurred_at=CREATED)
    with time_machine.travel(CREATED + timedelta(minutes=5), tick=False):
        tickets_sla_refresh(ticket_ids=[ticket.pk])
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == utc("2025-11-05T15:00:00-05:00")
    # Tue 16:00 NY: a manager schedules mornings-only from Wed 12:00.
    _edit(MORNINGS, at=utc("2025-11-04T16:00:00-05:00"), effective_from=CHANGE)
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == utc("2025-11-06T11:00:00-05:00")
    versions = list(CalendarVersion.objects.filter(calendar__name="NY").order_by("pk"))
    assert [v.effective_from for v in versions] == [None, CHANGE]
    assert Calendar.objects.get(name="NY").hours == MORNINGS  # the row shows the latest version

    services.message_post(ticket_id=ticket.pk, author=AgentFactory(), body="r", occurred_at=REPLIED, apply_rules=False)
    tickets_recompute(ticket_ids=[ticket.pk], as_of=REPLIED + timedelta(days=1))
    m = TicketMetrics.objects.get(ticket_id=ticket.pk)
    assert (m.frt_cal_s, m.frt_bus_s) == (2 * 86400 - 5 * 3600, 25200)
    assert m.sla_first_reply_outcome == "achieved" and m.sla_first_reply_elapsed_s == 25200


# --- the property: an edit never moves an earlier value ---------------------------

BASE = datetime(2025, 11, 3, 14, 0, tzinfo=UTC)
ACTIONS = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["reply", "customer", "solve", "reopen", "pending", "csat"]),
        st.integers(600, 10 * 3600),
    ),
    min_size=1,
    max_size=18,
)
DAY_HOURS = st.sampled_from([[], [["09:00", "17:00"]], [["08:00", "12:00"], ["13:00", "18:00"]], [["00:00", "24:00"]]])
EDITS = st.fixed_dictionaries(
    {
        "timezone": st.sampled_from([NY, "Europe/Paris", "UTC", "Asia/Tokyo"]),
        # Monday always has hours: a calendar never open has no SLA due instant at all (docs/metrics.md).
        "hours": st.fixed_dictionaries(
            {"mon": DAY_HOURS.filter(bool), **dict.fromkeys(("tue", "wed", "thu", "fri", "sat"), DAY_HOURS)}
        ),
        "holidays": st.lists(st.sampled_from(["2025-11-05", "2025-11-06", "2025-11-11"]), unique=True),
    }
)
SKIP = {"computed_at", "as_of", "definition_version"}
FORECASTS = ("sla_first_reply_breach_at", "sla_resolution_breach_at", "sla_next_breach_at")


def _history(actions, seed) -> dict[int, datetime]:
    """Random events on three tickets; ticket id -> its last event instant."""
    rnd = random.Random(seed)
    queue = Queue.objects.get(slug="support")
    agent = AgentFactory()
    tickets = [ticket_make(queue=queue, requester=CustomerFactory(), occurred_at=BASE) for _ in range(3)]
    last = {t.pk: BASE for t in tickets}
    for idx, action, secs in actions:
        t = tickets[idx]
        t.refresh_from_db()
        at = last[t.pk] + timedelta(seconds=secs)
        last[t.pk] = at
        if apply_action(action, t, agent, at):
            continue
        if action == "csat":
            services.survey_respond(ticket_id=t.pk, survey="csat", value=rnd.randint(1, 5), occurred_at=at)
    return last


def _rows(effective: datetime) -> dict[int, dict]:
    """Every stored metrics row (forecast instants at or after `effective` blanked)."""
    out = {}
    for m in TicketMetrics.objects.order_by("ticket_id").values():
        row = {k: v for k, v in m.items() if k not in SKIP}
        row["data"] = dict(row["data"] or {})
        for where, name in [*((row, f) for f in FORECASTS), *((row["data"], f) for f in FORECASTS)]:
            value = where.get(name)
            if isinstance(value, str):
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if value is not None and value >= effective:
                where[name] = "after the change"
        out[m["ticket_id"]] = row
    return out


def _diff(after: dict[int, dict], before: dict[int, dict]) -> dict[int, dict]:
    """ticket id -> {field: (after, before)} of the values that moved."""
    out = {}
    for pk, row in before.items():
        new = after.get(pk, {})
        moved = {k: (new.get(k), v) for k, v in row.items() if new.get(k) != v and k != "data"}
        data_new, data_old = new.get("data") or {}, row.get("data") or {}
        moved |= {f"data.{k}": (data_new.get(k), v) for k, v in data_old.items() if data_new.get(k) != v}
        if moved:
            out[pk] = moved
    return out


def _rebuild(*args: str) -> None:
    call_command("metrics_rebuild", *args, stdout=io.StringIO(), stderr=io.StringIO())


def _rollups() -> dict:
    """Non-zero dashboard cells, weeks and months folded (sum_s up to float summation order)."""
    rollup.fold()
    return {
        (r.dim, r.key, r.metric, r.span, r.start, r.kind, r.bin): (r.n, round(r.sum_s, 6), r.num, r.den)
        for r in DashboardRollup.objects.all()
        if (r.n, r.sum_s, r.num, r.den) != (0, 0.0, 0, 0)
    }


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: minutes of rebuilds; the diff says it all
)
@given(
    actions=ACTIONS, seed=st.integers(0, 1000), edit=EDITS, offset=st.integers(0, 5 * 86400), back=st.integers(1, 86400)
)
def test_an_edit_never_moves_an_earlier_value(db, actions, seed, edit, offset, back):
    """Random histories, a random edit effective E (inside the histories or
    after them): a rebuild as of any instant before E gives the same rows
    before and after the edit; a rebuild now gives the same rows for every
    ticket resolved with all its events before E; the incremental path
    equals the rebuild afterwards."""
    with transaction.atomic():
        _setup_desk()
        last = _history(actions, seed)
        effective = BASE + timedelta(seconds=offset)
        as_of = max(BASE, effective - timedelta(seconds=back))
        _rebuild("--as-of", as_of.isoformat())
        before_as_of = _rows(effective)
        _rebuild("--inline")
        before_now = _rows(effective)

        _edit(edit["hours"], at=effective, timezone=edit["timezone"], holidays=edit["holidays"])  # effective now = E

        _rebuild("--as-of", as_of.isoformat())
        assert _diff(_rows(effective), before_as_of) == {}
        _rebuild("--inline")
        after_now = _rows(effective)
        for pk, row in before_now.items():
            if last[pk] < effective and row["status"] in ("solved", "closed"):
                assert _diff({pk: after_now[pk]}, {pk: row}) == {}
            elif last[pk] < effective and row["frt_bus_s"] is not None:
                assert after_now[pk]["frt_bus_s"] == row["frt_bus_s"], pk

        # Incremental (per ticket, retract-and-apply) == rebuild, after the edit.
        now = datetime.now(UTC)
        tickets_recompute(ticket_ids=list(last), as_of=now)
        incremental, incremental_rollups = _rows(effective), _rollups()
        _rebuild("--as-of", now.isoformat(), "--reset")
        assert _diff(_rows(effective), incremental) == {}
        assert _rollups() == incremental_rollups
        transaction.set_rollback(True)
