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
from django.db import connection

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

# Duration column -> (cohort instant, attributed agent, extra condition column, agent dim: stats, hist)
DURATIONS: dict[str, tuple[str, str, str | None, bool, bool]] = {}
for _clock in ("cal", "bus"):
    DURATIONS[f"frt_{_clock}_s"] = ("first_reply_at", "first_replier_id", None, True, True)
    DURATIONS[f"first_resolution_{_clock}_s"] = (
        "first_resolved_at",
        "resolver_id",
        "first_resolution_cal_s",
        False,
        False,
    )
    for _stem in (
        "full_resolution",
        "requester_wait",
        "agent_wait",
        "time_in_progress",
        "resolution_escalated",
        "resolution_not_escalated",
    ):
        DURATIONS[f"{_stem}_{_clock}_s"] = ("last_resolved_at", "resolver_id", None, False, False)
    DURATIONS[f"time_to_escalation_{_clock}_s"] = ("first_escalated_at", "assignee_id", None, False, False)
DURATIONS["handle_s"] = ("last_resolved_at", "resolver_id", None, True, False)

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


def base(m: Any, intervals: list[Any], zone: ZoneInfo, out: Delta | None = None, sign: int = 1) -> Delta:
    """A ticket's contribution at its own grain: (local day, kind, queue, metric, bin,
    agent or None when the metric has no agent cells) -> [n, sum_s, num, den]."""
    out = out if out is not None else defaultdict(lambda: [0, 0.0, 0, 0])
    if m.excluded:
        return out
    kind, queue = m.kind or "", m.queue_id or 0

    def add(at: datetime | None, metric: str, b: int, agent: int | None, to_agent: bool, v: tuple) -> None:
        if at is None:
            return
        cell = out[(_local_day(at, zone), kind, queue, metric, b, (agent or 0) if to_agent else None)]
        for i in range(4):
            cell[i] += sign * v[i]

    for col, (inst, agent_col, cond, agent_stats, agent_hist) in DURATIONS.items():
        value = getattr(m, col)
        if value is None or (cond and getattr(m, cond) is None):
            continue
        at, agent = getattr(m, inst), getattr(m, agent_col)
        add(at, col, STAT, agent, agent_stats, (1, float(value), 0, 0))
        add(at, col, bin_of(float(value)), agent, agent_hist, (1, 0.0, 0, 0))
    for metric, (inst, agent_col, to_agent) in COUNTS.items():
        v = _count_values(metric, m)
        if v is not None:
            add(getattr(m, inst), metric, STAT, getattr(m, agent_col), to_agent, v)
    if m.status in UNSOLVED:  # currently unsolved, by creation day: the backlog's ages now
        add(m.created_at, "bl_open", STAT, None, False, (1, 0.0, int(m.status != "pending"), 0))
    for i in intervals:
        if i.status not in UNSOLVED:
            continue
        actionable = int(i.status != "pending")
        add(max(i.started_at, m.created_at), "bl_in", STAT, None, False, (1, 0.0, actionable, 0))
        if i.ended_at is not None:
            add(i.ended_at, "bl_out", STAT, None, False, (1, 0.0, actionable, 0))
    return out


def expand(base_delta: Delta, out: Delta | None = None) -> Delta:
    """Spread base cells into the rollup cells: day, week and month x all queues, the queue,
    and (for agent metrics) the agent and the agent within the queue. Zero cells are skipped,
    so an unchanged ticket costs nothing to re-apply."""
    out = out if out is not None else defaultdict(lambda: [0, 0.0, 0, 0])
    for (day, kind, queue, metric, b, agent), v in base_delta.items():
        if not any(v):
            continue
        for span, start in (("d", day), ("w", day - timedelta(days=day.weekday())), ("m", day.replace(day=1))):
            keys = [("", 0, span, start, metric, kind, b), ("q", queue, span, start, metric, kind, b)]
            if agent is not None:
                keys.append(("a", agent, span, start, metric, kind, b))
                keys.append(("qa", qa_key(queue, agent), span, start, metric, kind, b))
            for key in keys:
                cell = out[key]
                for i in range(4):
                    cell[i] += v[i]
    return out


def contributions(m: Any, intervals: list[Any], zone: ZoneInfo, out: Delta | None = None, sign: int = 1) -> Delta:
    """Add (sign=1) or retract (sign=-1) a TicketMetrics row and its status intervals."""
    return expand(base(m, intervals, zone, sign=sign), out)


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


# --- set-based rebuild (PostgreSQL) -----------------------------------------


