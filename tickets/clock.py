"""The event-clock engine: one ticket's events folded into a timeline, the
business-time clock over its queue history, and the SLA outcomes derived
from both. Pure (no database access); shared by `tickets.sla` (due
instants) and `metrics.compute` (the metrics row), so that both read the
same clocks. Worked examples: tests/fixtures/metrics_examples/.

Times are POSIX seconds internally (instants, never wall-clock), instants in
row values are aware UTC datetimes.

    tl = fold(events, as_of)              # TicketEvent rows -> Timeline
    clk = Clock(tl.queue_segments, context.calendars)
    row, derived = timeline_row(tl, context, clk)  # base, replies, resolution
    sla_fields(row, tl, derived, context, clk)     # sla_* columns
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpdesk.lib.business_hours import ALWAYS_OPEN, BusinessCalendar, NeverOpen, from_ts

DEFINITION_VERSION = 4  # 4: per queue segment values (docs/metrics.md §1.8)

UNSOLVED = frozenset({"new", "open", "pending", "on_hold"})
RESOLVED = frozenset({"solved", "closed"})
DEFAULT_PAUSE = ("pending",)
KINDS = ("support", "service")

K_CREATED = "ticket.created"
K_MESSAGE = "message.created"
K_STATUS = "status.changed"
K_ASSIGNEE = "assignee.changed"
K_QUEUE = "group.changed"
K_PRIORITY = "priority.changed"
K_WORK = "work_session.recorded"
K_TIME = "time_entry.logged"
K_SURVEY = "survey.offered"
K_CSAT = "csat.responded"
K_MERGED_INTO = "ticket.merged_into"
K_SPAM = "ticket.marked_spam"
K_DELETED = "ticket.deleted"
K_RESTORED = "ticket.restored"

INF = float("inf")

Measure = Callable[[float, float], float]
Add = Callable[[float, float], float]


@dataclass(frozen=True)
class Ev:
    """The fields of a TicketEvent the clocks read."""

    id: int
    kind: str
    occurred_at: datetime
    actor_id: int | None = None
    actor_role: str = "system"
    visibility: str = ""
    is_automated: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_model(cls, e: Any) -> Ev:
        return cls(
            id=e.id,
            kind=e.kind,
            occurred_at=e.occurred_at,
            actor_id=e.actor_id,
            actor_role=e.actor_role,
            visibility=e.visibility,
            is_automated=e.is_automated,
            data=e.data or {},
        )


@dataclass
class Context:
    """What the clocks need besides the events.

    calendars: queue id -> BusinessCalendar (a queue without one is 24/7).
    sla_policies: queue id -> {"pause_statuses": [...], "targets": {priority: {...}}}.
    unusable: queue id -> why its calendar or policy cannot be used (its SLA is
    then not computable; see docs/resilience-config.md).
    """

    as_of: datetime
    calendars: Mapping[int, BusinessCalendar] = field(default_factory=dict)
    sla_policies: Mapping[int, Mapping[str, Any] | None] = field(default_factory=dict)
    unusable: Mapping[int, str] = field(default_factory=dict)


def ts(dt: datetime) -> float:
    return dt.timestamp()


def iso_ts(value: Any) -> float:
    """POSIX seconds of a datetime or an ISO 8601 string (a trailing Z is UTC)."""
    if isinstance(value, datetime):
        return value.timestamp()
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text).timestamp()


def dt_or_none(t: float | None) -> datetime | None:
    return None if t is None else from_ts(t)


def union_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """Length of the union of [s, e) intervals (empty ones ignored)."""
    total, cur_s = 0.0, 0.0
    cur_e: float | None = None
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def _calendar(calendars: Mapping[int, BusinessCalendar], queue_id: int | None) -> BusinessCalendar:
    found = calendars.get(queue_id) if queue_id is not None else None
    return found or ALWAYS_OPEN


class Clock:
    """Business time over the ticket's queue timeline (piecewise calendars,
    each queue's own calendar while the ticket is in it)."""

    def __init__(self, segments: Sequence[tuple[float, int | None]], calendars: Mapping[int, BusinessCalendar]):
        # segments: [(start_ts, queue_id)], sorted; each runs to the next start.
        self.segments = [
            (s, segments[i + 1][0] if i + 1 < len(segments) else INF, _calendar(calendars, q))
            for i, (s, q) in enumerate(segments)
        ]
        self.single = len({id(c) for _, _, c in self.segments}) <= 1
        self.first = self.segments[0][2] if self.segments else ALWAYS_OPEN

    def bus(self, a: float, b: float) -> float:
        if b <= a:
            return 0.0
        if self.single:
            return self.first.seconds_ts(a, b)
        total = 0.0
        for s, e, cal in self.segments:
            lo, hi = max(a, s if s is not None else a), min(b, e)
            if hi > lo:
                total += cal.seconds_ts(lo, hi)
        # Before the first segment (events before creation): first calendar.
        if self.segments and a < self.segments[0][0]:
            total += self.first.seconds_ts(a, min(b, self.segments[0][0]))
        return total

    def add(self, a: float, secs: float) -> float:
        if secs <= 0:
            return a
        if self.single:
            return self.first.add_ts(a, secs)
        remaining = secs
        for s, e, cal in self.segments:
            if e <= a:
                continue
            lo = max(a, s)
            if e == INF:
                return cal.add_ts(lo, remaining)
            avail = cal.seconds_ts(lo, e)
            if remaining <= avail:
                return cal.add_ts(lo, remaining)
            remaining -= avail
        return self.segments[-1][2].add_ts(max(a, self.segments[-1][0]), remaining)


