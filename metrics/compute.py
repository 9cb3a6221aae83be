"""The pure metrics function: one ticket's events -> its metrics row.

    compute(events, context) -> dict

No database access: the caller loads the ticket's TicketEvent rows (through
tickets.selectors), the calendars and SLA policies of the queues, and an
as-of instant. The output uses the field names of
tests/fixtures/metrics_examples/expected.json, plus internal ids (`*_id`),
cohort instants and attribution used by the storage layer. Definitions are
METRICS.md M1-M14 and section 1; `DEFINITION_VERSION` changes whenever any of
them does (then run `manage.py metrics_rebuild`).

Times are handled as POSIX seconds internally (instants, never wall-clock:
METRICS 1.4), instants in the output are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from helpdesk.lib.business_hours import ALWAYS_OPEN, BusinessCalendar, from_ts

DEFINITION_VERSION = 2

UNSOLVED = frozenset({"new", "open", "pending", "on_hold"})
RESOLVED = frozenset({"solved", "closed"})
DEFAULT_PAUSE = ("pending",)

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


@dataclass(frozen=True)
class Ev:
    """The fields of a TicketEvent the metrics read."""

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
    """What compute() needs besides the events.

    calendars: queue id -> BusinessCalendar (a queue without one is 24/7).
    sla_policies: queue id -> {"pause_statuses": [...], "targets": {priority: {...}}}.
    unusable: queue id -> why its calendar or policy cannot be used (its SLA is
    then not computable; see docs/resilience-config.md).
    """

    as_of: datetime
    calendars: Mapping[int, BusinessCalendar] = field(default_factory=dict)
    sla_policies: Mapping[int, Mapping[str, Any] | None] = field(default_factory=dict)
    unusable: Mapping[int, str] = field(default_factory=dict)


def _ts(dt: datetime) -> float:
    return dt.timestamp()


def _iso_ts(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text).timestamp()


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else from_ts(ts)


def _union_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    total, cur_s, cur_e = 0.0, None, None
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


class _Clock:
    """Business time over the ticket's queue timeline (piecewise calendars, METRICS 1.5)."""

    def __init__(self, segments: Sequence[tuple[float, int | None]], calendars: Mapping[int, BusinessCalendar]):
        # segments: [(start_ts, queue_id)], sorted; each runs to the next start.
        self.segments = [
            (s, segments[i + 1][0] if i + 1 < len(segments) else INF, calendars.get(q) or ALWAYS_OPEN)
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


def _calendar_clock(a: float, b: float) -> float:
    return max(b - a, 0.0)


def _is_public_agent_reply(e: Ev) -> bool:
    role = e.data.get("author_role") or e.actor_role
    visibility = e.visibility or e.data.get("visibility", "")
    return (
        role == "agent"
        and visibility == "public"
        and not (e.is_automated or e.data.get("is_automated"))
        and not e.data.get("via_ticket_sharing")
        and not e.data.get("via_merge")
    )


def _is_customer_public(e: Ev) -> bool:
    role = e.data.get("author_role") or e.actor_role
    visibility = e.visibility or e.data.get("visibility", "")
    return role == "customer" and visibility == "public"


def _is_resolution(source: str | None, target: str) -> bool:
    return target == "solved" or (target == "closed" and source in UNSOLVED)


def _csat_satisfied(scale: str, value: Any) -> bool | None:
    if value is None:
        return None
    if scale == "good_bad" or value in ("good", "bad"):
        return value == "good"
    try:
        return int(value) >= 4
    except (TypeError, ValueError):
        return None


STATUS_FIELDS = {
    # field prefix -> categories counted (METRICS M5-M8, M4 invariant)
    "requester_wait": ("new", "open", "on_hold"),
    "agent_wait": ("pending",),
    "on_hold": ("on_hold",),
    "time_in_progress": ("open",),
    "queue_time": ("new",),
    "agent_work": ("new", "open"),
    "solved_before_reopen": ("solved", "closed"),
}


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
    as_of = _ts(context.as_of)
    evs = sorted(
        (e if isinstance(e, Ev) else Ev.from_model(e) for e in events),
        key=lambda e: (e.occurred_at, e.id),
    )
    evs = [e for e in evs if _ts(e.occurred_at) <= as_of]
    created = next((e for e in evs if e.kind == K_CREATED), None)
    if created is None:
        raise ValueError("a ticket's events must include ticket.created")
    cd = created.data
    created_at = _ts(created.occurred_at)
    initial_status = cd.get("to", "new")
    created_by_role = cd.get("creation_message_author_role") or cd.get("created_by_role") or created.actor_role

    status = initial_status
    status_changes: list[tuple[float, str]] = [(created_at, initial_status)]
    queue_id = cd.get("queue_id")
    queue_kind = cd.get("kind")
    queue_segments: list[tuple[float, int | None]] = [(created_at, queue_id)]
    queues_seen = {queue_id} if queue_id is not None else set()
    priority = cd.get("priority", "normal")
    assignee: int | None = None
    assignees_seen: set[int] = set()
    replies: list[tuple[float, int | None]] = []
    customer_msgs: list[float] = []
    resolutions: list[tuple[float, int | None]] = []  # (ts, assignee then)
    reopen_ts: list[float] = []
    # ordered stream for NRT and substantive reopens: (ts, tag)
    stream: list[tuple[float, str]] = []
    csat: tuple[float, str, Any, int | None] | None = None
    csat_offered_at: float | None = None
    sessions: dict[int, list[tuple[float, float]]] = {}
    time_logged = 0.0
    has_time_entry = False
    spam = deleted = merged = False

    for e in evs:
        t = _ts(e.occurred_at)
        d = e.data
        k = e.kind
        if k == K_STATUS:
            source, target = d.get("from", status), d["to"]
            if _is_resolution(source, target):
                resolutions.append((t, assignee))
                stream.append((t, "resolution"))
            elif source in RESOLVED and target in UNSOLVED:
                reopen_ts.append(t)
                stream.append((t, "reopen"))
            status = target
            status_changes.append((t, target))
        elif k == K_MESSAGE:
            if _is_public_agent_reply(e):
                replies.append((t, e.actor_id))
                stream.append((t, "reply"))
            elif _is_customer_public(e):
                customer_msgs.append(t)
                stream.append((t, "customer"))
        elif k == K_ASSIGNEE:
            assignee = d.get("to")
            if assignee is not None:
                assignees_seen.add(assignee)
        elif k == K_QUEUE:
            queue_id = d.get("to")
            queue_kind = d.get("to_kind", queue_kind)
            queue_segments.append((t, queue_id))
            if queue_id is not None:
                queues_seen.add(queue_id)
        elif k == K_PRIORITY:
            priority = d.get("to", priority)
        elif k == K_WORK:
            agent = d.get("agent_id", e.actor_id)
            sessions.setdefault(agent, []).append((_iso_ts(d["started_at"]), _iso_ts(d["ended_at"])))
        elif k == K_TIME:
            has_time_entry = True
            time_logged += float(d.get("seconds", 0))
        elif k == K_SURVEY:
            if d.get("survey", "csat") == "csat" and csat_offered_at is None:
                csat_offered_at = t
        elif k == K_CSAT:
            last_res_assignee = resolutions[-1][1] if resolutions else None
            csat = (t, d.get("scale", "1-5"), d.get("value"), last_res_assignee)
        elif k == K_MERGED_INTO:
            merged = True
        elif k == K_SPAM:
            spam = True
        elif k == K_DELETED:
            deleted = True
        elif k == K_RESTORED:
            spam = deleted = False

    clock = _Clock(queue_segments, context.calendars)
    bus = clock.bus

    excluded_reason = "spam" if spam else "merged" if merged else "deleted" if deleted else None
    created_resolved = initial_status in RESOLVED
    currently_resolved = status in RESOLVED

    row: dict[str, Any] = {
        "definition_version": DEFINITION_VERSION,
        "as_of": context.as_of.astimezone(UTC),
        "excluded": excluded_reason is not None,
        "excluded_reason": excluded_reason,
        "created_at": from_ts(created_at),
        "created_resolved": created_resolved,
        "status_at_as_of": status,
        "queue_id": queue_id,
        "kind": queue_kind,
        "priority": priority,
        "channel": cd.get("channel"),
        "created_by_role": created_by_role,
        "assignee_id": assignee,
    }

    # M1 first response. Start: creation for customer-authored tickets, else
    # the first customer public message at or after creation (METRICS 1.3).
    if created_by_role == "customer":
        frt_start: float | None = created_at
    else:
        frt_start = next((t for t in customer_msgs if t >= created_at), None)
    first_reply = None
    if frt_start is not None:
        first_reply = next(((t, a) for t, a in replies if t >= frt_start), None)
    row["frt_start_at"] = _dt(frt_start)
    row["first_reply_at"] = _dt(first_reply[0]) if first_reply else None
    row["first_replier_id"] = first_reply[1] if first_reply else None
    row["frt_cal_s"] = first_reply[0] - frt_start if first_reply else None
    row["frt_bus_s"] = bus(frt_start, first_reply[0]) if first_reply else None
    # Zendesk-native rule (comparison only): creation -> first public agent reply event.
    zd = replies[0][0] if replies else None
    row["frt_zendesk_cal_s"] = zd - created_at if zd is not None else None
    row["frt_zendesk_bus_s"] = bus(created_at, zd) if zd is not None else None

    # M2 next reply: runs of customer messages after the first counted reply.
    nrt_cal: list[float] = []
    nrt_bus: list[float] = []
    nrt_at: list[datetime] = []
    # The runs (reply clock cycles, numbered from 1 including cancelled ones):
    # (cycle, start, reply instant or None while still open at as_of).
    nr_runs: list[tuple[int, float, float | None]] = []
    if first_reply:
        run_start = None
        cycle = 0
        for t, tag in stream:
            if t < first_reply[0] or (t == first_reply[0] and tag == "customer"):
                continue
            if tag == "customer" and run_start is None:
                run_start = t
                cycle += 1
            elif tag == "reply" and run_start is not None:
                nrt_cal.append(t - run_start)
                nrt_bus.append(bus(run_start, t))
                nrt_at.append(from_ts(t))
                nr_runs.append((cycle, run_start, t))
                run_start = None
            elif tag == "resolution":
                run_start = None  # cancelled: no value, no SLA outcome
        if run_start is not None:
            nr_runs.append((cycle, run_start, None))
    row["next_reply_cal_s"] = nrt_cal
    row["next_reply_bus_s"] = nrt_bus
    row["next_reply_at"] = nrt_at

    # M3/M4 resolution instants.
    first_resolved = resolutions[0][0] if resolutions else None
    last_resolution = resolutions[-1] if (resolutions and currently_resolved) else None
    last_resolved = last_resolution[0] if last_resolution else None
    resolution_metrics = not created_resolved
    row["first_resolved_at"] = _dt(first_resolved) if resolution_metrics else None
    row["last_resolved_at"] = _dt(last_resolved) if resolution_metrics else None
    row["first_resolution_cal_s"] = (
        first_resolved - created_at if resolution_metrics and first_resolved is not None else None
    )
    row["first_resolution_bus_s"] = (
        bus(created_at, first_resolved) if resolution_metrics and first_resolved is not None else None
    )
    row["full_resolution_cal_s"] = last_resolved - created_at if resolution_metrics and last_resolved else None
    row["full_resolution_bus_s"] = bus(created_at, last_resolved) if resolution_metrics and last_resolved else None
    row["resolver_id"] = last_resolution[1] if (last_resolution and resolution_metrics) else None

    # Status intervals [s, e) (zero-length dropped); the last one is open.
    intervals: list[tuple[float, float, str]] = []
    for i, (s, st) in enumerate(status_changes):
        e = status_changes[i + 1][0] if i + 1 < len(status_changes) else INF
        if e > s:
            intervals.append((s, e, st))
    row["status_intervals"] = [(from_ts(s), None if e == INF else from_ts(e), st) for s, e, st in intervals]

    # M5-M8 time in status within [created, last resolution) or up to as_of.
    window_end = last_resolved if last_resolved is not None else as_of
    per_cat_cal: dict[str, float] = dict.fromkeys(("new", "open", "pending", "on_hold", "solved", "closed"), 0.0)
    per_cat_bus = dict(per_cat_cal)
    for s, e, st in intervals:
        lo, hi = max(s, created_at), min(e, window_end)
        if hi > lo:
            per_cat_cal[st] = per_cat_cal.get(st, 0.0) + (hi - lo)
            per_cat_bus[st] = per_cat_bus.get(st, 0.0) + bus(lo, hi)
    for name, cats in STATUS_FIELDS.items():
        row[f"{name}_cal_s"] = sum(per_cat_cal.get(c, 0.0) for c in cats) if resolution_metrics else None
        row[f"{name}_bus_s"] = sum(per_cat_bus.get(c, 0.0) for c in cats) if resolution_metrics else None

    # M12 reopens (raw and substantive).
    row["reopens"] = len(reopen_ts)
    substantive = 0
    pending_reopen = False
    for _t, tag in stream:
        if tag == "reopen":
            pending_reopen = True
        elif tag == "reply" and pending_reopen:
            substantive += 1
            pending_reopen = False
        elif tag == "resolution":
            pending_reopen = False
    row["substantive_reopens"] = substantive
    row["public_agent_replies"] = len(replies)

    # M11 FCR: currently resolved, exactly one reply, sent at or before the first resolution.
    eligible = bool(resolution_metrics and currently_resolved and last_resolved is not None and replies)
    row["fcr_eligible"] = eligible
    row["fcr"] = bool(eligible and len(replies) == 1 and replies[0][0] <= first_resolved)
    row["zero_touch"] = bool(resolution_metrics and currently_resolved and last_resolved is not None and not replies)

    row["assignee_stations"] = len(assignees_seen)
    row["group_stations"] = len(queues_seen)

    # M10 CSAT: the latest rating.
    row["csat_offered"] = csat_offered_at is not None
    row["csat_offered_at"] = _dt(csat_offered_at)
    if csat:
        t, scale, value, agent = csat
        row["csat_value"] = value
        row["csat_scale"] = scale
        row["csat_satisfied"] = _csat_satisfied(scale, value)
        row["csat_at"] = from_ts(t)
        row["csat_agent_id"] = agent
    else:
        row.update(csat_value=None, csat_scale=None, csat_satisfied=None, csat_at=None, csat_agent_id=None)
    row.update(ces_fields(evs))

    # M9 handle time: union of each agent's sessions, summed over agents.
    if sessions:
        by_agent = {agent: _union_seconds(iv) for agent, iv in sessions.items()}
        row["handle_s"] = sum(by_agent.values())
        row["handle_by_agent_s"] = by_agent
        row["work_sessions"] = {agent: sorted(iv) for agent, iv in sessions.items()}
    else:
        row["handle_s"] = None
        row["handle_by_agent_s"] = None
        row["work_sessions"] = {}
    row["time_logged_s"] = time_logged if has_time_entry else None

    # M14 SLA targets.
    _sla(row, context, queue_id, priority, created_at, frt_start, first_reply, intervals, as_of, clock, nr_runs)
    if created_resolved:
        for target in ("first_reply", "resolution"):
            for f in ("target_s", "outcome", "elapsed_s", "breach_at", "outcome_at"):
                row[f"sla_{target}_{f}"] = None
        _sla_next_reply_clear(row)
        row["sla_next_breach_at"] = None
    return row


def _sla(
    row: dict[str, Any],
    context: Context,
    queue_id: int | None,
    priority: str,
    created_at: float,
    frt_start: float | None,
    first_reply: tuple[float, int | None] | None,
    intervals: Sequence[tuple[float, float, str]],
    as_of: float,
    clock: _Clock,
    nr_runs: Sequence[tuple[int, float, float | None]] = (),
) -> None:
    for target in ("first_reply", "resolution"):
        for f in ("target_s", "outcome", "elapsed_s", "breach_at", "outcome_at"):
            row[f"sla_{target}_{f}"] = None
    _sla_next_reply_clear(row)
    row["sla_next_breach_at"] = None
    policy = context.sla_policies.get(queue_id) if queue_id is not None else None
    if not policy:
        return
    targets = (policy.get("targets") or {}).get(priority) or {}
    business = targets.get("business_hours", True)
    measure = clock.bus if business else _calendar_clock
    add = clock.add if business else (lambda a, s: a + s)
    upcoming: list[float] = []

    fr_target = targets.get("first_response", targets.get("first_reply"))
    if fr_target is not None and frt_start is not None:
        fr_target = float(fr_target)
        breach = add(frt_start, fr_target)
        row["sla_first_reply_target_s"] = fr_target
        row["sla_first_reply_breach_at"] = from_ts(breach)
        if first_reply:
            elapsed = measure(frt_start, first_reply[0])
            row["sla_first_reply_elapsed_s"] = elapsed
            if elapsed <= fr_target:
                row["sla_first_reply_outcome"], row["sla_first_reply_outcome_at"] = "achieved", _dt(first_reply[0])
            else:
                row["sla_first_reply_outcome"], row["sla_first_reply_outcome_at"] = "breached", from_ts(breach)
        else:
            resolved_at = row["last_resolved_at"].timestamp() if row["last_resolved_at"] else None
            stop = resolved_at if resolved_at is not None else as_of
            row["sla_first_reply_elapsed_s"] = measure(frt_start, stop)
            if breach <= stop:
                row["sla_first_reply_outcome"], row["sla_first_reply_outcome_at"] = "breached", from_ts(breach)
            elif resolved_at is None:
                row["sla_first_reply_outcome"] = "active"
                upcoming.append(breach)
            # resolved before any reply and before the breach: no outcome (cancelled)

    # Next reply (M2 clock, never paused): one outcome per cycle (run). A
    # cycle is achieved if replied within the target, breached at its breach
    # instant (even while still open), else active; a cancelled run (resolved
    # before any reply) has no outcome. The row keeps the counts and the
    # latest outcome instant (the rollup cohort, METRICS M14).
    nr_target = targets.get("next_reply")
    if nr_target is not None and first_reply:
        nr_target = float(nr_target)
        cycles: list[dict[str, Any]] = []
        for cycle, start, stop in nr_runs:
            breach = add(start, nr_target)
            elapsed = measure(start, stop if stop is not None else as_of)
            if stop is not None and elapsed <= nr_target:
                outcome, outcome_at = "achieved", stop
            elif stop is not None or breach <= as_of:
                outcome, outcome_at = "breached", breach
            else:
                outcome, outcome_at = "active", None
                upcoming.append(breach)
            cycles.append(
                {
                    "cycle": cycle,
                    "started_at": from_ts(start),
                    "stopped_at": _dt(stop),
                    "elapsed_s": elapsed,
                    "breach_at": from_ts(breach),
                    "outcome": outcome,
                    "outcome_at": _dt(outcome_at),
                }
            )
        decided = [c for c in cycles if c["outcome"] != "active"]
        row["sla_next_reply_target_s"] = nr_target
        row["sla_next_reply_achieved"] = sum(c["outcome"] == "achieved" for c in cycles)
        row["sla_next_reply_breached"] = sum(c["outcome"] == "breached" for c in cycles)
        row["sla_next_reply_outcome_at"] = max((c["outcome_at"] for c in decided), default=None)
        row["sla_next_reply_cycles"] = cycles

    res_target = targets.get("resolution")
    if res_target is not None:
        res_target = float(res_target)
        pause = set(policy.get("pause_statuses") or DEFAULT_PAUSE)
        elapsed = 0.0
        breach_at = None
        projected = None
        for s, e, st in intervals:
            if st not in UNSOLVED or st in pause or s < created_at:
                continue
            hi = min(e, as_of)
            part = measure(s, hi) if hi > s else 0.0
            if breach_at is None and elapsed + part >= res_target:
                breach_at = add(s, res_target - elapsed)
            if e == INF and breach_at is None:
                projected = add(s, res_target - elapsed)
            elapsed += part
        row["sla_resolution_target_s"] = res_target
        row["sla_resolution_elapsed_s"] = elapsed
        row["sla_resolution_breach_at"] = _dt(breach_at)
        last_resolved = row["last_resolved_at"]
        if last_resolved is not None:
            if elapsed <= res_target:
                row["sla_resolution_outcome"], row["sla_resolution_outcome_at"] = "achieved", last_resolved
            else:
                row["sla_resolution_outcome"], row["sla_resolution_outcome_at"] = "breached", _dt(breach_at)
        elif breach_at is not None:
            row["sla_resolution_outcome"], row["sla_resolution_outcome_at"] = "breached", _dt(breach_at)
        else:
            row["sla_resolution_outcome"] = "active"
            if projected is not None:
                upcoming.append(projected)
    row["sla_next_breach_at"] = _dt(min(upcoming)) if upcoming else None


def _sla_next_reply_clear(row: dict[str, Any]) -> None:
    row["sla_next_reply_target_s"] = None
    row["sla_next_reply_achieved"] = 0
    row["sla_next_reply_breached"] = 0
    row["sla_next_reply_outcome_at"] = None
    row["sla_next_reply_cycles"] = []
