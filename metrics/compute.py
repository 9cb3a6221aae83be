"""The pure metrics function: one ticket's events -> its metrics row.

    compute(events, context) -> dict

No database access: the caller loads the ticket's TicketEvent rows (through
tickets.selectors), the calendars and SLA policies of the queues, and an
as-of instant. The output uses the field names of
tests/fixtures/metrics_examples/expected.json, plus internal ids (`*_id`),
cohort instants and attribution used by the storage layer. Definitions are
docs/metrics.md M1-M14 and section 1; `DEFINITION_VERSION` changes whenever any of
them does (then run `manage.py metrics_rebuild`).

Times are handled as POSIX seconds internally (instants, never wall-clock:
docs/metrics.md §1.4), instants in the output are aware UTC datetimes. The event fold,
the business-time clock and the SLA outcomes are `tickets.clock`'s (shared
with `tickets.sla`); this module adds the metric-only columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from helpdesk.lib.business_hours import from_ts
from metrics.segments import STATUS_FIELDS, segment_rows
from tickets.clock import (
    DEFINITION_VERSION,
    Clock,
    Context,
    Derived,
    Ev,
    Timeline,
    dt_or_none,
    fold_sorted,
    sla_fields,
    sorted_events,
    timeline_row,
    ts,
    union_seconds,
)

# Re-exported: callers and tests build compute()'s inputs from this module.
__all__ = ["DEFINITION_VERSION", "STATUS_FIELDS", "Context", "Ev", "compute"]


def _csat_satisfied(scale: str, value: Any) -> bool | None:
    if value is None:
        return None
    if scale == "good_bad" or value in ("good", "bad"):
        return value == "good"
    try:
        return int(value) >= 4
    except (TypeError, ValueError):
        return None


def ces_fields(evs: list[Ev]) -> dict[str, Any]:
    """M15 CES of one ticket (docs/surveys.md): the latest `ces.responded`
    (1-7; easy = 5 or more) and the first CES `survey.offered`. `evs` are the
    ticket's events up to as_of, in log order."""
    offered = next((e for e in evs if e.kind == "survey.offered" and (e.data or {}).get("survey") == "ces"), None)
    latest = None
    for e in evs:
        value = (e.data or {}).get("value") if e.kind == "ces.responded" else None
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 7:
            latest = (e.occurred_at, value)
    return {
        "ces_offered": offered is not None,
        "ces_offered_at": offered.occurred_at if offered else None,
        "ces_at": latest[0] if latest else None,
        "ces_value": latest[1] if latest else None,
        "ces_easy": latest[1] >= 5 if latest else None,
    }


def compute(events: Iterable[Ev | Any], context: Context) -> dict[str, Any]:
    """Every per-ticket metric of one ticket as of `context.as_of`."""
    evs = sorted_events(events, ts(context.as_of))
    tl = fold_sorted(evs, ts(context.as_of))
    clock = Clock(tl.queue_segments, context.calendars)
    row, d = timeline_row(tl, context, clock)
    _status_time_fields(row, tl, d, clock)
    _reopen_fields(row, tl)
    _fcr_fields(row, tl, d)
    row["assignee_stations"] = len(tl.assignees_seen)
    row["group_stations"] = len(tl.queues_seen)
    _escalation_fields(row, tl, d, clock)
    _csat_fields(row, tl)
    row.update(ces_fields(evs))
    _handle_fields(row, tl)
    # M14 SLA targets.
    sla_fields(row, tl, d, context, clock)
    # Per queue segment values (docs/metrics.md#18-queue-and-kind-attribution-across-escalations).
    row["segments"] = segment_rows(tl, d, row, clock)
    return row


def _escalation_fields(row: dict[str, Any], tl: Timeline, d: Derived, clock: Clock) -> None:
    """Escalations (docs/metrics.md#escalations): queue moves that change kind, per direction; the
    first one's instant and time from creation; full resolution split by escalated (an escalation
    before the last resolution) or not."""
    esc = tl.escalations
    row["escalations"] = len(esc)
    row["escalations_to_service"] = sum(1 for _t, _a, b in esc if b == "service")
    row["escalations_to_support"] = sum(1 for _t, _a, b in esc if b == "support")
    first = esc[0][0] if esc else None
    row["first_escalated_at"] = dt_or_none(first)
    row["time_to_escalation_cal_s"] = first - tl.created_at if first is not None else None
    row["time_to_escalation_bus_s"] = clock.bus(tl.created_at, first) if first is not None else None
    escalated = first is not None and d.last_resolved is not None and first < d.last_resolved
    for clk in ("cal", "bus"):
        value = row.get(f"full_resolution_{clk}_s")
        row[f"resolution_escalated_{clk}_s"] = value if escalated else None
        row[f"resolution_not_escalated_{clk}_s"] = None if escalated else value