def calendar_clock(a: float, b: float) -> float:
    return max(b - a, 0.0)


def calendar_add(a: float, secs: float) -> float:
    return a + secs


def clock_fns(clock: Clock, business: bool) -> tuple[Measure, Add]:
    """(measure, add) of a target: business time on the clock, or wall time."""
    if business:
        return clock.bus, clock.add
    return calendar_clock, calendar_add


def is_public_agent_reply(e: Ev) -> bool:
    role = e.data.get("author_role") or e.actor_role
    visibility = e.visibility or e.data.get("visibility", "")
    return (
        role == "agent"
        and visibility == "public"
        and not (e.is_automated or e.data.get("is_automated"))
        and not e.data.get("via_ticket_sharing")
        and not e.data.get("via_merge")
    )


def is_customer_public(e: Ev) -> bool:
    role = e.data.get("author_role") or e.actor_role
    visibility = e.visibility or e.data.get("visibility", "")
    return role == "customer" and visibility == "public"


def is_resolution(source: str | None, target: str) -> bool:
    return target == "solved" or (target == "closed" and source in UNSOLVED)


# ---------------------------------------------------------------------------
# The fold: a handler per TicketEvent kind.


@dataclass
class Timeline:
    """One ticket's events folded in (occurred_at, id) order."""

    created: Ev
    created_at: float
    as_of: float
    initial_status: str
    created_by_role: str
    status: str
    queue_id: int | None
    queue_kind: str | None
    priority: str
    status_changes: list[tuple[float, str]] = field(default_factory=list)
    queue_segments: list[tuple[float, int | None]] = field(default_factory=list)
    # Per queue segment (parallel to queue_segments): its kind; and, per reply /
    # resolution / rating, the index of the segment it happened in (ties at a move's
    # instant follow the log order). Segment attribution:
    # docs/metrics.md#18-queue-and-kind-attribution-across-escalations
    segment_kinds: list[str | None] = field(default_factory=list)
    reply_segs: list[int] = field(default_factory=list)
    resolution_segs: list[int] = field(default_factory=list)
    csat_seg: int = 0
    csat_offered_seg: int = 0
    queues_seen: set[int] = field(default_factory=set)
    # Escalations (queue moves that change kind, docs/metrics.md#escalations): (ts, from kind, to kind).
    escalations: list[tuple[float, str, str]] = field(default_factory=list)
    assignee: int | None = None
    assignees_seen: set[int] = field(default_factory=set)
    replies: list[tuple[float, int | None]] = field(default_factory=list)
    customer_msgs: list[float] = field(default_factory=list)
    resolutions: list[tuple[float, int | None]] = field(default_factory=list)  # (ts, assignee then)
    reopen_ts: list[float] = field(default_factory=list)
    # Ordered stream for next-reply runs and substantive reopens: (ts, tag).
    stream: list[tuple[float, str]] = field(default_factory=list)
    csat: tuple[float, str, Any, int | None] | None = None
    csat_offered_at: float | None = None
    sessions: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    time_logged: float = 0.0
    has_time_entry: bool = False
    spam: bool = False
    deleted: bool = False
    merged: bool = False

    @property
    def excluded_reason(self) -> str | None:
        return "spam" if self.spam else "merged" if self.merged else "deleted" if self.deleted else None

    @property
    def created_resolved(self) -> bool:
        return self.initial_status in RESOLVED

    @property
    def currently_resolved(self) -> bool:
        return self.status in RESOLVED


