"""SLA state of one ticket, pure: events + policy + calendars -> per target
and cycle, the due (breach) instant, paused or running, elapsed, outcome.

    sla_state(events, context, warning_fraction=0.75) -> SLAState

Built on `tickets.clock`, the engine the
metrics row is computed with: the first-reply and resolution outcomes,
elapsed clocks and breach instants are its `sla_fields` values; this module
adds what the SLA machinery needs on top of them:

* the projected due instant of a running target (`add` of the remaining
  business time from the evaluation instant, closed form, so a target reached
  exactly at 17:00:00 is due at 17:00:00);
* paused or running (the resolution clock pauses in the policy's pause set);
* next-reply targets (docs/metrics.md M2 runs), one cycle per run of customer
  messages after the first reply;
* the warning instant (a fraction of the target elapsed).

Clock arithmetic is `tickets.clock.Clock` (piecewise calendars over the queue
timeline) and `helpdesk.lib.business_hours`; no second copy of those rules.
Targets: `first_response` (cycle 0), `next_reply` (cycles 1, 2, ...),
`resolution` (cycle 0: cumulative across reopens, one outcome per ticket).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk.lib.business_hours import NeverOpen, from_ts
from tickets.clock import (
    DEFAULT_PAUSE,
    INF,
    K_CREATED,
    UNSOLVED,
    Add,
    Clock,
    Context,
    Ev,
    Measure,
    clock_fns,
    fold,
    sla_fields,
    sorted_events,
    timeline_row,
)

FIRST_RESPONSE = "first_response"
NEXT_REPLY = "next_reply"
RESOLUTION = "resolution"
TARGETS = (FIRST_RESPONSE, NEXT_REPLY, RESOLUTION)
DEFAULT_WARNING_FRACTION = 0.75

ACTIVE, ACHIEVED, BREACHED = "active", "achieved", "breached"


@dataclass(frozen=True)
class TargetState:
    """One target's clock in one cycle, as of the evaluation instant."""

    target: str
    cycle: int
    target_s: float
    business_hours: bool
    started_at: datetime | None
    # The breach instant: the moment the running clock reaches the target.
    # Projected while running; None while paused or when it was never reached
    # before fulfilment.
    due_at: datetime | None
    warning_at: datetime | None
    elapsed_s: float
    paused: bool
    outcome: str  # active | achieved | breached
    outcome_at: datetime | None
    # Still running or paused (not fulfilled, not cancelled): a breached
    # target stays open until its fulfilment.
    open: bool

    @property
    def remaining_s(self) -> float:
        return max(self.target_s - self.elapsed_s, 0.0)


@dataclass
class SLAState:
    as_of: datetime
    applies: bool = False
    priority: str | None = None
    queue_id: int | None = None
    status: str | None = None
    targets: list[TargetState] = field(default_factory=list)

    def current(self, target: str) -> TargetState | None:
        """The latest cycle of `target` (None if it has none)."""
        found = [t for t in self.targets if t.target == target]
        return found[-1] if found else None

    def due(self, target: str) -> datetime | None:
        """The stored due instant of a target: set while it is open and running."""
        t = self.current(target)
        if t is None or not t.open or t.paused:
            return None
        return t.due_at

    @property
    def due_at(self) -> datetime | None:
        dues = [d for d in (self.due(name) for name in TARGETS) if d is not None]
        return min(dues) if dues else None

    def fields(self) -> dict[str, datetime | None]:
        """The Ticket columns this state stores."""
        return {
            "first_response_due_at": self.due(FIRST_RESPONSE),
            "next_reply_due_at": self.due(NEXT_REPLY),
            "resolution_due_at": self.due(RESOLUTION),
            "sla_due_at": self.due_at,
        }


def _reach(
    intervals: Iterable[tuple[float, float, str]],
    counted: Callable[[str], bool],
    amount: float,
    as_of: float,
    measure: Callable[[float, float], float],
    add: Callable[[float, float], float],
) -> float | None:
    """The instant the clock (counting statuses where `counted(st)`) reaches
    `amount`: in the past if it did by `as_of`, else projected from `as_of`
    when the clock is running then, else None (paused or stopped)."""
    elapsed = 0.0
    for s, e, st in intervals:
        if not counted(st):
            continue
        hi = min(e, as_of)
        part = measure(s, hi) if hi > s else 0.0
        if elapsed + part >= amount:
            return add(s, amount - elapsed)
        elapsed += part
        if (e == INF or e > as_of) and s <= as_of:
            return add(as_of, amount - elapsed)
    return None


@dataclass
class _Targets:
    """What every target's state is evaluated with."""

    row: Mapping[str, Any]
    policy: Mapping[str, Any]
    targets: Mapping[str, Any]
    business: bool
    measure: Measure
    add: Add
    frac: float
    as_of: float
    currently_resolved: bool


