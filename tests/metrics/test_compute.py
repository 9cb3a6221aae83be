"""compute() on the worked examples (pure: no database) and on synthetic cases."""

import json
import math
from datetime import datetime, timedelta

import pytest

from helpdesk.lib.business_hours import BusinessCalendar
from metrics.compute import Context, Ev, compute
from metrics.present import row_present
from tests.metrics.jsonl_events import FIXTURES, line_events, load_lines

CONFIG = json.loads((FIXTURES / "config.json").read_text())
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
QUEUE_IDS = {"tier1": 1, "tier2": 2}
QUEUE_KINDS = {q["slug"]: q["kind"] for q in CONFIG["queues"]}
USER_IDS = {a["email"]: 100 + i for i, a in enumerate(CONFIG["agents"])}
EMAILS = {v: k for k, v in USER_IDS.items()}


def fixture_context(as_of=None):
    cal = CONFIG["calendars"][0]
    calendar = BusinessCalendar(cal["timezone"], cal["hours"], cal.get("holidays", ()), cal.get("overrides", ()))
    pol = CONFIG["sla_policies"][0]
    return Context(
        as_of=as_of or datetime.fromisoformat(EXPECTED["as_of"]),
        calendars={1: calendar, 2: calendar},
        sla_policies={1: pol, 2: pol},
    )