def _on_status(tl: Timeline, e: Ev, t: float) -> None:
    source, target = e.data.get("from", tl.status), e.data["to"]
    if is_resolution(source, target):
        tl.resolutions.append((t, tl.assignee))
        tl.resolution_segs.append(len(tl.queue_segments) - 1)
        tl.stream.append((t, "resolution"))
    elif source in RESOLVED and target in UNSOLVED:
        tl.reopen_ts.append(t)
        tl.stream.append((t, "reopen"))
    tl.status = target
    tl.status_changes.append((t, target))


def _on_message(tl: Timeline, e: Ev, t: float) -> None:
    if is_public_agent_reply(e):
        tl.replies.append((t, e.actor_id))
        tl.reply_segs.append(len(tl.queue_segments) - 1)
        tl.stream.append((t, "reply"))
    elif is_customer_public(e):
        tl.customer_msgs.append(t)
        tl.stream.append((t, "customer"))


def _on_assignee(tl: Timeline, e: Ev, t: float) -> None:
    tl.assignee = e.data.get("to")
    if tl.assignee is not None:
        tl.assignees_seen.add(tl.assignee)


def _on_queue(tl: Timeline, e: Ev, t: float) -> None:
    tl.queue_id = e.data.get("to")
    before = tl.queue_kind
    tl.queue_kind = e.data.get("to_kind", tl.queue_kind)
    if before in KINDS and tl.queue_kind in KINDS and before != tl.queue_kind:
        tl.escalations.append((t, before, tl.queue_kind))
    tl.queue_segments.append((t, tl.queue_id))
    tl.segment_kinds.append(tl.queue_kind)
    if tl.queue_id is not None:
        tl.queues_seen.add(tl.queue_id)


def _on_priority(tl: Timeline, e: Ev, t: float) -> None:
    tl.priority = e.data.get("to", tl.priority)


def _on_work(tl: Timeline, e: Ev, t: float) -> None:
    agent = e.data.get("agent_id", e.actor_id)
    tl.sessions.setdefault(agent, []).append((iso_ts(e.data["started_at"]), iso_ts(e.data["ended_at"])))


def _on_time(tl: Timeline, e: Ev, t: float) -> None:
    tl.has_time_entry = True
    tl.time_logged += float(e.data.get("seconds", 0))


def _on_survey(tl: Timeline, e: Ev, t: float) -> None:
    if e.data.get("survey", "csat") == "csat" and tl.csat_offered_at is None:
        tl.csat_offered_at = t
        tl.csat_offered_seg = _seg_of_rating(tl)


def _on_csat(tl: Timeline, e: Ev, t: float) -> None:
    last_res_assignee = tl.resolutions[-1][1] if tl.resolutions else None
    tl.csat = (t, e.data.get("scale", "1-5"), e.data.get("value"), last_res_assignee)
    tl.csat_seg = _seg_of_rating(tl)


def _seg_of_rating(tl: Timeline) -> int:
    """CSAT goes to the queue at the last resolution before the rating (else the current one)."""
    return tl.resolution_segs[-1] if tl.resolution_segs else len(tl.queue_segments) - 1


def _on_merged(tl: Timeline, e: Ev, t: float) -> None:
    tl.merged = True


def _on_spam(tl: Timeline, e: Ev, t: float) -> None:
    tl.spam = True


def _on_deleted(tl: Timeline, e: Ev, t: float) -> None:
    tl.deleted = True


