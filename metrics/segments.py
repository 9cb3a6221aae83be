"""Queue segments of one ticket and the values attributed to each (pure, no database).

Definition: docs/metrics.md#18-queue-and-kind-attribution-across-escalations. The
timeline is cut at every queue move (`group.changed`); segment i runs from the move into
its queue (or creation) to the next move. Instant measures go to the segment holding
their defining instant (FRT: the first reply; first resolution and reopens: the first
resolution; full resolution and FCR: the last resolution; CSAT: the last resolution
before the rating; SLA: the outcome instant; created: segment 0). Duration sums (status
times, handle time) are split: each segment gets the part of the ticket's window
[created, last resolution or as_of) inside it, and is counted (non-NULL) only when that
part is non-empty. The sum of a ticket's shares equals its whole-ticket value.

    segs = segment_rows(tl, d, row, clock)   # after compute() filled `row`
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from helpdesk.lib.business_hours import from_ts
from tickets.clock import INF, Clock, Derived, Timeline, union_seconds

STATUS_FIELDS = {
    # field prefix -> categories counted (docs/metrics.md M5-M8, M4 invariant)
    "requester_wait": ("new", "open", "on_hold"),
    "agent_wait": ("pending",),
    "on_hold": ("on_hold",),
    "time_in_progress": ("open",),
    "queue_time": ("new",),
    "agent_work": ("new", "open"),
    "solved_before_reopen": ("solved", "closed"),
}
SHARE_COLUMNS = tuple(f"{name}_{clock}_s" for name in STATUS_FIELDS for clock in ("cal", "bus"))

# Every column of a segment row besides ticket_id (the model's and the export's order).
INSTANT_COLUMNS = (
    "created_at",
    "assignee_id",
    "first_reply_at",
    "first_replier_id",
    "frt_cal_s",
    "frt_bus_s",
    "first_resolved_at",
    "first_resolution_cal_s",
    "first_resolution_bus_s",
    "reopens",
    "substantive_reopens",
    "last_resolved_at",
    "last_res_here",
    "resolver_id",
    "full_resolution_cal_s",
    "full_resolution_bus_s",
    "fcr",
    "fcr_eligible",
    "zero_touch",
    "public_agent_replies",
    "next_reply_n",
    "next_reply_cal_sum_s",
    "next_reply_bus_sum_s",
    "csat_offered_at",
    "csat_at",
    "csat_value",
    "csat_score",
    "csat_satisfied",
    "csat_agent_id",
    "sla_first_reply_outcome",
    "sla_first_reply_outcome_at",
    "sla_resolution_outcome",
    "sla_resolution_outcome_at",
    "sla_next_reply_achieved",
    "sla_next_reply_breached",
    "sla_next_reply_outcome_at",
)
BASE_COLUMNS = ("idx", "queue_id", "kind", "priority", "channel", "started_at", "ended_at")
SEGMENT_COLUMNS = (*BASE_COLUMNS, *INSTANT_COLUMNS, *SHARE_COLUMNS, "handle_s")
_ZERO = frozenset({"reopens", "substantive_reopens", "public_agent_replies", "next_reply_n"})
_ZERO |= frozenset({"sla_next_reply_achieved", "sla_next_reply_breached"})
_FALSE = frozenset({"last_res_here", "fcr", "fcr_eligible", "zero_touch"})


@dataclass(frozen=True)
class Seg:
    idx: int
    start: float
    end: float
    queue_id: int | None
    kind: str | None


def segments_of(tl: Timeline) -> list[Seg]:
    """The queue segments [start, end) from creation; the last one is open (end = INF)."""
    moves = tl.queue_segments
    kinds = tl.segment_kinds or [tl.queue_kind] * len(moves)
    return [
        Seg(i, s, moves[i + 1][0] if i + 1 < len(moves) else INF, q, kinds[i] if i < len(kinds) else None)
        for i, (s, q) in enumerate(moves)
    ]


def seg_at(segs: Sequence[Seg], t: float) -> int:
    """The segment holding instant `t` (a move at `t` opens the new segment at `t`)."""
    return max(bisect_right([s.start for s in segs], t) - 1, 0)


def _empty(seg: Seg, row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: (0 if name in _ZERO else False if name in _FALSE else None) for name in INSTANT_COLUMNS
    }
    out.update(
        idx=seg.idx,
        queue_id=seg.queue_id,
        kind=seg.kind or "",
        priority=row.get("priority") or "",
        channel=row.get("channel") or "",
        started_at=from_ts(seg.start),
        ended_at=None if seg.end == INF else from_ts(seg.end),
        assignee_id=row.get("assignee_id"),
        resolver_id=row.get("resolver_id"),
        last_resolved_at=row.get("last_resolved_at"),
        next_reply_cal_s=[],
        next_reply_bus_s=[],
        handle_by_agent_s=None,
        handle_s=None,
    )
    out.update(dict.fromkeys(SHARE_COLUMNS))
    return out


def segment_rows(tl: Timeline, d: Derived, row: dict[str, Any], clock: Clock) -> list[dict[str, Any]]:
    """One dict per queue segment (SEGMENT_COLUMNS plus the NRT lists), in time order."""
    if row.get("excluded"):
        return []
    segs = segments_of(tl)
    out = [_empty(s, row) for s in segs]
    out[0]["created_at"] = row["created_at"]
    _first_reply(out, tl, d, row)
    _resolutions(out, tl, row)
    _shares(out, segs, tl, d, row, clock)
    _handle(out, segs, tl, row)
    _replies(out, tl, d, clock)
    _csat(out, tl, row)
    _sla(out, segs, tl, row)
    return out


def _first_reply(out: list[dict[str, Any]], tl: Timeline, d: Derived, row: dict[str, Any]) -> None:
    if row["frt_cal_s"] is None or d.frt_start is None:
        return
    i = next(i for i, (t, _a) in enumerate(tl.replies) if t >= d.frt_start)
    seg = out[tl.reply_segs[i]]
    for name in ("first_reply_at", "first_replier_id", "frt_cal_s", "frt_bus_s"):
        seg[name] = row[name]


def _resolutions(out: list[dict[str, Any]], tl: Timeline, row: dict[str, Any]) -> None:
    if row["first_resolution_cal_s"] is not None:
        seg = out[tl.resolution_segs[0]]
        for name in ("first_resolved_at", "first_resolution_cal_s", "first_resolution_bus_s"):
            seg[name] = row[name]
        seg["reopens"], seg["substantive_reopens"] = row["reopens"], row["substantive_reopens"]
    if row["last_resolved_at"] is not None:
        seg = out[tl.resolution_segs[-1]]
        seg["last_res_here"] = True
        for name in ("full_resolution_cal_s", "full_resolution_bus_s", "fcr", "fcr_eligible", "zero_touch"):
            seg[name] = row[name]


def _window(seg: Seg, tl: Timeline, d: Derived) -> tuple[float, float]:
    end = d.last_resolved if d.last_resolved is not None else tl.as_of
    return max(seg.start, tl.created_at), min(seg.end, end)


def _shares(
    out: list[dict[str, Any]], segs: list[Seg], tl: Timeline, d: Derived, row: dict[str, Any], clock: Clock
) -> None:
    """Status-time shares (M5-M8): the ticket's status intervals inside each segment's window."""
    if tl.created_resolved:
        return
    if len(segs) == 1:  # never moved: the whole ticket's values, no recomputation
        out[0].update({c: row[c] for c in SHARE_COLUMNS})
        return
    for seg, values in zip(segs, out, strict=True):
        lo, hi = _window(seg, tl, d)
        if hi <= lo:
            continue  # an empty window: not counted in this queue (NULL)
        cal: dict[str, float] = {}
        bus: dict[str, float] = {}
        for s, e, st in d.intervals:
            a, b = max(s, lo), min(e, hi)
            if b > a:
                cal[st] = cal.get(st, 0.0) + (b - a)
                bus[st] = bus.get(st, 0.0) + clock.bus(a, b)
        for name, cats in STATUS_FIELDS.items():
            values[f"{name}_cal_s"] = sum(cal.get(c, 0.0) for c in cats)
            values[f"{name}_bus_s"] = sum(bus.get(c, 0.0) for c in cats)


def _handle(out: list[dict[str, Any]], segs: list[Seg], tl: Timeline, row: dict[str, Any]) -> None:
    """M9 handle time split: each agent's union of sessions inside the segment (the first
    segment also takes sessions before creation). Counted where the status window is
    non-empty or any session falls in the segment."""
    if not tl.sessions:
        return
    if len(segs) == 1:
        out[0]["handle_s"] = row["handle_s"]
        out[0]["handle_by_agent_s"] = row["handle_by_agent_s"]
        return
    for seg, values in zip(segs, out, strict=True):
        lo = -INF if seg.idx == 0 else seg.start
        by_agent = {
            agent: union_seconds((max(s, lo), min(e, seg.end)) for s, e in iv) for agent, iv in tl.sessions.items()
        }
        share = sum(by_agent.values())
        if share > 0 or values["agent_work_cal_s"] is not None:
            values["handle_s"] = share
            values["handle_by_agent_s"] = {a: v for a, v in by_agent.items() if v > 0}


def _replies(out: list[dict[str, Any]], tl: Timeline, d: Derived, clock: Clock) -> None:
    """Public agent replies per segment; each next-reply run to the segment of its closing reply."""
    seg_of_reply: dict[float, int] = {}
    for (t, _a), i in zip(tl.replies, tl.reply_segs, strict=True):
        out[i]["public_agent_replies"] += 1
        seg_of_reply.setdefault(t, i)
    for _cycle, start, stop in d.nr_runs:
        if stop is None:
            continue
        seg = out[seg_of_reply[stop]]
        seg["next_reply_cal_s"].append(stop - start)
        seg["next_reply_bus_s"].append(clock.bus(start, stop))
    for seg in out:
        seg["next_reply_n"] = len(seg["next_reply_cal_s"])
        seg["next_reply_cal_sum_s"] = sum(seg["next_reply_cal_s"]) if seg["next_reply_n"] else None
        seg["next_reply_bus_sum_s"] = sum(seg["next_reply_bus_s"]) if seg["next_reply_n"] else None


def _csat(out: list[dict[str, Any]], tl: Timeline, row: dict[str, Any]) -> None:
    if row.get("csat_offered_at") is not None:
        out[tl.csat_offered_seg]["csat_offered_at"] = row["csat_offered_at"]
    if row.get("csat_at") is None:
        return
    seg = out[tl.csat_seg]
    value = row["csat_value"]
    seg.update(
        csat_at=row["csat_at"],
        csat_value="" if value is None else str(value),
        csat_score=value if isinstance(value, int) and row.get("csat_scale") != "good_bad" else None,
        csat_satisfied=row["csat_satisfied"],
        csat_agent_id=row["csat_agent_id"],
    )


def _outcome_seg(segs: list[Seg], at: datetime, event_seg: int | None) -> int:
    return event_seg if event_seg is not None else seg_at(segs, at.timestamp())


def _sla(out: list[dict[str, Any]], segs: list[Seg], tl: Timeline, row: dict[str, Any]) -> None:
    """SLA outcomes go to the segment at the outcome instant (an achieved target: the
    segment of the reply or resolution that fulfilled it)."""
    first_reply_seg = next((s for s in out if s["first_reply_at"] is not None), None)
    events = {
        "first_reply": first_reply_seg["idx"] if first_reply_seg else None,
        "resolution": tl.resolution_segs[-1] if tl.resolution_segs else None,
    }
    for target in ("first_reply", "resolution"):
        outcome, at = row.get(f"sla_{target}_outcome"), row.get(f"sla_{target}_outcome_at")
        if outcome in ("achieved", "breached") and at is not None:
            seg = out[_outcome_seg(segs, at, events[target] if outcome == "achieved" else None)]
            seg[f"sla_{target}_outcome"], seg[f"sla_{target}_outcome_at"] = outcome, at
    for cy in row.get("sla_next_reply_cycles") or []:
        if cy["outcome"] not in ("achieved", "breached"):
            continue
        seg = out[seg_at(segs, cy["outcome_at"].timestamp())]
        seg[f"sla_next_reply_{cy['outcome']}"] += 1
        latest = seg["sla_next_reply_outcome_at"]
        seg["sla_next_reply_outcome_at"] = cy["outcome_at"] if latest is None else max(latest, cy["outcome_at"])


# --- a ticket's segments in one kind or queue, as one row (the filtered dashboard) ----------
# A duration share or a count is summed over the segments; an instant measure is set on one
# segment only, so MAX / bool_or takes it (docs/metrics.md#18-queue-and-kind-attribution-across-escalations).

BOOL_COLUMNS = frozenset({"fcr", "fcr_eligible", "zero_touch", "last_res_here", "csat_satisfied"})
SUMMED_COLUMNS = frozenset(
    {
        *SHARE_COLUMNS,
        "handle_s",
        "frt_cal_s",
        "frt_bus_s",
        "first_resolution_cal_s",
        "first_resolution_bus_s",
        "full_resolution_cal_s",
        "full_resolution_bus_s",
        "reopens",
        "substantive_reopens",
        "public_agent_replies",
        "next_reply_n",
        "next_reply_cal_sum_s",
        "next_reply_bus_sum_s",
        "sla_next_reply_achieved",
        "sla_next_reply_breached",
    }
)


# Ticket-level columns added after the segments (escalations, docs/metrics.md "How attribution
# is built"): not stored per segment but read from the ticket's TicketMetrics row (alias `t`,
# joined with `ticket_join`). The escalation counts go with the created count (segment 0, the
# only one with `created_at`); the escalated / not-escalated resolution times with the full
# resolution time (the segment holding the last resolution).
TICKET_COLUMNS = frozenset({"escalations", "escalations_to_service", "escalations_to_support"})
LAST_RES_TICKET_COLUMNS = frozenset(
    f"resolution_{which}_{clock}_s" for which in ("escalated", "not_escalated") for clock in ("cal", "bus")
)


def ticket_join(columns: Iterable[str], alias: str = "s") -> str:
    """The join a segment query needs for `group_agg_sql` of `columns` (none without a
    ticket-level column, so unqualified cohort conditions stay unambiguous)."""
    if not any(c in TICKET_COLUMNS or c in LAST_RES_TICKET_COLUMNS for c in columns):
        return ""
    return f"JOIN metrics_ticketmetrics t ON t.ticket_id = {alias}.ticket_id"


def group_agg_sql(col: str, alias: str = "s") -> str:
    """The SQL aggregate of column `col` over a ticket's segments in one group."""
    if col in TICKET_COLUMNS:
        return f"MAX(t.{col})"
    if col in LAST_RES_TICKET_COLUMNS:
        return f"MAX(t.{col}) FILTER (WHERE {alias}.last_res_here)"
    if col in SUMMED_COLUMNS:
        return f"SUM({alias}.{col})"
    if col in BOOL_COLUMNS:
        return f"bool_or({alias}.{col})"
    return f"MAX({alias}.{col})"


def group_value(col: str, values: list[Any]) -> Any:
    """`group_agg_sql` in Python (NULLs ignored; NULL when every value is NULL)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if col in SUMMED_COLUMNS:
        return sum(present)
    if col in BOOL_COLUMNS:
        return any(present)
    return max(present)