def _values_sql() -> str:
    rows = []
    for col, (inst, agent_col, cond, agent_stats, agent_hist) in DURATIONS.items():
        when = f"m.{col} IS NOT NULL" + (f" AND m.{cond} IS NOT NULL" if cond else "")
        at = f"CASE WHEN {when} THEN m.{inst} END"
        rows.append(f"({at}, '{col}', -1, m.{agent_col}, {agent_stats}, 1, m.{col}, 0, 0)")
        rows.append(
            f"({at}, '{col}', width_bucket(m.{col}, %(edges)s::float8[]), m.{agent_col}, {agent_hist}, 1, 0.0, 0, 0)"
        )
    cnt = {
        "c:first_res": ("m.first_resolution_cal_s IS NOT NULL", "0.0", "(m.reopens > 0)::int", "0"),
        "c:last_res": ("TRUE", "m.zero_touch::int::float8", "m.fcr::int", "m.fcr_eligible::int"),
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
    rows.append(
        f"(CASE WHEN m.status IN {_UNSOLVED_SQL} THEN m.created_at END, 'bl_open', -1, NULL::bigint, false,"
        " 1, 0.0, (m.status <> 'pending')::int, 0)"
    )
    return ",\n  ".join(rows)


_BASE_SQL = f"""
CREATE TEMP TABLE _dash_base ON COMMIT DROP AS
SELECT (c.at AT TIME ZONE %(zone)s)::date AS day, c.kind, c.q, c.ag, c.metric, c.bin,
       SUM(c.n) AS n, SUM(c.s) AS s, SUM(c.num) AS num, SUM(c.den) AS den
FROM (
  SELECT v.at, COALESCE(m.kind, '') AS kind, COALESCE(m.queue_id, 0) AS q,
         CASE WHEN v.to_agent THEN COALESCE(v.agent, 0) END AS ag, v.metric, v.bin, v.n, v.s, v.num, v.den
  FROM metrics_ticketmetrics m
  CROSS JOIN LATERAL (VALUES {_values_sql()}) AS v(at, metric, bin, agent, to_agent, n, s, num, den)
  WHERE NOT m.excluded AND v.at IS NOT NULL
  UNION ALL
  SELECT v.at, COALESCE(m.kind, ''), COALESCE(m.queue_id, 0), NULL, v.metric, -1, 1, 0.0,
         (i.status <> 'pending')::int, 0
  FROM metrics_ticketstatusinterval i
  JOIN metrics_ticketmetrics m ON m.ticket_id = i.ticket_id
  CROSS JOIN LATERAL (VALUES (GREATEST(i.started_at, m.created_at), 'bl_in'), (i.ended_at, 'bl_out')) AS v(at, metric)
  WHERE NOT m.excluded AND i.status IN {_UNSOLVED_SQL} AND v.at IS NOT NULL
) c
GROUP BY 1, 2, 3, 4, 5, 6
"""  # noqa: S608 - fixed identifiers only

_INSERT_SQL = """
INSERT INTO metrics_dashboardrollup (dim, key, span, start, metric, kind, bin, n, sum_s, num, den)
SELECT {dim}, {key}, {span}, {start}, metric, kind, bin, SUM(n), SUM(s), SUM(num), SUM(den)
FROM _dash_base {where}
GROUP BY 2, 4, 5, 6, 7
"""
_WEEK = "(day - (EXTRACT(ISODOW FROM day)::int - 1))"


def rebuild() -> int:
    """Recompute every DashboardRollup cell (call inside a transaction). Returns the cells."""
    from metrics.services import reporting_zone

    zone = reporting_zone()
    _zone_store(zone)  # the cells are rebuilt in the current reporting zone
    if connection.vendor != "postgresql":
        return _rebuild_python(zone)
    total = 0
    with connection.cursor() as cur:
        cur.execute("LOCK TABLE metrics_dashboardrollup IN EXCLUSIVE MODE")
        cur.execute("DELETE FROM metrics_dashboardrollup")
        cur.execute(_BASE_SQL, {"zone": zone.key, "edges": list(EDGES)})
        for dim, key, where in (
            ("''", "0", ""),
            ("'q'", "q", ""),
            ("'a'", "ag", "WHERE ag IS NOT NULL"),
            ("'qa'", "(q::bigint << 32) | ag", "WHERE ag IS NOT NULL"),
        ):
            for span, start in (("'d'", "day"), ("'w'", _WEEK), ("'m'", "date_trunc('month', day)::date")):
                cur.execute(_INSERT_SQL.format(dim=dim, key=key, span=span, start=start, where=where))
                total += cur.rowcount
        cur.execute("DROP TABLE _dash_base")
    return total


def _rebuild_python(zone: ZoneInfo) -> int:
    from metrics.models import DashboardRollup, TicketMetrics, TicketStatusInterval

    total: Delta = defaultdict(lambda: [0, 0.0, 0, 0])
    intervals: dict[int, list[Any]] = defaultdict(list)
    for i in TicketStatusInterval.objects.filter(status__in=UNSOLVED).iterator(chunk_size=5000):
        intervals[i.ticket_id].append(i)
    for m in TicketMetrics.objects.iterator(chunk_size=2000):
        contributions(m, intervals.get(m.ticket_id, []), zone, total)
    DashboardRollup.objects.all().delete()
    return apply(total)