def _on_restored(tl: Timeline, e: Ev, t: float) -> None:
    tl.spam = tl.deleted = False


Handler = Callable[[Timeline, Ev, float], None]

# Kinds absent here (ticket.created, tags, fields, ...) do not move a clock.
HANDLERS: dict[str, Handler] = {
    K_STATUS: _on_status,
    K_MESSAGE: _on_message,
    K_ASSIGNEE: _on_assignee,
    K_QUEUE: _on_queue,
    K_PRIORITY: _on_priority,
    K_WORK: _on_work,
    K_TIME: _on_time,
    K_SURVEY: _on_survey,
    K_CSAT: _on_csat,
    K_MERGED_INTO: _on_merged,
    K_SPAM: _on_spam,
    K_DELETED: _on_deleted,
    K_RESTORED: _on_restored,
}


def sorted_events(events: Iterable[Ev | Any], as_of: float) -> list[Ev]:
    """The events as `Ev`, in (occurred_at, id) order, up to `as_of`."""
    evs = sorted(
        (e if isinstance(e, Ev) else Ev.from_model(e) for e in events),
        key=lambda e: (e.occurred_at, e.id),
    )
    return [e for e in evs if ts(e.occurred_at) <= as_of]


def _start(created: Ev, as_of: float) -> Timeline:
    cd = created.data
    created_at = ts(created.occurred_at)
    initial_status = cd.get("to", "new")
    queue_id = cd.get("queue_id")
    return Timeline(
        created=created,
        created_at=created_at,
        as_of=as_of,
        initial_status=initial_status,
        created_by_role=cd.get("creation_message_author_role") or cd.get("created_by_role") or created.actor_role,
        status=initial_status,
        queue_id=queue_id,
        queue_kind=cd.get("kind"),
        priority=cd.get("priority", "normal"),
        status_changes=[(created_at, initial_status)],
        queue_segments=[(created_at, queue_id)],
        segment_kinds=[cd.get("kind")],
        queues_seen={queue_id} if queue_id is not None else set(),
    )


def fold(events: Iterable[Ev | Any], as_of: datetime) -> Timeline:
    """Fold a ticket's events up to `as_of` (ValueError without ticket.created)."""
    return fold_sorted(sorted_events(events, ts(as_of)), ts(as_of))


def fold_sorted(evs: Sequence[Ev], as_of_ts: float) -> Timeline:
    """`fold` of events already in `sorted_events` order (the metrics path sorts them once)."""
    created = next((e for e in evs if e.kind == K_CREATED), None)
    if created is None:
        raise ValueError("a ticket's events must include ticket.created")
    tl = _start(created, as_of_ts)
    for e in evs:
        handler = HANDLERS.get(e.kind)
        if handler is not None:
            handler(tl, e, ts(e.occurred_at))
    return tl


# ---------------------------------------------------------------------------
# Derived clocks (row sections, in the metrics row's column order).


@dataclass
class Derived:
    """Instants and runs the SLA outcomes are computed from."""

    frt_start: float | None = None
    first_reply: tuple[float, int | None] | None = None
    # Next-reply runs (reply clock cycles, numbered from 1 including cancelled
    # ones): (cycle, start, reply instant or None while still open at as_of).
    nr_runs: list[tuple[int, float, float | None]] = field(default_factory=list)
    first_resolved: float | None = None
    last_resolved: float | None = None
    last_resolution: tuple[float, int | None] | None = None
    # Status intervals [s, e) (zero-length dropped); the last one is open.
    intervals: list[tuple[float, float, str]] = field(default_factory=list)

    @property
    def has_first_reply(self) -> bool:
        return bool(self.first_reply)


def base_row(tl: Timeline, context: Context) -> dict[str, Any]:
    excluded_reason = tl.excluded_reason
    return {
        "definition_version": DEFINITION_VERSION,
        "as_of": context.as_of.astimezone(UTC),
        "excluded": excluded_reason is not None,
        "excluded_reason": excluded_reason,
        "created_at": from_ts(tl.created_at),
        "created_resolved": tl.created_resolved,
        "status_at_as_of": tl.status,
        "queue_id": tl.queue_id,
        "kind": tl.queue_kind,
        "priority": tl.priority,
        "channel": tl.created.data.get("channel"),
        "created_by_role": tl.created_by_role,
        "assignee_id": tl.assignee,
    }