_STATUS_KEYS_BY_FIELD = [(f"{name}_cal_s", f"{name}_bus_s") for name in STATUS_FIELDS]
_STATUS_KEYS = [key for pair in _STATUS_KEYS_BY_FIELD for key in pair]


def _status_time_fields(row: dict[str, Any], tl: Timeline, d: Derived, clock: Clock) -> None:
    """M5-M8 time in status within [created, last resolution) or up to as_of."""
    window_end = d.last_resolved if d.last_resolved is not None else tl.as_of
    per_cat_cal: dict[str, float] = dict.fromkeys(("new", "open", "pending", "on_hold", "solved", "closed"), 0.0)
    per_cat_bus = dict(per_cat_cal)
    for s, e, st in d.intervals:
        lo, hi = max(s, tl.created_at), min(e, window_end)
        if hi > lo:
            per_cat_cal[st] = per_cat_cal.get(st, 0.0) + (hi - lo)
            per_cat_bus[st] = per_cat_bus.get(st, 0.0) + clock.bus(lo, hi)
    if tl.created_resolved:  # not measured
        row.update(dict.fromkeys(_STATUS_KEYS))
        return
    # Every category of STATUS_FIELDS is a key of both dicts: map() sums in the same order as a loop.
    for (cal_key, bus_key), cats in zip(_STATUS_KEYS_BY_FIELD, STATUS_FIELDS.values(), strict=True):
        row[cal_key] = sum(map(per_cat_cal.__getitem__, cats))
        row[bus_key] = sum(map(per_cat_bus.__getitem__, cats))


def _reopen_fields(row: dict[str, Any], tl: Timeline) -> None:
    """M12 reopens (raw and substantive)."""
    row["reopens"] = len(tl.reopen_ts)
    substantive = 0
    pending_reopen = False
    for _t, tag in tl.stream:
        if tag == "reopen":
            pending_reopen = True
        elif tag == "reply" and pending_reopen:
            substantive += 1
            pending_reopen = False
        elif tag == "resolution":
            pending_reopen = False
    row["substantive_reopens"] = substantive
    row["public_agent_replies"] = len(tl.replies)


def _fcr_fields(row: dict[str, Any], tl: Timeline, d: Derived) -> None:
    """M11 FCR: currently resolved, exactly one reply, sent at or before the first resolution."""
    resolved = bool(not tl.created_resolved and tl.currently_resolved and d.last_resolved is not None)
    eligible = bool(resolved and tl.replies)
    row["fcr_eligible"] = eligible
    row["fcr"] = bool(eligible and len(tl.replies) == 1 and tl.replies[0][0] <= d.first_resolved)
    row["zero_touch"] = bool(resolved and not tl.replies)


def _csat_fields(row: dict[str, Any], tl: Timeline) -> None:
    """M10 CSAT: the latest rating."""
    row["csat_offered"] = tl.csat_offered_at is not None
    row["csat_offered_at"] = dt_or_none(tl.csat_offered_at)
    if tl.csat:
        t, scale, value, agent = tl.csat
        row["csat_value"] = value
        row["csat_scale"] = scale
        row["csat_satisfied"] = _csat_satisfied(scale, value)
        row["csat_at"] = from_ts(t)
        row["csat_agent_id"] = agent
    else:
        row.update(csat_value=None, csat_scale=None, csat_satisfied=None, csat_at=None, csat_agent_id=None)


def _handle_fields(row: dict[str, Any], tl: Timeline) -> None:
    """M9 handle time: union of each agent's sessions, summed over agents."""
    if tl.sessions:
        by_agent = {agent: union_seconds(iv) for agent, iv in tl.sessions.items()}
        row["handle_s"] = sum(by_agent.values())
        row["handle_by_agent_s"] = by_agent
        row["work_sessions"] = {agent: sorted(iv) for agent, iv in tl.sessions.items()}
    else:
        row["handle_s"] = None
        row["handle_by_agent_s"] = None
        row["work_sessions"] = {}
    row["time_logged_s"] = tl.time_logged if tl.has_time_entry else None