def sla_state(
    events: Iterable[Ev | Any],
    context: Context,
    *,
    warning_fraction: float = DEFAULT_WARNING_FRACTION,
) -> SLAState:
    """The SLA state of one ticket as of `context.as_of` (see module doc)."""
    as_of_dt = context.as_of
    as_of = as_of_dt.timestamp()
    evs = sorted_events(events, as_of)
    state = SLAState(as_of=as_of_dt)
    if not any(e.kind == K_CREATED for e in evs):
        return state
    tl = fold(evs, as_of_dt)
    clock = Clock(tl.queue_segments, context.calendars)
    row, derived = timeline_row(tl, context, clock)
    sla_fields(row, tl, derived, context, clock)
    state.priority, state.queue_id, state.status = row["priority"], row["queue_id"], row["status_at_as_of"]
    if row["excluded"] or row["created_resolved"]:
        return state
    policy = context.sla_policies.get(row["queue_id"]) if row["queue_id"] is not None else None
    targets = ((policy or {}).get("targets") or {}).get(row["priority"]) or {}
    if not policy or not targets:
        return state
    state.applies = True
    business = targets.get("business_hours", True)
    measure, add = clock_fns(clock, business)
    ctx = _Targets(
        row=row,
        policy=policy,
        targets=targets,
        business=business,
        measure=measure,
        add=add,
        frac=warning_fraction if 0 < warning_fraction < 1 else DEFAULT_WARNING_FRACTION,
        as_of=as_of,
        currently_resolved=row["status_at_as_of"] not in UNSOLVED,
    )
    try:
        found = [*_first_response(ctx), *_next_reply(ctx), *_resolution(ctx)]
    except NeverOpen:  # no open hours ahead: no due instant (docs/metrics.md#calendars-with-no-open-hours)
        state.applies = False
        return state
    state.targets.extend(found)
    return state


def _first_response(ev: _Targets) -> list[TargetState]:
    """First response (M1 clock, never paused): the engine's values."""
    row = ev.row
    fr_target = ev.targets.get(FIRST_RESPONSE, ev.targets.get("first_reply"))
    if fr_target is None or row["frt_start_at"] is None or row["sla_first_reply_target_s"] is None:
        return []
    outcome = row["sla_first_reply_outcome"]
    if outcome is None:  # resolved before any reply (cancelled)
        return []
    start = row["frt_start_at"].timestamp()
    return [
        TargetState(
            target=FIRST_RESPONSE,
            cycle=0,
            target_s=float(fr_target),
            business_hours=ev.business,
            started_at=row["frt_start_at"],
            due_at=row["sla_first_reply_breach_at"],
            warning_at=from_ts(ev.add(start, ev.frac * float(fr_target))),
            elapsed_s=row["sla_first_reply_elapsed_s"] or 0.0,
            paused=False,
            outcome=outcome,
            outcome_at=row["sla_first_reply_outcome_at"],
            open=row["first_reply_at"] is None and not ev.currently_resolved,
        )
    ]


def _next_reply(ev: _Targets) -> list[TargetState]:
    """Next reply (M2 runs): the engine's cycles, one per run of customer
    public messages after the first reply, stopped by the next public agent
    reply (a resolution cancels the run: no cycle outcome)."""
    nr_target = ev.targets.get(NEXT_REPLY)
    if nr_target is None or ev.row["sla_next_reply_target_s"] is None:
        return []
    nr = float(nr_target)
    states = []
    for c in ev.row["sla_next_reply_cycles"]:
        start = c["started_at"].timestamp()
        is_open = c["stopped_at"] is None
        states.append(
            TargetState(
                target=NEXT_REPLY,
                cycle=c["cycle"],
                target_s=nr,
                business_hours=ev.business,
                started_at=c["started_at"],
                due_at=c["breach_at"] if is_open or c["outcome"] == BREACHED else None,
                warning_at=from_ts(ev.add(start, ev.frac * nr)),
                elapsed_s=c["elapsed_s"],
                paused=False,
                outcome=c["outcome"],
                outcome_at=c["outcome_at"],
                open=is_open,
            )
        )
    return states


def _resolution(ev: _Targets) -> list[TargetState]:
    """Resolution (cumulative, paused in the pause set): the engine's values,
    plus the projected due and warning instants from the same intervals."""
    row = ev.row
    res_target = ev.targets.get(RESOLUTION)
    if res_target is None or row["sla_resolution_target_s"] is None:
        return []
    res = float(res_target)
    pause = set(ev.policy.get("pause_statuses") or DEFAULT_PAUSE)
    created_at = row["created_at"].timestamp()
    intervals = [
        (s.timestamp(), INF if e is None else e.timestamp(), st)
        for s, e, st in row["status_intervals"]
        if s.timestamp() >= created_at
    ]

    def counted(st: str) -> bool:
        return st in UNSOLVED and st not in pause

    outcome = row["sla_resolution_outcome"]
    paused = not ev.currently_resolved and row["status_at_as_of"] in pause
    if outcome in (BREACHED, ACHIEVED):
        due = row["sla_resolution_breach_at"]  # None if never reached
    elif outcome == ACTIVE and not paused:
        reached = _reach(intervals, counted, res, ev.as_of, ev.measure, ev.add)
        due = from_ts(reached) if reached is not None else None
    else:
        due = None
    warn = _reach(intervals, counted, ev.frac * res, ev.as_of, ev.measure, ev.add)
    return [
        TargetState(
            target=RESOLUTION,
            cycle=0,
            target_s=res,
            business_hours=ev.business,
            started_at=row["created_at"],
            due_at=due,
            warning_at=from_ts(warn) if warn is not None else None,
            elapsed_s=row["sla_resolution_elapsed_s"] or 0.0,
            paused=paused,
            outcome=outcome,
            outcome_at=row["sla_resolution_outcome_at"],
            open=not ev.currently_resolved,
        )
    ]