def first_reply_fields(row: dict[str, Any], tl: Timeline, d: Derived, bus: Measure) -> None:
    """M1 first response. Start: creation for customer-authored tickets, else
    the first customer public message at or after creation."""
    if tl.created_by_role == "customer":
        d.frt_start = tl.created_at
    else:
        d.frt_start = next((t for t in tl.customer_msgs if t >= tl.created_at), None)
    if d.frt_start is not None:
        d.first_reply = next(((t, a) for t, a in tl.replies if t >= d.frt_start), None)
    first_reply, frt_start = d.first_reply, d.frt_start
    row["frt_start_at"] = dt_or_none(frt_start)
    row["first_reply_at"] = dt_or_none(first_reply[0]) if first_reply else None
    row["first_replier_id"] = first_reply[1] if first_reply else None
    row["frt_cal_s"] = first_reply[0] - frt_start if first_reply and frt_start is not None else None
    row["frt_bus_s"] = bus(frt_start, first_reply[0]) if first_reply and frt_start is not None else None
    # Zendesk-native rule (comparison only): creation -> first public agent reply event.
    zd = tl.replies[0][0] if tl.replies else None
    row["frt_zendesk_cal_s"] = zd - tl.created_at if zd is not None else None
    row["frt_zendesk_bus_s"] = bus(tl.created_at, zd) if zd is not None else None


def _next_reply_runs(
    stream: Sequence[tuple[float, str]], first_reply_at: float
) -> list[tuple[int, float, float | None]]:
    runs: list[tuple[int, float, float | None]] = []
    run_start = None
    cycle = 0
    for t, tag in stream:
        if t < first_reply_at or (t == first_reply_at and tag == "customer"):
            continue
        if tag == "customer" and run_start is None:
            run_start = t
            cycle += 1
        elif tag == "reply" and run_start is not None:
            runs.append((cycle, run_start, t))
            run_start = None
        elif tag == "resolution":
            run_start = None  # cancelled: no value, no SLA outcome
    if run_start is not None:
        runs.append((cycle, run_start, None))
    return runs


def next_reply_fields(row: dict[str, Any], tl: Timeline, d: Derived, bus: Measure) -> None:
    """M2 next reply: runs of customer messages after the first counted reply."""
    if d.first_reply:
        d.nr_runs = _next_reply_runs(tl.stream, d.first_reply[0])
    replied = [(start, stop) for _cycle, start, stop in d.nr_runs if stop is not None]
    row["next_reply_cal_s"] = [stop - start for start, stop in replied]
    row["next_reply_bus_s"] = [bus(start, stop) for start, stop in replied]
    row["next_reply_at"] = [from_ts(stop) for _start, stop in replied]
    repliers = dict(tl.replies)
    row["next_reply_agent_id"] = [repliers.get(stop) for _start, stop in replied]


def resolution_fields(row: dict[str, Any], tl: Timeline, d: Derived, bus: Measure) -> None:
    """M3/M4 resolution instants."""
    d.first_resolved = tl.resolutions[0][0] if tl.resolutions else None
    d.last_resolution = tl.resolutions[-1] if (tl.resolutions and tl.currently_resolved) else None
    d.last_resolved = d.last_resolution[0] if d.last_resolution else None
    created_at, first, last = tl.created_at, d.first_resolved, d.last_resolved
    measured = not tl.created_resolved
    row["first_resolved_at"] = dt_or_none(first) if measured else None
    row["last_resolved_at"] = dt_or_none(last) if measured else None
    row["first_resolution_cal_s"] = first - created_at if measured and first is not None else None
    row["first_resolution_bus_s"] = bus(created_at, first) if measured and first is not None else None
    row["full_resolution_cal_s"] = last - created_at if measured and last else None
    row["full_resolution_bus_s"] = bus(created_at, last) if measured and last else None
    row["resolver_id"] = d.last_resolution[1] if (d.last_resolution and measured) else None


