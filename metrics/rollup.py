"""Dashboard rollups (`DashboardRollup`): a ticket's contribution, delta upserts,
the set-based rebuild and percentiles interpolated from merged histograms.

A long dashboard range reads a few hundred pre-aggregated cells instead of
hundreds of thousands of per-ticket rows (bench/README.md: any 90-day range < 300 ms at
1M tickets). Counts, sums and ratios stay exact (they are additive); medians and
p90 over long ranges come from log-spaced histograms (docs/metrics.md §4.3): the bin
holding the wanted rank is exact, the position inside it is interpolated, so the
error is below one bin width (ratio 1.1, i.e. < 10 %, typically ~2 %).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from auditlog.context import disable_auditlog
from django.db import connection, transaction

from metrics.segments import LAST_RES_TICKET_COLUMNS, TICKET_COLUMNS, group_agg_sql, ticket_join

UNSOLVED = ("new", "open", "pending", "on_hold")
_UNSOLVED_SQL = "(" + ", ".join(f"'{s}'" for s in UNSOLVED) + ")"
STAT = -1  # the bin of the n / sum / num / den row

# Coarse distribution edges shown on the page (seconds); the fine edges include
# them so every coarse bucket is an exact sum of fine bins.
COARSE_EDGES = (3600, 4 * 3600, 8 * 3600, 86400, 2 * 86400, 3 * 86400, 7 * 86400)
RATIO = 1.1


def _edges() -> tuple[float, ...]:
    out = {1e-6}  # bin 0 = exactly zero (or below a microsecond)
    v = 1.0
    while v < 400 * 86400:
        out.add(v)
        v *= RATIO
    out.update(float(e) for e in COARSE_EDGES)
    return tuple(sorted(out))


# width_bucket(v, EDGES) in SQL == bisect_right(EDGES, v) here: the same float comparisons.
EDGES = _edges()


def bin_of(value: float) -> int:
    return bisect_right(EDGES, value)


def bin_bounds(b: int) -> tuple[float, float]:
    """[lo, hi) of bin b; bin 0 is the zero bin, the last bin is open (estimated at its edge)."""
    if b <= 0:
        return 0.0, 0.0
    lo = EDGES[b - 1]
    hi = EDGES[b] if b < len(EDGES) else lo
    return lo, hi


def hist_percentiles(counts: dict[int, int], qs: tuple[float, ...]) -> list[float | None]:
    """percentile_cont(q) for each q estimated from bin counts: the ranks are exact, the value of
    the j-th of c values in [lo, hi) is taken at lo + (hi - lo) * (j + 0.5) / c."""
    bins = sorted(b for b, c in counts.items() if c > 0)
    n = sum(counts[b] for b in bins)
    if n <= 0:
        return [None] * len(qs)

    def at(k: int) -> float:
        cum = 0
        for b in bins:
            c = counts[b]
            if k < cum + c:
                lo, hi = bin_bounds(b)
                return lo + (hi - lo) * (k - cum + 0.5) / c
            cum += c
        return bin_bounds(bins[-1])[0]

    out: list[float | None] = []
    for q in qs:
        pos = q * (n - 1)
        k = math.floor(pos)
        frac = pos - k
        v0 = at(k)
        out.append(v0 if frac == 0 else v0 + frac * (at(k + 1) - v0))
    return out


# --- what one ticket contributes --------------------------------------------

# Duration column -> (cohort instant, attributed agent, extra condition column, agent cells).
# A duration's cell is its histogram bin and holds that bin's count and sum (no separate
# n / sum row): one cell per ticket and duration (docs/metrics.md#rollup-cell-shape).
DURATIONS: dict[str, tuple[str, str, str | None, bool]] = {}
for _clock in ("cal", "bus"):
    DURATIONS[f"frt_{_clock}_s"] = ("first_reply_at", "first_replier_id", None, True)
    DURATIONS[f"first_resolution_{_clock}_s"] = ("first_resolved_at", "resolver_id", "first_resolution_cal_s", False)
    for _stem in (
        "full_resolution",
        "requester_wait",
        "agent_wait",
        "time_in_progress",
        "resolution_escalated",
        "resolution_not_escalated",
    ):
        DURATIONS[f"{_stem}_{_clock}_s"] = ("last_resolved_at", "resolver_id", None, False)
    DURATIONS[f"time_to_escalation_{_clock}_s"] = ("first_escalated_at", "assignee_id", None, False)
DURATIONS["handle_s"] = ("last_resolved_at", "resolver_id", None, True)

# Next reply times (M2): one value per answered run (metrics.TicketNextReply), at the reply
# instant, whole tickets at their current kind and queue (as the exact path reads them), no agent
# cells. A long range reads these bins instead of sorting every reply of the period.
NEXT_REPLY = ("next_reply_cal_s", "next_reply_bus_s")

# Count metrics per cohort: metric -> (instant, agent, agent dim). Slots: see `_count_values`.
COUNTS: dict[str, tuple[str, str, bool]] = {
    "c:first_res": ("first_resolved_at", "resolver_id", False),
    "c:last_res": ("last_resolved_at", "resolver_id", True),
    "c:csat": ("csat_at", "csat_agent_id", True),
    "c:offered": ("csat_offered_at", "resolver_id", False),
    "c:created": ("created_at", "assignee_id", True),
    "c:sla_fr": ("sla_first_reply_outcome_at", "assignee_id", False),
    "c:sla_res": ("sla_resolution_outcome_at", "assignee_id", False),
    "c:first_esc": ("first_escalated_at", "assignee_id", False),
}


def _count_values(metric: str, m: Any) -> tuple[float, float, int, int] | None:
    """(n, sum_s, num, den) of a count metric, or None when the ticket is not in the cohort."""
    if metric == "c:first_res":
        return None if m.first_resolution_cal_s is None else (1, 0.0, int((m.reopens or 0) > 0), 0)
    if metric == "c:last_res":  # n = resolved, num = fcr, den = fcr eligible, sum = zero-touch
        if not getattr(m, "last_res_here", True):
            return None  # a segment group without the last resolution: its shares only
        return (1, float(bool(m.zero_touch)), int(bool(m.fcr)), int(bool(m.fcr_eligible)))
    if metric == "c:csat":  # n = responses, num = satisfied, den = scored, sum = score
        scored = m.csat_score is not None
        return (1, float(m.csat_score or 0) if scored else 0.0, int(bool(m.csat_satisfied)), int(scored))
    if metric == "c:offered":  # n = offered, num = responded
        return (1, 0.0, int(m.csat_at is not None), 0)
    if metric == "c:created":  # sum = escalated, num = escalated to service, den = escalated to support
        return (1, float(m.escalations > 0), int(m.escalations_to_service > 0), int(m.escalations_to_support > 0))
    if metric == "c:first_esc":  # n = escalated (first escalation in the cell), num = ping-pong
        return None if m.first_escalated_at is None else (1, 0.0, int(m.escalations >= 2), 0)
    outcome = m.sla_first_reply_outcome if metric == "c:sla_fr" else m.sla_resolution_outcome
    if outcome not in ("achieved", "breached"):
        return None
    return (1, 0.0, int(outcome == "achieved"), int(outcome == "breached"))  # num achieved, den breached


ZONE_KEY = "metrics.rollup_zone"


def _zones() -> tuple[str | None, str]:
    """(the cells' zone or None before the first write, the reporting zone) in one query."""
    from django.conf import settings

    from tickets.models import HelpdeskSetting

    rows = dict(HelpdeskSetting.objects.filter(key__in=[ZONE_KEY, "reporting.timezone"]).values_list("key", "value"))
    current = rows.get("reporting.timezone")
    if not (isinstance(current, str) and current):
        current = getattr(settings, "HELPDESK_REPORTING_TIMEZONE", "UTC")
    cells = rows.get(ZONE_KEY)
    return (cells if isinstance(cells, str) and cells else None), current


def cells_zone() -> ZoneInfo:
    """The zone the stored cells' local days are in. Fixed by the first write (or the last
    rebuild), so a later change of the reporting zone never mixes two zones in the cells;
    the dashboard reads the cells only while the two agree (see `zone_matches`)."""
    from tickets.models import HelpdeskSetting

    cells, current = _zones()
    if cells:
        return ZoneInfo(cells)
    with disable_auditlog():  # internal bookkeeping, not a manager's configuration change
        HelpdeskSetting.objects.get_or_create(key=ZONE_KEY, defaults={"value": current})
    return ZoneInfo(current)


def zone_matches() -> bool:
    """True when the cells are in the current reporting zone (one query)."""
    cells, current = _zones()
    return cells in (None, current)


def _zone_store(zone: ZoneInfo) -> None:
    from tickets.models import HelpdeskSetting

    with disable_auditlog():  # internal bookkeeping, not a manager's configuration change
        HelpdeskSetting.objects.update_or_create(key=ZONE_KEY, defaults={"value": zone.key})


def qa_key(queue: int | None, agent: int | None) -> int:
    """The key of an agent's cell within one queue (dim 'qa'): queue in the high 32 bits."""
    return ((queue or 0) << 32) | (agent or 0)


def _local_day(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


Delta = dict[tuple, list[float]]


# The kind of the whole-ticket cells (dims '' and 'a'): unfiltered views read these, a view
# filtered to a kind or queue reads the segment-attributed cells
# (docs/metrics.md#18-queue-and-kind-attribution-across-escalations).
ALL_KINDS = "*"

# Ticket-level columns the segments do not store (docs/metrics.md "How attribution is built"):
# a segment group takes the ticket's escalation counts (counted with `created_at`, segment 0's)
# and its escalated / not-escalated resolution times where it holds the last resolution; the
# first-escalation cohort is not attributed per segment: its cells of a kind or queue are the
# whole ticket's at its current kind and queue (`_WHOLE_ONLY`), never a segment group's.
_WHOLE_ONLY = ("first_escalated_at", "time_to_escalation_cal_s", "time_to_escalation_bus_s")

# Per-segment columns summed over a ticket's segments in one group (the duration shares;
# every instant measure is set on one segment only, so the others take that one value).
_SUMMED = (frozenset(DURATIONS) | {"first_resolution_cal_s", "reopens"}) - LAST_RES_TICKET_COLUMNS - set(_WHOLE_ONLY)
_ANY = ("fcr", "fcr_eligible", "zero_touch", "last_res_here")
_ONE = (
    "first_reply_at",
    "first_replier_id",
    "first_resolved_at",
    "last_resolved_at",
    "resolver_id",
    "csat_at",
    "csat_agent_id",
    "csat_score",
    "csat_satisfied",
    "csat_offered_at",
    "created_at",
    "assignee_id",
    "sla_first_reply_outcome",
    "sla_first_reply_outcome_at",
    "sla_resolution_outcome",
    "sla_resolution_outcome_at",
)


class _Group:
    """A ticket's segments in one kind or one queue, read like a TicketMetrics row."""

    excluded = False

    def __init__(self, segments: list[Any], m: Any) -> None:
        for col in _SUMMED:
            values = [getattr(s, col) for s in segments if getattr(s, col) is not None]
            setattr(self, col, sum(values) if values else None)
        for col in _ANY:
            setattr(self, col, any(getattr(s, col) for s in segments))
        for col in _ONE:
            setattr(self, col, next((getattr(s, col) for s in segments if getattr(s, col) is not None), None))
        for col in TICKET_COLUMNS:
            setattr(self, col, getattr(m, col))
        for col in LAST_RES_TICKET_COLUMNS:
            setattr(self, col, getattr(m, col) if self.last_res_here else None)
        for col in _WHOLE_ONLY:
            setattr(self, col, None)
        self.kind = segments[-1].kind or ""


class _WholeOnly:
    """The whole ticket's first-escalation values alone (every other column None), added to
    the cells of its current kind and queue."""

    excluded = False
    last_res_here = False

    def __init__(self, m: Any) -> None:
        for col in _ROW_COLUMNS:
            setattr(self, col, None)
        for col in (*_WHOLE_ONLY, *TICKET_COLUMNS, "assignee_id"):
            setattr(self, col, getattr(m, col))


def _groups(segments: list[Any], m: Any) -> list[tuple[str, int | None, _Group]]:
    """(kind, queue or None for the kind's own cells, group) of one ticket's segments."""
    by_kind: dict[str, list[Any]] = defaultdict(list)
    by_queue: dict[int, list[Any]] = defaultdict(list)
    for seg in segments:
        by_kind[seg.kind or ""].append(seg)
        by_queue[seg.queue_id or 0].append(seg)
    out: list[tuple[str, int | None, _Group]] = [(k, None, _Group(segs, m)) for k, segs in by_kind.items()]
    for q, segs in by_queue.items():
        group = _Group(segs, m)
        out.append((group.kind, q, group))
    return out


def _row_cells(m: Any, add: Any) -> None:
    """The duration and count cells of one row (a TicketMetrics row or a segment group)."""
    for col, (inst, agent_col, cond, to_agent) in DURATIONS.items():
        value = getattr(m, col)
        if value is None or (cond and getattr(m, cond) is None):
            continue
        add(getattr(m, inst), col, bin_of(float(value)), getattr(m, agent_col), to_agent, (1, float(value), 0, 0))
    for metric, (inst, agent_col, to_agent) in COUNTS.items():
        v = _count_values(metric, m)
        if v is not None:
            add(getattr(m, inst), metric, STAT, getattr(m, agent_col), to_agent, v)


def _pieces(interval: Any, segments: list[Any]) -> list[tuple[datetime, datetime | None, Any]]:
    """An unsolved status interval cut at the queue moves: (start, end or None, segment)."""
    out = []
    for seg in segments:
        lo = max(interval.started_at, seg.started_at)
        ends = [e for e in (interval.ended_at, seg.ended_at) if e is not None]
        hi = min(ends) if ends else None
        if hi is None or hi > lo:
            out.append((lo, hi, seg))
    return out


def base(
    m: Any,
    intervals: list[Any],
    zone: ZoneInfo,
    out: Delta | None = None,
    sign: int = 1,
    segments: list[Any] = (),
    next_replies: list[Any] = (),
) -> Delta:
    """A ticket's contribution at its own grain: (local day, kind, queue, metric, bin, agent
    or None when the metric has no agent cells) -> [n, sum_s, num, den]. A queue id (0 = none):
    the cells of dims 'q' and 'qa' (its segments in that queue). `queue` None: the cells of
    dims '' and 'a', stored as differences (`_nest`): kind k = its segments in kind k minus its
    queue cells of kind k, kind ALL_KINDS = the whole ticket minus its kind groups. Both are
    zero for a ticket that never moved, so it writes its queue cells only."""
    out = out if out is not None else defaultdict(lambda: [0, 0.0, 0, 0])
    if m.excluded:
        return out
    own: Delta = defaultdict(lambda: [0, 0.0, 0, 0])

    def adder(kind: str, queue: int | None) -> Any:
        def add(at: datetime | None, metric: str, b: int, agent: int | None, to_agent: bool, v: tuple) -> None:
            if at is None:
                return
            cell = own[(_local_day(at, zone), kind, queue, metric, b, (agent or 0) if to_agent else None)]
            for i in range(4):
                cell[i] += v[i]

        return add

    whole = adder(ALL_KINDS, None)
    _row_cells(m, whole)
    for kind, queue, group in _groups(list(segments), m):
        _row_cells(group, adder(kind, queue))
    if segments and m.first_escalated_at is not None:  # an escalated ticket moved: never a single segment
        for queue in (None, m.queue_id or 0):
            _row_cells(_WholeOnly(m), adder(m.kind or "", queue))
    _backlog_cells(m, intervals, list(segments), whole, adder)
    _next_reply_cells(next_replies, whole, adder)
    _nest(own, out, sign)
    return out


def _next_reply_cells(next_replies: list[Any], whole: Any, adder: Any) -> None:
    """A ticket's next-reply runs (TicketNextReply rows) in the bins of both clocks. The exact
    path reads them by the row's own kind and queue (the ticket's current ones), so the whole,
    kind and queue cells get the same values: `_nest` leaves the queue cells alone."""
    for r in next_replies:
        if r.excluded:
            continue
        adds = (whole, adder(r.kind or "", None), adder(r.kind or "", r.queue_id or 0))
        for col in NEXT_REPLY:
            value = float(getattr(r, col))
            for add in adds:
                add(r.replied_at, col, bin_of(value), None, False, (1, value, 0, 0))


# A correction below this (seconds, with every count zero) is the rounding of two sums of the
# same values in another order, not a difference: dropped, so an unmoved ticket writes nothing.
_EPS = 1e-6


def _nest(own: Delta, out: Delta, sign: int) -> None:
    """Add a ticket's cells to `out` with each coarser family stored as its difference to the
    finer one (docs/metrics.md#rollup-cell-shape): a kind's cells minus the queue cells of that
    kind, the whole ticket's minus its kinds'. A reader of a coarser family sums the finer
    cells and the differences, so the stored cells of an unmoved ticket are its queue cells."""
    net: Delta = defaultdict(lambda: [0, 0.0, 0, 0])
    for (day, kind, queue, metric, b, agent), v in own.items():
        targets = [((day, kind, queue, metric, b, agent), 1)]
        if queue is not None:
            targets.append(((day, kind, None, metric, b, agent), -1))
        elif kind != ALL_KINDS:
            targets.append(((day, ALL_KINDS, None, metric, b, agent), -1))
        for key, f in targets:
            cell = net[key]
            for i in range(4):
                cell[i] += f * v[i]
    for key, v in net.items():
        if v[0] or v[2] or v[3] or abs(v[1]) >= _EPS:
            cell = out[key]
            for i in range(4):
                cell[i] += sign * v[i]


def _backlog_cells(m: Any, intervals: list[Any], segments: list[Any], whole: Any, adder: Any) -> None:
    """Backlog: currently unsolved tickets by creation day (queue now = the current one), and
    the unsolved intervals in / out, whole and cut at the queue moves (queue at the snapshot)."""
    if m.status in UNSOLVED:  # currently unsolved, by creation day: the backlog's ages now
        v = (1, 0.0, int(m.status != "pending"), 0)
        for add in (whole, adder(m.kind or "", None), adder(m.kind or "", m.queue_id or 0)):
            add(m.created_at, "bl_open", STAT, None, False, v)
    for i in intervals:
        if i.status not in UNSOLVED:
            continue
        v = (1, 0.0, int(i.status != "pending"), 0)
        whole(max(i.started_at, m.created_at), "bl_in", STAT, None, False, v)
        whole(i.ended_at, "bl_out", STAT, None, False, v)
        for lo, hi, seg in _pieces(i, segments):
            for add in (adder(seg.kind or "", None), adder(seg.kind or "", seg.queue_id or 0)):
                add(max(lo, m.created_at), "bl_in", STAT, None, False, v)
                add(hi, "bl_out", STAT, None, False, v)


def _spans(day: date) -> tuple[tuple[str, date], ...]:
    return (("d", day), ("w", day - timedelta(days=day.weekday())), ("m", day.replace(day=1)))


def expand(base_delta: Delta, out: Delta | None = None, *, days_only: bool = False) -> Delta:
    """Spread base cells into the rollup cells: day, week and month (`days_only`: day) x (all
    queues and the agent, or the queue and the agent within it). Zero cells are skipped, so
    an unchanged ticket costs nothing to re-apply. Day cells of dims '' / 'a' hold the
    differences of `_nest`; week and month cells of dims '' / 'a' also take the queue cells, so
    there a kind's cells are whole (a long range reads them alone, not every queue's)."""
    out = out if out is not None else defaultdict(lambda: [0, 0.0, 0, 0])
    for (day, kind, queue, metric, b, agent), v in base_delta.items():
        if not any(v):
            continue
        for span, start in _spans(day)[:1] if days_only else _spans(day):
            if queue is None:
                keys = [("", 0, span, start, metric, kind, b)]
                if agent is not None:
                    keys.append(("a", agent, span, start, metric, kind, b))
            else:
                keys = [("q", queue, span, start, metric, kind, b)]
                if agent is not None:
                    keys.append(("qa", qa_key(queue, agent), span, start, metric, kind, b))
                if span != "d":
                    keys.append(("", 0, span, start, metric, kind, b))
                    if agent is not None:
                        keys.append(("a", agent, span, start, metric, kind, b))
            for key in keys:
                cell = out[key]
                for i in range(4):
                    cell[i] += v[i]
    return out


def contributions(
    m: Any,
    intervals: list[Any],
    zone: ZoneInfo,
    out: Delta | None = None,
    sign: int = 1,
    segments: list[Any] = (),
    next_replies: list[Any] = (),
) -> Delta:
    """Add (sign=1) or retract (sign=-1) a TicketMetrics row, its status intervals, segments and
    next-reply runs."""
    return expand(base(m, intervals, zone, sign=sign, segments=segments, next_replies=next_replies), out)


_UPSERT = """
INSERT INTO metrics_dashboardrollup (dim, key, span, start, metric, kind, bin, n, sum_s, num, den)
VALUES {values}
ON CONFLICT (dim, metric, span, start, key, kind, bin) DO UPDATE SET
  n = metrics_dashboardrollup.n + excluded.n,
  sum_s = metrics_dashboardrollup.sum_s + excluded.sum_s,
  num = metrics_dashboardrollup.num + excluded.num,
  den = metrics_dashboardrollup.den + excluded.den
"""


def apply(delta: Delta) -> int:
    """Upsert the non-zero cells of `delta` (sorted, so concurrent writers lock in one order)."""
    rows = [(*key, int(v[0]), float(v[1]), int(v[2]), int(v[3])) for key, v in sorted(delta.items()) if any(v)]
    if not rows:
        return 0
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            from psycopg2.extras import execute_values

            raw = cur.cursor if hasattr(cur, "cursor") else cur
            execute_values(raw, _UPSERT.format(values="%s"), rows, page_size=1000)
        else:
            cur.executemany(_UPSERT.format(values="(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"), rows)
    return len(rows)


# --- deferred week and month cells ------------------------------------------
# A ticket's recompute writes its day cells only (a third of the cells) and marks the weeks and
# months of those days stale; `fold` sums them from the day cells later, once for every ticket
# of the span. The dashboard covers a stale span with its days (docs/metrics.md#deferred-week-
# and-month-cells), so its numbers never depend on whether the fold has run.


def _span_last(span: str, start: date) -> date:
    if span == "w":
        return start + timedelta(days=6)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def apply_days(base_delta: Delta) -> int:
    """Upsert the day cells of `base_delta` and mark their weeks and months stale (call inside
    the recompute transaction, after which `fold` completes the coarser cells)."""
    written = apply(expand(base_delta, days_only=True))
    if not written:
        return 0
    days = {key[0] for key, v in base_delta.items() if any(v)}
    marks = sorted({(span, start) for day in days for span, start in _spans(day)[1:]})
    rows = [(span, start, _span_last(span, start)) for span, start in marks]
    with connection.cursor() as cur:  # after the cell upsert: `fold` holds the cells' lock
        cur.executemany(
            "INSERT INTO metrics_dashboardrollupstale (span, start, last) VALUES (%s, %s, %s)"
            " ON CONFLICT (span, start) DO NOTHING",
            rows,
        )
    return written


def stale_spans() -> frozenset[tuple[str, date]]:
    """The (span, start) of the week and month cells not yet folded (read before the cells)."""
    from helpdesk.lib.db_router import read_connection

    with read_connection().cursor() as cur:
        cur.execute("SELECT span, start FROM metrics_dashboardrollupstale")
        return frozenset((span, start if isinstance(start, date) else date.fromisoformat(start)) for span, start in cur)


# Every metric name a cell can have, so the fold's reads and deletes are index ranges of
# dashboard_rollup_cell (dim, metric, span, start, ...) rather than a scan of the table.
_DIMS = ("", "a", "q", "qa")
_METRICS = (*DURATIONS, *NEXT_REPLY, *COUNTS, "bl_open", "bl_in", "bl_out")

# PostgreSQL: one index range of dashboard_rollup_cell per (dim, metric, marked span), so a fold
# costs the marked spans' cells, never a scan of the table (OFFSET 0: the LATERAL subquery is not
# flattened into a join the planner would answer with one).
_FOLD_RANGES = """
  FROM metrics_dashboardrollupstale s
  CROSS JOIN (VALUES {dims}) AS d(dim) CROSS JOIN (VALUES {metrics}) AS m(metric)
  CROSS JOIN LATERAL (SELECT r.ctid AS cell, r.* FROM metrics_dashboardrollup r
                      WHERE r.dim = d.dim AND r.metric = m.metric AND r.span = {span}
                        AND r.start >= s.start AND r.start <= {last} OFFSET 0) AS r"""
# A day cell of a queue (of an agent in a queue) also adds to the week / month cell of dim ''
# ('a'): there the kinds are whole (`expand`).
_FOLD_TARGETS = """(VALUES (r.dim, r.key),
         (CASE r.dim WHEN 'q' THEN '' WHEN 'qa' THEN 'a' END,
          CASE r.dim WHEN 'q' THEN 0 ELSE r.key & 4294967295 END)) AS t(dim, key)"""
_FOLD_SUMS = f"""
INSERT INTO metrics_dashboardrollup (dim, key, span, start, metric, kind, bin, n, sum_s, num, den)
SELECT t.dim, t.key, s.span, s.start, r.metric, r.kind, r.bin, SUM(r.n), SUM(r.sum_s), SUM(r.num), SUM(r.den)
{{ranges}}
  CROSS JOIN LATERAL {_FOLD_TARGETS}
WHERE t.dim IS NOT NULL
GROUP BY t.dim, t.key, s.span, s.start, r.metric, r.kind, r.bin
HAVING SUM(r.n) <> 0 OR SUM(r.num) <> 0 OR SUM(r.den) <> 0 OR abs(SUM(r.sum_s)) >= 1e-6
"""
# The cells to replace are addressed by row address (ctid / rowid: the cells have no surrogate
# id, docs/database-size.md); stable here because the fold holds the table's EXCLUSIVE lock.
_FOLD_DELETE = {
    "postgresql": "DELETE FROM metrics_dashboardrollup WHERE ctid = ANY(ARRAY(SELECT r.cell {ranges}))",
    # SQLite (the embedded default, small): no LATERAL; plain joins.
    "sqlite": """DELETE FROM metrics_dashboardrollup WHERE rowid IN (
  SELECT r.rowid FROM metrics_dashboardrollupstale s
  JOIN metrics_dashboardrollup r ON r.span = s.span AND r.start = s.start)""",
}
_FOLD_INSERT = {
    "postgresql": _FOLD_SUMS,
    "sqlite": """
INSERT INTO metrics_dashboardrollup (dim, key, span, start, metric, kind, bin, n, sum_s, num, den)
SELECT r.dim, r.key, s.span, s.start, r.metric, r.kind, r.bin, SUM(r.n), SUM(r.sum_s), SUM(r.num), SUM(r.den)
FROM metrics_dashboardrollupstale s
JOIN (SELECT dim, key, span, start, metric, kind, bin, n, sum_s, num, den FROM metrics_dashboardrollup
      UNION ALL
      SELECT CASE dim WHEN 'q' THEN '' ELSE 'a' END, CASE dim WHEN 'q' THEN 0 ELSE key & 4294967295 END,
             span, start, metric, kind, bin, n, sum_s, num, den
      FROM metrics_dashboardrollup WHERE dim IN ('q', 'qa')) r
  ON r.span = 'd' AND r.start >= s.start AND r.start <= s.last
GROUP BY r.dim, r.key, s.span, s.start, r.metric, r.kind, r.bin
HAVING SUM(r.n) <> 0 OR SUM(r.num) <> 0 OR SUM(r.den) <> 0 OR abs(SUM(r.sum_s)) >= 1e-6
""",
}


def _fold_sql(which: str) -> str:
    sql = (_FOLD_DELETE if which == "delete" else _FOLD_INSERT)[connection.vendor]
    if "{ranges}" not in sql:
        return sql
    span, last = ("s.span", "s.start") if which == "delete" else ("'d'", "s.last")
    ranges = _FOLD_RANGES.format(
        dims=", ".join(f"('{d}')" for d in _DIMS),
        metrics=", ".join(f"('{m}')" for m in _METRICS),
        span=span,
        last=last,
    )
    return sql.format(ranges=ranges)


def fold() -> int:
    """Recompute the stale week and month cells from their day cells and clear the marks
    (one transaction). Returns the spans folded."""
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Writers upsert cells (ROW EXCLUSIVE) before they mark spans: once this lock is
            # held every committed mark's day cells are visible and no new ones can arrive.
            cur.execute("LOCK TABLE metrics_dashboardrollup IN EXCLUSIVE MODE")
            cur.execute("SET LOCAL jit = off")  # short index ranges; compiling took longer than the fold
        cur.execute("SELECT COUNT(*) FROM metrics_dashboardrollupstale")
        spans = int(cur.fetchone()[0])
        if not spans:
            return 0
        cur.execute(_fold_sql("delete"))
        cur.execute(_fold_sql("insert"))
        cur.execute("DELETE FROM metrics_dashboardrollupstale")
    return spans


# --- set-based rebuild (PostgreSQL) -----------------------------------------


def _values_sql() -> str:
    rows = []
    for col, (inst, agent_col, cond, to_agent) in DURATIONS.items():
        when = f"m.{col} IS NOT NULL" + (f" AND m.{cond} IS NOT NULL" if cond else "")
        at = f"CASE WHEN {when} THEN m.{inst} END"
        b = f"width_bucket(m.{col}, %(edges)s::float8[])"
        rows.append(f"({at}, '{col}', {b}, m.{agent_col}, {to_agent}, 1, m.{col}, 0, 0)")
    cnt = {
        "c:first_res": ("m.first_resolution_cal_s IS NOT NULL", "0.0", "(m.reopens > 0)::int", "0"),
        "c:last_res": ("m.last_res_here", "m.zero_touch::int::float8", "m.fcr::int", "m.fcr_eligible::int"),
        "c:csat": (
            "TRUE",
            "COALESCE(m.csat_score, 0)::float8",
            "COALESCE(m.csat_satisfied, false)::int",
            "(m.csat_score IS NOT NULL)::int",
        ),
        "c:offered": ("TRUE", "0.0", "(m.csat_at IS NOT NULL)::int", "0"),
        "c:created": (
            "TRUE",
            "(m.escalations > 0)::int::float8",
            "(m.escalations_to_service > 0)::int",
            "(m.escalations_to_support > 0)::int",
        ),
        "c:first_esc": ("TRUE", "0.0", "(m.escalations >= 2)::int", "0"),
        "c:sla_fr": (
            "m.sla_first_reply_outcome IN ('achieved', 'breached')",
            "0.0",
            "(m.sla_first_reply_outcome = 'achieved')::int",
            "(m.sla_first_reply_outcome = 'breached')::int",
        ),
        "c:sla_res": (
            "m.sla_resolution_outcome IN ('achieved', 'breached')",
            "0.0",
            "(m.sla_resolution_outcome = 'achieved')::int",
            "(m.sla_resolution_outcome = 'breached')::int",
        ),
    }
    for metric, (inst, agent_col, to_agent) in COUNTS.items():
        when, s, num, den = cnt[metric]
        at = f"CASE WHEN {when} THEN m.{inst} END"
        rows.append(f"({at}, '{metric}', -1, m.{agent_col}, {to_agent}, 1, {s}, {num}, {den})")
    return ",\n  ".join(rows)


def _in_chunk(alias: str) -> str:
    """The rebuild's ticket-id range predicate (one chunk, see `rebuild`)."""
    return f"{alias}.ticket_id >= %(lo)s AND {alias}.ticket_id < %(hi)s"


# The columns of a row the VALUES list reads, for the whole-ticket rows and the segment groups.
_ROW_COLUMNS = sorted(
    set(DURATIONS) | set(_ONE) | set(_ANY) | {"first_resolution_cal_s", "reopens"} | set(_WHOLE_ONLY) | TICKET_COLUMNS
)


def _group_select(key: str) -> str:
    """One row per (ticket, `key`) of the segments, the SQL twin of `_Group`."""
    cols = []
    for col in _ROW_COLUMNS:
        if col in _WHOLE_ONLY:
            cols.append(f"NULL AS {col}")
        elif col in TICKET_COLUMNS or col in LAST_RES_TICKET_COLUMNS:
            cols.append(f"{group_agg_sql(col)} AS {col}")
        elif col in _SUMMED:
            cols.append(f"SUM(s.{col}) AS {col}")
        elif col in _ANY or col == "csat_satisfied":
            cols.append(f"bool_or(s.{col}) AS {col}")
        else:
            cols.append(f"MAX(s.{col}) AS {col}")
    kind = "COALESCE((array_agg(s.kind ORDER BY s.idx DESC))[1], '')"
    queue = "NULL::bigint" if key == "kind" else "COALESCE(s.queue_id, 0)"
    kind_sql = kind if key == "queue" else "COALESCE(s.kind, '')"
    group = "s.kind" if key == "kind" else "s.queue_id"
    select = ", ".join(cols)
    join = ticket_join(_ROW_COLUMNS)
    parent = "%(all)s::varchar" if key == "kind" else kind_sql  # `_nest`: the family it is a part of
    sql = f"SELECT {kind_sql} AS kind_key, {queue} AS q, {parent} AS parent, {select}"
    sql += f" FROM metrics_ticketsegment s {join}"
    moved_in = f"x.idx > 0 AND {_in_chunk('x')}"
    moved = f"s.ticket_id IN (SELECT x.ticket_id FROM metrics_ticketsegment x WHERE {moved_in})"  # noqa: S608
    return f"{sql} WHERE {moved} AND {_in_chunk('s')} GROUP BY s.ticket_id, {group}"


# A ticket that moved: its whole row (kind ALL_KINDS; its kind and queue groups come from the
# segments). A ticket that never moved: its one segment holds every value of the whole ticket,
# so its whole, kind and queue rows are equal and their differences (`_nest`) zero: only the
# queue row is stored, at the ticket's kind and queue, without grouping its segment.
_WHOLE_COLUMNS = ", ".join("TRUE AS last_res_here" if c == "last_res_here" else f"t.{c}" for c in _ROW_COLUMNS)
_WHOLE_SELECT = f"SELECT k.kind_key, k.q, NULL::varchar AS parent, {_WHOLE_COLUMNS} FROM metrics_ticketmetrics t"  # noqa: S608
_WHOLE_SELECT += """
  CROSS JOIN LATERAL (SELECT NOT EXISTS (SELECT 1 FROM metrics_ticketsegment x
                                         WHERE x.ticket_id = t.ticket_id AND x.idx > 0) AS single) AS one
  CROSS JOIN LATERAL (VALUES (CASE WHEN one.single THEN COALESCE(t.kind, '') ELSE %(all)s::varchar END,
                              CASE WHEN one.single THEN COALESCE(t.queue_id, 0) END)) AS k(kind_key, q)
  WHERE NOT t.excluded AND t.ticket_id >= %(lo)s AND t.ticket_id < %(hi)s"""

# The first-escalation cells of a kind and queue: escalated tickets (they moved) whole, at their
# current kind and queue, every other column NULL (`_WholeOnly`).
_ESC_KEEP = (*_WHOLE_ONLY, *TICKET_COLUMNS, "assignee_id")
_ESC_COLUMNS = ", ".join(
    f"t.{c}" if c in _ESC_KEEP else ("FALSE AS last_res_here" if c == "last_res_here" else f"NULL AS {c}")
    for c in _ROW_COLUMNS
)
_ESC_SELECT = f"""SELECT COALESCE(t.kind, ''), k.q,
    CASE WHEN k.q IS NULL THEN %(all)s::varchar ELSE COALESCE(t.kind, '') END, {_ESC_COLUMNS}
  FROM metrics_ticketmetrics t
  CROSS JOIN LATERAL (VALUES (NULL::bigint), (COALESCE(t.queue_id, 0))) AS k(q)
  WHERE NOT t.excluded AND t.first_escalated_at IS NOT NULL
    AND EXISTS (SELECT 1 FROM metrics_ticketsegment x WHERE x.ticket_id = t.ticket_id)
    AND {_in_chunk("t")}"""  # noqa: S608

_BASE_SELECT = f"""
SELECT (c.at AT TIME ZONE %(zone)s)::date AS day, c.kind, c.q, c.ag, c.metric, c.bin,
       SUM(c.n) AS n, SUM(c.s) AS s, SUM(c.num) AS num, SUM(c.den) AS den
FROM (
  SELECT v.at, g.kind, g.q, CASE WHEN v.to_agent THEN COALESCE(v.agent, 0) END AS ag, v.metric, v.bin,
         g.f * v.n AS n, g.f * v.s AS s, g.f * v.num AS num, g.f * v.den AS den
  FROM ({_WHOLE_SELECT} UNION ALL {_group_select("kind")} UNION ALL {_group_select("queue")}
        UNION ALL {_ESC_SELECT}) m
  CROSS JOIN LATERAL (VALUES (m.kind_key, m.q, 1), (m.parent, NULL::bigint, -1)) AS g(kind, q, f)
  CROSS JOIN LATERAL (VALUES {_values_sql()}) AS v(at, metric, bin, agent, to_agent, n, s, num, den)
  WHERE v.at IS NOT NULL AND g.kind IS NOT NULL
  UNION ALL
  SELECT m.created_at, m.kind, COALESCE(m.queue_id, 0), NULL, 'bl_open', -1, 1, 0.0, (m.status <> 'pending')::int, 0
  FROM metrics_ticketmetrics m
  WHERE NOT m.excluded AND m.status IN {_UNSOLVED_SQL} AND {_in_chunk("m")}
  UNION ALL
  SELECT v.at, %(all)s, NULL::bigint, NULL, v.metric, -1, 1, 0.0, (i.status <> 'pending')::int, 0
  FROM metrics_ticketstatusinterval i
  JOIN metrics_ticketmetrics m ON m.ticket_id = i.ticket_id
  CROSS JOIN LATERAL (VALUES (GREATEST(i.started_at, m.created_at), 'bl_in'), (i.ended_at, 'bl_out')) AS v(at, metric)
  WHERE NOT m.excluded AND i.status IN {_UNSOLVED_SQL} AND v.at IS NOT NULL AND {_in_chunk("i")}
  UNION ALL
  SELECT v.at, k.kind, k.q, NULL, v.metric, -1, k.f, 0.0, k.f * (i.status <> 'pending')::int, 0
  FROM metrics_ticketstatusinterval i
  JOIN metrics_ticketmetrics m ON m.ticket_id = i.ticket_id
  JOIN metrics_ticketsegment s ON s.ticket_id = i.ticket_id
   AND (s.ended_at IS NULL OR (s.ended_at > i.started_at AND s.ended_at > s.started_at))
   AND (i.ended_at IS NULL OR i.ended_at > s.started_at)
  CROSS JOIN LATERAL (VALUES (COALESCE(s.kind, ''), COALESCE(s.queue_id, 0), 1),
                             (%(all)s::varchar, NULL::bigint, -1)) AS k(kind, q, f)
  CROSS JOIN LATERAL (VALUES (GREATEST(i.started_at, s.started_at, m.created_at), 'bl_in'),
                             (LEAST(i.ended_at, s.ended_at), 'bl_out')) AS v(at, metric)
  WHERE NOT m.excluded AND i.status IN {_UNSOLVED_SQL} AND v.at IS NOT NULL AND {_in_chunk("i")}
  UNION ALL
  SELECT r.replied_at, COALESCE(r.kind, ''), COALESCE(r.queue_id, 0), NULL, v.metric,
         width_bucket(v.val, %(edges)s::float8[]), 1, v.val, 0, 0
  FROM metrics_ticketnextreply r
  CROSS JOIN LATERAL (VALUES ('next_reply_cal_s', r.next_reply_cal_s),
                             ('next_reply_bus_s', r.next_reply_bus_s)) AS v(metric, val)
  WHERE NOT r.excluded AND {_in_chunk("r")}
) c
GROUP BY 1, 2, 3, 4, 5, 6
HAVING SUM(c.n) <> 0 OR SUM(c.num) <> 0 OR SUM(c.den) <> 0 OR SUM(c.s) <> 0
"""  # noqa: S608 - fixed identifiers only

# A cell is kept when a count or its sum differs from zero (`_EPS`: see `_nest`).
_NONZERO = f"SUM(n) <> 0 OR SUM(num) <> 0 OR SUM(den) <> 0 OR abs(SUM(s)) >= {_EPS}"
_CELL_COLUMNS = "dim, key, span, start, metric, kind, bin, n, sum_s, num, den"
_MOVE_SQL = "INSERT INTO metrics_dashboardrollup ({c}) SELECT {c} FROM {stage}"
_INSERT_SQL = f"""
INSERT INTO {{target}} ({_CELL_COLUMNS})
SELECT {{dim}}, {{key}}, {{span}}, {{start}}, metric, kind, bin, SUM(n), SUM(s), SUM(num), SUM(den)
FROM {{source}} {{where}}
GROUP BY 2, 4, 5, 6, 7
HAVING {_NONZERO}
"""  # noqa: S608 - fixed identifiers only
_WEEK = "(day - (EXTRACT(ISODOW FROM day)::int - 1))"
_REBUILD_DIMS = (
    ("''", "0", "WHERE q IS NULL"),
    ("'q'", "q", "WHERE q IS NOT NULL"),
    ("'a'", "ag", "WHERE q IS NULL AND ag IS NOT NULL"),
    ("'qa'", "(q::bigint << 32) | ag", "WHERE q IS NOT NULL AND ag IS NOT NULL"),
)
_SPAN_ALL_ROWS = {"''": "", "'a'": "WHERE ag IS NOT NULL"}  # week / month cells of dims '' / 'a'
_SPANS = (("'d'", "day"), ("'w'", _WEEK), ("'m'", "date_trunc('month', day)::date"))


def _span_inserts(target: str, base: str, dims: tuple[str, ...]) -> list[str]:
    """The cell inserts of `dims` (dim literals) x day / week / month from the base rows, which
    are already nested (`_nest`): rows of a queue (q set) are whole, rows of a kind or of
    ALL_KINDS (q NULL) are differences. Dims 'q' / 'qa' read the queue rows; the day cells of
    dims '' / 'a' the differences, their week and month cells every row, so there a kind's
    cells are whole (`expand`)."""
    out = []
    for dim, key, where in _REBUILD_DIMS:
        if dim not in dims:
            continue
        for span, start in _SPANS:
            cond = where if dim.startswith("'q") or span == "'d'" else _SPAN_ALL_ROWS[dim]
            out.append(_INSERT_SQL.format(target=target, dim=dim, key=key, span=span, start=start, source=base,
                                          where=cond))  # fmt: skip
    return out


# The set-based rebuild groups the per-ticket rows one ticket-id range at a time: the cells are
# sums, so each chunk's partial base rows are appended to the base table and the span inserts
# sum them. A chunk's hash aggregate then fits in REBUILD_WORK_MEM instead of spilling, and with
# `workers` the chunks run on that many connections at once (docs/metrics.md#rebuilding-the-
# dashboard-cells, bench/METRICS.md).
REBUILD_CHUNK = 25000  # tickets per chunk
REBUILD_WORK_MEM = "64MB"  # per sort / hash of a chunk (x hash_mem_multiplier for hashes)
_STAGE = "metrics_dashboardrollup_rebuild"  # unlogged: the base rows of a parallel rebuild
_STAGE_CELLS = _STAGE + "_cells"  # unlogged: its cells, moved into the cell table at the end
_MOVE_SQL = _MOVE_SQL.format(c=_CELL_COLUMNS, stage=_STAGE_CELLS)
# jit: compiling cost more than it saved; no parallel workers: on the rebuild's own connections
# they only compete for the same cores (and would change the float sums' order between runs).
_SESSION = (
    f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'",
    "SET LOCAL jit = off",
    "SET LOCAL max_parallel_workers_per_gather = 0",
)


def rebuild(*, chunk: int = REBUILD_CHUNK, workers: int = 1) -> int:
    """Recompute every DashboardRollup cell (call inside a transaction). Returns the cells.

    `workers` > 1: the chunks' base rows and then the cells are computed on that many extra
    connections, which read committed rows only (the bulk rebuild's case; not for rows written
    in this transaction); this connection only moves the finished cells into the table."""
    from metrics import ces_days
    from metrics.services import reporting_zone

    zone = reporting_zone()
    _zone_store(zone)  # the cells are rebuilt in the current reporting zone
    if connection.vendor != "postgresql":
        return _rebuild_python(zone)
    params: dict[str, Any] = {"zone": zone.key, "edges": list(EDGES), "all": ALL_KINDS, "lo": 0, "hi": 0}
    with connection.cursor() as cur:
        cur.execute("LOCK TABLE metrics_dashboardrollup IN EXCLUSIVE MODE")
        cur.execute("DELETE FROM metrics_dashboardrollup")
        cur.execute("DELETE FROM metrics_dashboardrollupstale")  # every span rebuilt below
        ces_days.ces_days_rebuild(cur, zone)  # the CES day cells, from the facts in the same zone
        for statement in _SESSION:
            cur.execute(statement)
        cur.execute("SELECT min(ticket_id), max(ticket_id) FROM metrics_ticketmetrics")
        lo, hi = cur.fetchone()
        step = max(chunk, 1)
        chunks = [{**params, "lo": a, "hi": a + step} for a in range(lo, hi + 1, step)] if lo is not None else []
        if workers > 1 and len(chunks) > 1:
            _cells_parallel(chunks, params, workers)
            cur.execute(_MOVE_SQL)
            total = cur.rowcount
            cur.execute(f"DROP TABLE {_STAGE}, {_STAGE_CELLS}")
            return total
        total = 0
        cur.execute(f"CREATE TEMP TABLE _dash_base ON COMMIT DROP AS {_BASE_SELECT} WITH NO DATA", params)
        for chunk_params in chunks:
            cur.execute(f"INSERT INTO _dash_base {_BASE_SELECT}", chunk_params)
        cur.execute("ANALYZE _dash_base")  # a temp table has no statistics: the span plans need them
        for sql in _span_inserts("metrics_dashboardrollup", "_dash_base", ("''", "'q'", "'a'", "'qa'")):
            cur.execute(sql)  # this sums the base rows: the chunks add up
            total += cur.rowcount
        cur.execute("DROP TABLE _dash_base")
    return total


def _cells_parallel(chunks: list[dict[str, Any]], params: dict[str, Any], workers: int) -> None:
    """Fill the unlogged stage tables, `workers` threads each on its own connection
    (autocommit): first the chunks' base rows, then the cells (each span insert on its own),
    so that the caller's connection only moves the cells. The caller's EXCLUSIVE lock on the cells is held
    meanwhile, so a concurrent recompute cannot commit a cell delta the stage rows would miss."""
    setup = [
        # left by an interrupted rebuild (`_net`: an earlier version's)
        f"DROP TABLE IF EXISTS {_STAGE}, {_STAGE}_net, {_STAGE_CELLS}",
        f"CREATE UNLOGGED TABLE {_STAGE} AS {_BASE_SELECT} WITH NO DATA",
        f"CREATE UNLOGGED TABLE {_STAGE_CELLS} AS SELECT {_CELL_COLUMNS} FROM metrics_dashboardrollup WITH NO DATA",  # noqa: S608
    ]
    _run_threads([[(sql, params) for sql in setup]], 1)  # the tables exist (committed) first
    _run_threads([[(f"INSERT INTO {_STAGE} {_BASE_SELECT}", chunk_params)] for chunk_params in chunks], workers)
    _run_threads([[(f"ANALYZE {_STAGE}", None)]], 1)  # the span plans need statistics
    inserts = _span_inserts(_STAGE_CELLS, _STAGE, ("''", "'q'", "'a'", "'qa'"))
    _run_threads([[(sql, None)] for sql in inserts], workers)


def _run_threads(jobs: list[list[tuple[str, Any]]], workers: int) -> None:
    """Run `jobs` (each a sequence of statements, one transaction) on `workers` threads, each
    with its own connection; the first error is re-raised."""
    import queue
    import threading

    todo: queue.SimpleQueue[list[tuple[str, Any]]] = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with connection.cursor() as cur:  # this thread's own connection
                while not errors:
                    try:
                        job = todo.get_nowait()
                    except queue.Empty:
                        return
                    with transaction.atomic():
                        for statement in _SESSION:
                            cur.execute(statement)
                        for sql, sql_params in job:
                            cur.execute(sql, sql_params)
        except BaseException as exc:  # re-raised by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(min(workers, len(jobs)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _rebuild_python(zone: ZoneInfo) -> int:
    from metrics.models import (
        DashboardRollup,
        DashboardRollupStale,
        TicketMetrics,
        TicketNextReply,
        TicketSegment,
        TicketStatusInterval,
    )

    total: Delta = defaultdict(lambda: [0, 0.0, 0, 0])
    intervals: dict[int, list[Any]] = defaultdict(list)
    for i in TicketStatusInterval.objects.filter(status__in=UNSOLVED).iterator(chunk_size=5000):
        intervals[i.ticket_id].append(i)
    segments: dict[int, list[Any]] = defaultdict(list)
    for seg in TicketSegment.objects.order_by("ticket_id", "idx").iterator(chunk_size=5000):
        segments[seg.ticket_id].append(seg)
    replies: dict[int, list[Any]] = defaultdict(list)
    for r in TicketNextReply.objects.iterator(chunk_size=5000):
        replies[r.ticket_id].append(r)
    for m in TicketMetrics.objects.iterator(chunk_size=2000):
        tid = m.ticket_id
        contributions(
            m, intervals.get(tid, []), zone, total, segments=segments.get(tid, []), next_replies=replies.get(tid, [])
        )
    DashboardRollup.objects.all().delete()
    DashboardRollupStale.objects.all().delete()
    return apply(total)