def assert_same(actual, expected, path=""):
    """Every expected value equal (numbers within 1e-6; docs/metrics.md §1.7)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not a dict"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing"
            assert_same(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list | tuple) and len(actual) == len(expected), f"{path}: {actual!r} != {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{i}]")
    elif isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
    else:
        assert isinstance(actual, int | float) and not isinstance(actual, bool), f"{path}: {actual!r}"
        assert math.isclose(actual, expected, abs_tol=1e-6), f"{path}: {actual!r} != {expected!r}"


@pytest.mark.parametrize("line", load_lines(), ids=lambda line: line["external_id"])
def test_worked_example_ticket_pure(line):
    """Every per-ticket value of expected.json, from events shaped like the services write them."""
    events = line_events(line, queue_ids=QUEUE_IDS, queue_kinds=QUEUE_KINDS, user_ids=USER_IDS)
    row = compute(events, fixture_context())
    expected = dict(EXPECTED["tickets"][line["external_id"]])
    expected.pop("external_id")
    assert_same(row_present(row, emails=EMAILS), expected, line["external_id"])


def _t(text):
    return datetime.fromisoformat(text)


def _ev(i, kind, at, **kw):
    return Ev(id=i, kind=kind, occurred_at=_t(at), **kw)


def _created(at, status="new", role="customer", queue_id=1, priority="normal"):
    return _ev(
        1,
        "ticket.created",
        at,
        actor_role=role,
        data={"to": status, "creation_message_author_role": role, "queue_id": queue_id, "priority": priority},
    )


def _msg(i, at, role, visibility="public", automated=False, actor_id=None):
    return _ev(
        i,
        "message.created",
        at,
        actor_id=actor_id,
        actor_role=role,
        visibility=visibility,
        is_automated=automated,
        data={"author_role": role, "visibility": visibility, "is_automated": automated},
    )


def _status(i, at, source, target):
    return _ev(i, "status.changed", at, data={"from": source, "to": target})


def test_unresolved_ticket_status_times_run_to_as_of():
    evs = [_created("2025-11-03T09:00:00-05:00"), _status(2, "2025-11-03T10:00:00-05:00", "new", "pending")]
    row = compute(evs, fixture_context(as_of=_t("2025-11-03T12:00:00-05:00")))
    assert row["queue_time_cal_s"] == 3600
    assert row["agent_wait_cal_s"] == 7200
    assert row["agent_wait_bus_s"] == 7200
    assert row["full_resolution_cal_s"] is None
    assert row["last_resolved_at"] is None
    assert row["fcr_eligible"] is False


def test_events_after_as_of_are_ignored():
    evs = [_created("2025-11-03T09:00:00-05:00"), _msg(2, "2025-11-03T10:00:00-05:00", "agent", actor_id=7)]
    before = compute(evs, fixture_context(as_of=_t("2025-11-03T09:30:00-05:00")))
    after = compute(evs, fixture_context(as_of=_t("2025-11-03T11:00:00-05:00")))
    assert before["frt_cal_s"] is None
    assert after["frt_cal_s"] == 3600
    assert after["first_replier_id"] == 7


def test_automated_and_internal_messages_do_not_stop_frt():
    evs = [
        _created("2025-11-03T09:00:00-05:00"),
        _msg(2, "2025-11-03T09:01:00-05:00", "system", automated=True),
        _msg(3, "2025-11-03T09:02:00-05:00", "agent", automated=True),
        _msg(4, "2025-11-03T09:03:00-05:00", "agent", visibility="internal"),
        _msg(5, "2025-11-03T09:10:00-05:00", "agent"),
    ]
    row = compute(evs, fixture_context())
    assert row["frt_cal_s"] == 600
    assert row["public_agent_replies"] == 1


def test_created_resolved_ticket_has_no_resolution_metrics():
    evs = [_created("2025-11-03T09:00:00-05:00", status="closed", role="agent")]
    row = compute(evs, fixture_context())
    assert row["created_resolved"] is True
    assert row["first_resolution_cal_s"] is None
    assert row["requester_wait_cal_s"] is None
    assert row["fcr_eligible"] is False


def test_restore_undoes_spam():
    evs = [
        _created("2025-11-03T09:00:00-05:00"),
        _ev(2, "ticket.marked_spam", "2025-11-03T09:05:00-05:00"),
        _ev(3, "ticket.restored", "2025-11-03T09:06:00-05:00"),
    ]
    assert compute(evs, fixture_context())["excluded"] is False
    assert compute(evs[:2], fixture_context())["excluded_reason"] == "spam"


def test_resolution_sla_breached_while_open_and_projected_breach():
    """The high-priority target (57600 business s) breaches while open; before that it is projected."""
    evs = [_created("2025-11-03T09:00:00-05:00", priority="high")]
    # Two business days (Mon, Tue) exactly: breach at Tue 17:00 EST = 22:00Z.
    early = compute(evs, fixture_context(as_of=_t("2025-11-03T12:00:00-05:00")))
    assert early["sla_resolution_outcome"] == "active"
    assert early["sla_next_breach_at"] == _t("2025-11-03T13:00:00-05:00")  # first reply target 4 h
    late = compute(evs, fixture_context(as_of=_t("2025-11-10T00:00:00-05:00")))
    assert late["sla_resolution_outcome"] == "breached"
    assert late["sla_resolution_breach_at"] == _t("2025-11-04T17:00:00-05:00")
    assert late["sla_first_reply_outcome"] == "breached"
    assert late["sla_first_reply_outcome_at"] == _t("2025-11-03T13:00:00-05:00")


def test_piecewise_calendar_after_queue_move():
    """Each sub-interval uses the calendar of the queue the ticket was in (docs/metrics.md §1.5)."""
    ctx = fixture_context()
    ctx.calendars = {1: ctx.calendars[1]}  # queue 2 has no calendar: 24/7
    evs = [
        _created("2025-11-03T16:00:00-05:00"),
        _ev(2, "group.changed", "2025-11-03T17:30:00-05:00", data={"from": 1, "to": 2}),
        _msg(3, "2025-11-03T19:30:00-05:00", "agent"),
    ]
    row = compute(evs, ctx)
    assert row["frt_cal_s"] == 3.5 * 3600
    assert row["frt_bus_s"] == 3600 + 2 * 3600  # 16:00-17:00 business, 17:30-19:30 always open
    assert row["group_stations"] == 2


def test_handle_time_union_per_agent():
    evs = [_created("2025-11-03T09:00:00-05:00")]
    base = _t("2025-11-03T10:00:00-05:00")
    for i, (a, b, agent) in enumerate([(0, 600, 1), (300, 900, 1), (0, 100, 2), (2000, 2100, 1)], start=2):
        evs.append(
            Ev(
                i,
                "work_session.recorded",
                base + timedelta(seconds=b),
                actor_id=agent,
                data={
                    "agent_id": agent,
                    "started_at": (base + timedelta(seconds=a)).isoformat(),
                    "ended_at": (base + timedelta(seconds=b)).isoformat(),
                },
            )
        )
    row = compute(evs, fixture_context())
    assert row["handle_by_agent_s"] == {1: 1000, 2: 100}
    assert row["handle_s"] == 1100