def interval_fields(row: dict[str, Any], tl: Timeline, d: Derived) -> None:
    changes = tl.status_changes
    for i, (s, st) in enumerate(changes):
        e = changes[i + 1][0] if i + 1 < len(changes) else INF
        if e > s:
            d.intervals.append((s, e, st))
    row["status_intervals"] = [(from_ts(s), None if e == INF else from_ts(e), st) for s, e, st in d.intervals]


def timeline_row(tl: Timeline, context: Context, clock: Clock) -> tuple[dict[str, Any], Derived]:
    """The base columns, first/next reply, resolution instants and status intervals."""
    row = base_row(tl, context)
    d = Derived()
    first_reply_fields(row, tl, d, clock.bus)
    next_reply_fields(row, tl, d, clock.bus)
    resolution_fields(row, tl, d, clock.bus)
    interval_fields(row, tl, d)
    return row, d


# ---------------------------------------------------------------------------
# SLA outcomes (M14).

SLA_TARGET_FIELDS = ("target_s", "outcome", "elapsed_s", "breach_at", "outcome_at")


def clear_sla_fields(row: dict[str, Any]) -> None:
    for target in ("first_reply", "resolution"):
        for f in SLA_TARGET_FIELDS:
            row[f"sla_{target}_{f}"] = None
    row["sla_next_reply_target_s"] = None
    row["sla_next_reply_achieved"] = 0
    row["sla_next_reply_breached"] = 0
    row["sla_next_reply_outcome_at"] = None
    row["sla_next_reply_cycles"] = []
    row["sla_next_breach_at"] = None


@dataclass
class SLAClock:
    """One policy's targets for the ticket's priority, on the chosen clock."""

    policy: Mapping[str, Any]
    targets: Mapping[str, Any]
    measure: Measure
    add: Add
    as_of: float
    upcoming: list[float] = field(default_factory=list)


def _sla_first_reply(row: dict[str, Any], d: Derived, c: SLAClock) -> None:
    fr_target = c.targets.get("first_response", c.targets.get("first_reply"))
    if fr_target is None or d.frt_start is None:
        return
    fr_target = float(fr_target)
    breach = c.add(d.frt_start, fr_target)
    row["sla_first_reply_target_s"] = fr_target
    row["sla_first_reply_breach_at"] = from_ts(breach)
    if d.first_reply:
        elapsed = c.measure(d.frt_start, d.first_reply[0])
        row["sla_first_reply_elapsed_s"] = elapsed
        if elapsed <= fr_target:
            row["sla_first_reply_outcome"], row["sla_first_reply_outcome_at"] = "achieved", dt_or_none(d.first_reply[0])
        else:
            row["sla_first_reply_outcome"], row["sla_first_reply_outcome_at"] = "breached", from_ts(breach)
        return
    resolved_at = row["last_resolved_at"].timestamp() if row["last_resolved_at"] else None
    stop = resolved_at if resolved_at is not None else c.as_of
    row["sla_first_reply_elapsed_s"] = c.measure(d.frt_start, stop)
    if breach <= stop:
        row["sla_first_reply_outcome"], row["sla_first_reply_outcome_at"] = "breached", from_ts(breach)
    elif resolved_at is None:
        row["sla_first_reply_outcome"] = "active"
        c.upcoming.append(breach)
    # resolved before any reply and before the breach: no outcome (cancelled)


def _next_reply_cycle(cycle: int, start: float, stop: float | None, target: float, c: SLAClock) -> dict[str, Any]:
    breach = c.add(start, target)
    elapsed = c.measure(start, stop if stop is not None else c.as_of)
    outcome_at: float | None
    if stop is not None and elapsed <= target:
        outcome, outcome_at = "achieved", stop
    elif stop is not None or breach <= c.as_of:
        outcome, outcome_at = "breached", breach
    else:
        outcome, outcome_at = "active", None
        c.upcoming.append(breach)
    return {
        "cycle": cycle,
        "started_at": from_ts(start),
        "stopped_at": dt_or_none(stop),
        "elapsed_s": elapsed,
        "breach_at": from_ts(breach),
        "outcome": outcome,
        "outcome_at": dt_or_none(outcome_at),
    }


def _sla_next_reply(row: dict[str, Any], d: Derived, c: SLAClock) -> None:
    """Next reply (M2 clock, never paused): one outcome per cycle (run). A
    cycle is achieved if replied within the target, breached at its breach
    instant (even while still open), else active; a cancelled run (resolved
    before any reply) has no outcome. The row keeps the counts and the
    latest outcome instant (the rollup cohort)."""
    nr_target = c.targets.get("next_reply")
    if nr_target is None or not d.first_reply:
        return
    nr_target = float(nr_target)
    cycles = [_next_reply_cycle(cycle, start, stop, nr_target, c) for cycle, start, stop in d.nr_runs]
    decided = [cy for cy in cycles if cy["outcome"] != "active"]
    row["sla_next_reply_target_s"] = nr_target
    row["sla_next_reply_achieved"] = sum(cy["outcome"] == "achieved" for cy in cycles)
    row["sla_next_reply_breached"] = sum(cy["outcome"] == "breached" for cy in cycles)
    row["sla_next_reply_outcome_at"] = max((cy["outcome_at"] for cy in decided), default=None)
    row["sla_next_reply_cycles"] = cycles


def _resolution_clock(
    intervals: Sequence[tuple[float, float, str]], created_at: float, pause: set[str], target: float, c: SLAClock
) -> tuple[float, float | None, float | None]:
    """(elapsed, breach instant if reached, projected breach if running)."""
    elapsed = 0.0
    breach_at = None
    projected = None
    for s, e, st in intervals:
        if st not in UNSOLVED or st in pause or s < created_at:
            continue
        hi = min(e, c.as_of)
        part = c.measure(s, hi) if hi > s else 0.0
        if breach_at is None and elapsed + part >= target:
            breach_at = c.add(s, target - elapsed)
        if e == INF and breach_at is None:
            projected = c.add(s, target - elapsed)
        elapsed += part
    return elapsed, breach_at, projected


def _sla_resolution(row: dict[str, Any], tl: Timeline, d: Derived, c: SLAClock) -> None:
    res_target = c.targets.get("resolution")
    if res_target is None:
        return
    res_target = float(res_target)
    pause = set(c.policy.get("pause_statuses") or DEFAULT_PAUSE)
    elapsed, breach_at, projected = _resolution_clock(d.intervals, tl.created_at, pause, res_target, c)
    row["sla_resolution_target_s"] = res_target
    row["sla_resolution_elapsed_s"] = elapsed
    row["sla_resolution_breach_at"] = dt_or_none(breach_at)
    last_resolved = row["last_resolved_at"]
    if last_resolved is not None:
        if elapsed <= res_target:
            row["sla_resolution_outcome"], row["sla_resolution_outcome_at"] = "achieved", last_resolved
        else:
            row["sla_resolution_outcome"], row["sla_resolution_outcome_at"] = "breached", dt_or_none(breach_at)
    elif breach_at is not None:
        row["sla_resolution_outcome"], row["sla_resolution_outcome_at"] = "breached", dt_or_none(breach_at)
    else:
        row["sla_resolution_outcome"] = "active"
        if projected is not None:
            c.upcoming.append(projected)


def sla_fields(row: dict[str, Any], tl: Timeline, d: Derived, context: Context, clock: Clock) -> None:
    """The sla_* columns (M14): outcome, elapsed and breach instant per target."""
    clear_sla_fields(row)
    policy = context.sla_policies.get(tl.queue_id) if tl.queue_id is not None else None
    if not policy or tl.created_resolved:
        return
    targets = (policy.get("targets") or {}).get(tl.priority) or {}
    measure, add = clock_fns(clock, targets.get("business_hours", True))
    c = SLAClock(policy=policy, targets=targets, measure=measure, add=add, as_of=tl.as_of)
    try:
        _sla_first_reply(row, d, c)
        _sla_next_reply(row, d, c)
        _sla_resolution(row, tl, d, c)
    except NeverOpen:  # no open hours ahead: not computable (the context names the calendar)
        clear_sla_fields(row)
        return
    row["sla_next_breach_at"] = dt_or_none(min(c.upcoming)) if c.upcoming else None
