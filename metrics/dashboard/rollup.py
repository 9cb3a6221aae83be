"""The dashboard's numbers from `DashboardRollup` cells (long ranges at scale).

Used by `metrics.dashboard.build` when the period is large (more tickets created in it
than DASHBOARD_EXACT_MAX_TICKETS) and filtered by nothing finer than
queue and kind; with an agent filter, for the cohorts the agent cells hold (`cell_cohorts`,
docs/metrics.md "Filters and the cells"). Counts, sums, means and ratios equal the exact per-ticket path;
medians and p90 are interpolated from merged histograms (metrics.rollup). The
result has the shape of the exact path's (`CohortResult` per cohort), so the
page, CSV and e-mail code is shared. Drill-downs always list exact per-ticket
values.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings

from helpdesk.lib.db_router import read_connection
from metrics import rollup as metric_rollup
from metrics.dashboard.db import CohortResult, _duration_column, _filters_sql, _run, _run_plain, _use_sql
from metrics.dashboard.kpis import (
    AGENT_COHORTS,
    COHORTS,
    DURATION_KPIS,
    EXACT_COHORTS,
    HIST_EDGES,
    HIST_KPIS,
    KINDS,
    SIDES,
    TREND_COHORTS,
)
from metrics.dashboard.period import Scope, _midnight, bucket_starts

# cohort -> count metric in the rollup, and how its (n, sum, num, den) map to the
# aliases of `dashboard._cohort_aggregates`.
_COUNT_ALIASES: dict[str, tuple[str, dict[str, str]]] = {
    "first_res": ("c:first_res", {"n": "resolved_first", "num": "reopened"}),
    "last_res": ("c:last_res", {"n": "resolved", "num": "fcr", "den": "fcr_eligible", "s": "zero_touch"}),
    "csat": ("c:csat", {"n": "responses", "num": "satisfied", "den": "score_n", "s": "score_sum"}),
    "offered": ("c:offered", {"n": "offered", "num": "responded"}),
    "created": (
        "c:created",
        {"n": "created", "s": "escalated", "num": "escalated_to_service", "den": "escalated_to_support"},
    ),
    "first_esc": ("c:first_esc", {"n": "escalated_first", "num": "ping_pong"}),
    "sla_fr": ("c:sla_fr", {"n": "with_outcome", "num": "achieved", "den": "breached"}),
    "sla_res": ("c:sla_res", {"n": "with_outcome", "num": "achieved", "den": "breached"}),
}
_SLOT = {"n": 0, "s": 1, "num": 2, "den": 3}


def _dim(scope: Scope) -> tuple[str, int]:
    """The cells of the scope: one queue ('q'), one agent ('a'), one agent within one queue
    ('qa'), or every queue ('')."""
    queue = int(scope.queue_id) if scope.queue_id not in (None, "") else None
    if scope.agent_id is not None:
        return ("a", int(scope.agent_id)) if queue is None else ("qa", metric_rollup.qa_key(queue, scope.agent_id))
    return ("q", queue) if queue is not None else ("", 0)


def eligible(scope: Scope) -> bool:
    """Rollup cells hold (queue or all) x kind: finer filters need the per-ticket rows."""
    return all(getattr(scope, k) in (None, "") for k in ("agent_id", "priority", "channel"))


# The cohorts whose every number the agent cells hold (metrics.rollup DURATIONS / COUNTS with
# agent cells): FRT, CSAT, created. The others (resolutions, SLA, escalations, offered) have
# no agent cells, so an agent-filtered page reads them exactly (docs/metrics.md "Filters and
# the cells").
AGENT_CELL_COHORTS = ("frt", "csat", "created")


def agent_eligible(scope: Scope) -> bool:
    """An agent filter (alone or with queue / kind): its FRT, CSAT and created cohorts from the
    agent cells."""
    return scope.agent_id is not None and all(getattr(scope, k) in (None, "") for k in ("priority", "channel"))


def _dim_sql(dim: tuple[str, int], *, agents: bool = False, span: str = "'d'") -> tuple[str, list[Any]]:
    """The cells of one queue (dim 'q', or its agents 'qa'), or of every queue: in day cells
    (`span` 'd') all queue cells plus the differences of dims '' / 'a' (kind k = its segments in
    kind k minus its queue cells of kind k, kind ALL_KINDS = whole tickets minus their kinds), so
    a ticket that never moved is stored in its queue cells alone; week and month cells of dims
    '' / 'a' hold whole kinds (docs/metrics.md#rollup-cell-shape)."""
    if dim[0] == "q":
        return ("r.dim = 'qa'", []) if agents else ("r.dim = 'q' AND r.key = %s", [dim[1]])
    if dim[0] == "qa":
        return "r.dim = 'qa' AND r.key = %s", [dim[1]]
    if dim[0] == "a":
        # Day cells: the agent's differences (dim 'a') and its cells within every queue ('qa', one
        # key per queue, so index probes rather than every agent's cells); weeks / months: 'a' alone.
        # An 'a' key is an agent id (< 2^32), so the 'qa' keys never match an 'a' cell.
        sql = f"r.dim = ANY(CASE WHEN {span} = 'd' THEN ARRAY['a', 'qa'] ELSE ARRAY['a'] END::varchar[])"
        return f"{sql} AND r.key = ANY({_AGENT_KEYS_SQL})", [dim[1], dim[1]]
    coarse, fine = ("a", "qa") if agents else ("", "q")
    sql = f"r.dim = ANY(CASE WHEN {span} = 'd' THEN ARRAY['{coarse}', '{fine}'] ELSE ARRAY['{coarse}'] END::varchar[])"
    return sql, []


def _kind_sql(scope: Scope) -> tuple[str, list[Any]]:
    """The cells' kind: the filter's kind, else every kind (their sum is the whole, ALL_KINDS
    holding what whole tickets add to their kinds;
    docs/metrics.md#18-queue-and-kind-attribution-across-escalations)."""
    if scope.kind:
        return " AND r.kind = %s", [scope.kind]
    return "", []


def _sides(kind: str) -> tuple[str, ...]:
    """The page's sides a cell of `kind` adds to."""
    return (kind, "all") if kind in KINDS else ("all",)


# The agent's cell keys (%s twice: the agent): its 'a' key and its 'qa' key in every queue, queue 0
# (none) included, whose 'qa' key is the agent id itself (metrics.rollup.qa_key). An InitPlan
# evaluated once per statement, so the index is probed per key. Queues with tickets cannot be
# deleted (Ticket.queue is PROTECT) and the product deletes none (docs/metrics.md "Filters and the cells").
_AGENT_KEYS_SQL = "ARRAY(SELECT (q.id::bigint << 32) | %s::bigint FROM tickets_queue q UNION ALL SELECT %s::bigint)"


def created_count(scope: Scope) -> int:
    """Tickets created in the current period (from the day cells), to choose the path."""
    dsql, dparams = _dim_sql(_dim(scope))
    ksql, kparams = _kind_sql(scope)
    sql = f"""SELECT COALESCE(SUM(r.n), 0) AS n FROM metrics_dashboardrollup r
              WHERE {dsql} AND r.metric = 'c:created' AND r.span = 'd'
                AND r.start >= %s AND r.start <= %s AND r.bin = -1 {ksql}"""  # noqa: S608
    return int(_run(sql, [*dparams, scope.period.first, scope.period.last, *kparams])[0]["n"])


def use_rollup(scope: Scope) -> bool:
    """Rollup cells when the exact path would read many rows: it scans the period's whole
    index range and filters queue / kind afterwards, so the unfiltered count decides."""
    return eligible(scope) and _large(scope)


def use_agent_cells(scope: Scope) -> bool:
    """The agent filter's FRT / CSAT / created cohorts from the agent cells, by the same rule."""
    return agent_eligible(scope) and _large(scope)


def _large(scope: Scope) -> bool:
    if not _use_sql():
        return False
    unfiltered = replace(scope, queue_id=None, kind=None, agent_id=None)
    if created_count(unfiltered) <= settings.DASHBOARD_EXACT_MAX_TICKETS:
        return False
    # Cells still in an earlier reporting zone (until `metrics_rebuild`): the exact path is right.
    return metric_rollup.zone_matches()


def cell_cohorts(scope: Scope) -> tuple[str, ...]:
    """The cohorts this scope reads from the cells (none: every cohort exact)."""
    if use_rollup(scope):
        return tuple(c for c in COHORTS if c not in EXACT_COHORTS)
    if use_agent_cells(scope):
        return AGENT_CELL_COHORTS
    return ()


def _month_end(d: date) -> date:
    nxt = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt - timedelta(days=1)


def cover(first: date, last: date, stale: frozenset[tuple[str, date]] = frozenset()) -> list[tuple[str, date]]:
    """The fewest (span, start) cells whose union is exactly the local days [first, last]:
    whole calendar months ('m'), Monday weeks ('w') and days ('d'), never a `stale` week or
    month (not yet folded from its days, metrics.rollup.fold). Weeks straddle month
    starts, so a greedy choice is not minimal: shortest path over the days instead."""
    n = (last - first).days + 1
    if n <= 0:
        return []
    best: list[tuple[int, int, str]] = [(0, -1, "")] + [(n + 1, -1, "")] * n  # cells, previous, span
    for i in range(n):
        d = first + timedelta(days=i)
        steps = [("d", 1)]
        if d.weekday() == 0 and ("w", d) not in stale:
            steps.append(("w", 7))
        if d.day == 1 and ("m", d) not in stale:
            steps.append(("m", (_month_end(d) - d).days + 1))
        for span, length in steps:
            j = i + length
            if j <= n and best[i][0] + 1 < best[j][0]:
                best[j] = (best[i][0] + 1, i, span)
    out: list[tuple[str, date]] = []
    j = n
    while j > 0:
        _, i, span = best[j]
        out.append((span, first + timedelta(days=i)))
        j = i
    return out[::-1]


def _cover_values(cells: list[tuple[str, str | None, str, date]]) -> tuple[str, list[Any]]:
    sql = ", ".join("(%s, %s::date, %s, %s::date)" for _ in cells)
    params: list[Any] = []
    for part, grp, span, start in cells:
        params += [part, grp, span, start]
    return sql, params


def _metrics_for(scope: Scope, cohorts: tuple[str, ...]) -> list[str]:
    """The cell metrics of `cohorts`: their durations (at the scope's clock) and counts."""
    durations = [_duration_column(k, scope.clock) for k, s in DURATION_KPIS.items() if s["cohort"] in cohorts]
    return [*durations, *(m for c, (m, _) in _COUNT_ALIASES.items() if c in cohorts)]


def _fetch(
    scope: Scope, cells: list, metrics: list[str], group: str, dim: tuple[str, int], *, by_kind: bool = True
) -> list[tuple]:
    """Sum the cells' rows per (`group`, kind, metric, bin): (g, kind, metric, bin, n, s, num, den);
    without `by_kind` every kind in one row (kind '')."""
    values, params = _cover_values(cells)
    dsql, dparams = _dim_sql(dim, span="c.span")
    ksql, kparams = _kind_sql(scope)
    kind = 'r.kind COLLATE "C"' if by_kind else "''"
    # COLLATE "C": if grouping ever sorts, it compares bytes, not locale rules. LATERAL ... OFFSET 0:
    # one index range per cover cell; as a join over two dims the planner scanned the whole table.
    sql = f"""
        SELECT {group} AS g, {kind} AS kind, r.metric COLLATE "C" AS metric, r.bin,
               SUM(r.n)::bigint AS n, SUM(r.sum_s) AS s,
               SUM(r.num)::bigint AS num, SUM(r.den)::bigint AS den
        FROM (VALUES {values}) AS c(part, grp, span, start)
        CROSS JOIN LATERAL (
            SELECT r.kind, r.metric, r.bin, r.n, r.sum_s, r.num, r.den FROM metrics_dashboardrollup r
            WHERE {dsql} AND r.metric = ANY(%s) AND r.span = c.span AND r.start = c.start {ksql} OFFSET 0
        ) r
        GROUP BY 1, 2, 3, 4
    """  # noqa: S608 - fixed identifiers only
    return _tuples(sql, [*params, *dparams, metrics, *kparams])


def _tuples(sql: str, params: list[Any]) -> list[tuple]:
    with read_connection().cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


class _Acc:
    """Per (group, side, metric): stat slots and histogram counts."""

    def __init__(self) -> None:
        self.stat: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0])
        self.hist: dict[tuple, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, group: Any, side: str, metric: str, b: int, n: int, s: float, num: int, den: int) -> None:
        """A duration's cells are its histogram bins, each with its count and sum."""
        key = (group, side, metric)
        cell = self.stat[key]
        cell[0] += n
        cell[1] += s or 0.0
        cell[2] += num
        cell[3] += den
        if b != metric_rollup.STAT:
            self.hist[key][b] += n

    def add_rows(self, rows: list[tuple], side: str | None = None) -> None:
        """`add` for every fetched (group, kind, metric, bin, n, sum, num, den) row, to its kind's
        side and "all" (or to `side` alone), in the same order: the same sums. Inlined: a 90-day
        page adds ~7,000 cells, and the method calls were most of `_tile_acc`'s Python time."""
        stat, hist, stat_bin = self.stat, self.hist, metric_rollup.STAT
        for g, kind, metric, b, n, s, num, den in rows:
            for sd in (side,) if side else _sides(kind):
                key = (g, sd, metric)
                cell = stat[key]
                cell[0] += n
                cell[1] += s or 0.0
                cell[2] += num
                cell[3] += den
                if b != stat_bin:
                    hist[key][b] += n

    def row(self, group: Any, side: str, cohort: str, clock: str, pct: bool = True) -> dict[str, Any]:
        """The aliases of `_cohort_aggregates` for one cell."""
        out: dict[str, Any] = {}
        for kpi, spec in DURATION_KPIS.items():
            if spec["cohort"] != cohort:
                continue
            col = _duration_column(kpi, clock)
            n, s, _, _ = self.stat.get((group, side, col), [0, 0.0, 0, 0])
            hist = self.hist.get((group, side, col), {})
            out[f"{kpi}__n"] = n
            out[f"{kpi}__sum"] = s if n else None
            out[f"{kpi}__pct"] = metric_rollup.hist_percentiles(hist, (0.5, 0.9)) if n and pct and hist else None
            out.setdefault("n_rows", n)
        if cohort in _COUNT_ALIASES:
            metric, aliases = _COUNT_ALIASES[cohort]
            slots = self.stat.get((group, side, metric), [0, 0.0, 0, 0])
            for slot, alias in aliases.items():
                value = slots[_SLOT[slot]]
                out[alias] = value if alias == "score_sum" else int(value)
            out["n_rows"] = slots[0]
            if cohort == "csat" and not out["score_n"]:
                out["score_sum"] = None
        return out


@contextmanager
def hash_grouping() -> Iterator[None]:
    """Few hundred index ranges feed hash aggregations; the planner's row estimates would
    pick sort-based grouping, 3x slower here (the setting is undone on exit)."""
    _run_plain("SET LOCAL enable_sort = off")
    try:
        yield
    finally:
        _run_plain("SET LOCAL enable_sort = on")


def _tile_acc(scope: Scope, dim: tuple[str, int], stale: frozenset[tuple[str, date]], metrics: list[str]) -> _Acc:
    """Both periods' tile cells, per side."""
    period, prev = scope.period, scope.period.previous
    tiles = [("cur", None, s, st) for s, st in cover(period.first, period.last, stale)]
    tiles += [("prev", None, s, st) for s, st in cover(prev.first, prev.last, stale)]
    acc = _Acc()
    acc.add_rows(_fetch(scope, tiles, metrics, 'c.part COLLATE "C"', dim))
    return acc


def _trend_acc(scope: Scope, dim: tuple[str, int], stale: frozenset[tuple[str, date]], metrics: list[str]) -> _Acc:
    """Each trend bucket's days inside the period."""
    period = scope.period
    trend_cells = []
    step = 7 if scope.bucket == "week" else 1
    for b in bucket_starts(scope):
        lo, hi = max(b, period.first), min(b + timedelta(days=step - 1), period.last)
        trend_cells += [("cur", b, s, st) for s, st in cover(lo, hi, stale)]
    frt_col = _duration_column("frt", scope.clock)
    trend = _Acc()
    wanted = [m for m in (frt_col, "c:created", "c:last_res", "c:csat") if m in metrics]
    trend.add_rows(_fetch(scope, trend_cells, wanted, "c.grp", dim, by_kind=False), side="all")
    return trend


def _agent_acc(scope: Scope, dim: tuple[str, int], stale: frozenset[tuple[str, date]], metrics: list[str]) -> _Acc:
    agents = _Acc()
    if scope.with_agents:
        cells = [("cur", None, s, st) for s, st in cover(scope.period.first, scope.period.last, stale)]
        table = [_duration_column("frt", scope.clock), "handle_s", "c:last_res", "c:csat", "c:created"]
        wanted = [m for m in table if m in metrics]
        for key, metric, b, n, s, num, den in _agent_fetch(scope, cells, wanted, dim):
            # A cell retracted to zero stays stored: it must not list its agent (the exact path
            # lists an agent only for the tickets attributed to them).
            if n or num or den or abs(s or 0.0) >= metric_rollup._EPS:
                agents.add(key & 0xFFFFFFFF, "all", metric, b, n, s, num, den)
    return agents


def _cohort_result(cohort: str, scope: Scope, acc: _Acc, trend: _Acc, agents: _Acc) -> CohortResult:
    res = CohortResult()
    for side in SIDES:
        for p in ("cur", "prev"):
            res.cells[(side, p)] = acc.row(p, side, cohort, scope.clock)
    if cohort in TREND_COHORTS:
        for b in bucket_starts(scope):
            res.buckets[datetime.combine(b, datetime.min.time())] = trend.row(
                b, "all", cohort, scope.clock, pct=cohort == "frt"
            )
    if scope.with_agents and cohort in AGENT_COHORTS:
        agent_ids = {g for (g, _, _) in agents.stat}
        res.agents = {a: agents.row(a, "all", cohort, scope.clock, pct=cohort == "frt") for a in agent_ids}
    for kpi in HIST_KPIS:
        if DURATION_KPIS[kpi]["cohort"] == cohort:
            res.hist = _coarse(acc.hist.get(("cur", "all", _duration_column(kpi, scope.clock)), {}))
    return res


def cohort_results(scope: Scope, cohorts: tuple[str, ...] | None = None) -> dict[str, CohortResult]:
    """Every cohort's (or `cohorts`') tiles (both periods), trend buckets, agents and histogram."""
    cohorts = cohorts or tuple(c for c in COHORTS if c not in EXACT_COHORTS)
    dim = _dim(scope)
    stale = metric_rollup.stale_spans()  # weeks / months to read from their days
    metrics = _metrics_for(scope, cohorts)
    acc = _tile_acc(scope, dim, stale, metrics)
    trend, agents = _trend_acc(scope, dim, stale, metrics), _agent_acc(scope, dim, stale, metrics)
    return {cohort: _cohort_result(cohort, scope, acc, trend, agents) for cohort in cohorts}


def _agent_fetch(scope: Scope, cells: list, metrics: list[str], dim: tuple[str, int]) -> list[tuple]:
    """Agent cells (dim 'a'), or with a queue filter the agents' cells within it (dim 'qa');
    with an agent filter that agent's cells alone (`_dim_sql`)."""
    queue = dim[1] if dim[0] == "q" else None
    values, params = _cover_values(cells)
    dsql, dparams = _dim_sql(dim, agents=dim[0] in ("", "q"), span="c.span")
    ksql, kparams = _kind_sql(scope)
    if queue is not None:
        ksql += " AND r.key >= %s AND r.key < %s"
        kparams += [metric_rollup.qa_key(queue, 0), metric_rollup.qa_key(queue + 1, 0)]
    sql = f"""
        SELECT r.key & 4294967295 AS agent, r.metric COLLATE "C" AS metric, r.bin, SUM(r.n)::bigint AS n,
               SUM(r.sum_s) AS s,
               SUM(r.num)::bigint AS num, SUM(r.den)::bigint AS den
        FROM (VALUES {values}) AS c(part, grp, span, start)
        CROSS JOIN LATERAL (
            SELECT r.key, r.metric, r.bin, r.n, r.sum_s, r.num, r.den FROM metrics_dashboardrollup r
            WHERE {dsql} AND r.span = c.span AND r.start = c.start AND r.metric = ANY(%s) {ksql}
        ) r
        GROUP BY 1, 2, 3
    """  # noqa: S608
    return _tuples(sql, [*params, *dparams, metrics, *kparams])


def _coarse(hist: dict[int, int]) -> dict[int, int]:
    """Fine bins -> the page's distribution buckets (whose edges are fine edges)."""
    out: dict[int, int] = {}
    for b, c in hist.items():
        lo, _ = metric_rollup.bin_bounds(b)
        k = 0 if b <= 0 else bisect_right(HIST_EDGES, lo)
        out[k] = out.get(k, 0) + c
    return {k: v for k, v in out.items() if v}


# --- backlog ------------------------------------------------------------------


def backlog_counts(scope: Scope, snaps: list[tuple[date, datetime]], now: datetime) -> dict[datetime, tuple]:
    """(backlog, actionable) at each snapshot from the interval in/out day cells:
    at the end of local day D it is sum(in) - sum(out) over days <= D (an interval counts at
    midnight T iff max(start, created) < T <= end); at `now`, everything up to today."""
    dsql, dparams = _dim_sql(_dim(scope))
    ksql, kparams = _kind_sql(scope)
    first = snaps[0][0]
    last = max(d for d, _ in snaps)
    sql = f"""
        SELECT CASE WHEN r.start < %s THEN NULL ELSE r.start END AS day, r.metric,
               SUM(r.n)::bigint AS n, SUM(r.num)::bigint AS num
        FROM metrics_dashboardrollup r
        WHERE {dsql} AND r.metric IN ('bl_in', 'bl_out') AND r.span = 'd'
          AND r.start <= %s AND r.bin = -1 {ksql}
        GROUP BY 1, 2
    """  # noqa: S608
    per_day: dict[date | None, list[int]] = defaultdict(lambda: [0, 0])
    for r in _run(sql, [first, *dparams, last, *kparams]):
        sign = 1 if r["metric"] == "bl_in" else -1
        cell = per_day[r["day"]]
        cell[0] += sign * int(r["n"])
        cell[1] += sign * int(r["num"])
    run = list(per_day.get(None, [0, 0]))
    out: dict[datetime, tuple] = {}
    d = first
    days = sorted((day, at) for day, at in snaps)
    i = 0
    while i < len(days):
        while d <= days[i][0]:
            cell = per_day.get(d)
            if cell:
                run[0] += cell[0]
                run[1] += cell[1]
            d += timedelta(days=1)
        out[days[i][1]] = (run[0], run[1])
        i += 1
    return out


def backlog_now_summary(scope: Scope, instant: datetime) -> dict[str, Any]:
    """The backlog at `now` (currently unsolved tickets) per side: count, actionable, age
    median / p90 / max and the age buckets.

    Tickets created in the last 8 local days are read one by one (partial index
    tm_backlog_now, a short range), so ages under a week and the age buckets are exact;
    older ones come from the 'bl_open' day cells (count per creation day), each day's
    tickets spread evenly over it for the percentiles (error < half a day, < 7 %).
    """
    zone = scope.period.zone
    split_day = instant.astimezone(zone).date() - timedelta(days=8)
    old = _backlog_old_days(scope, split_day)
    where, params = _filters_sql(scope, "assignee_id")  # queue / kind (the only filters here)
    recent = _backlog_recent(instant, _midnight(split_day, zone), where, params)
    first_by_kind = _backlog_oldest(instant, where, params)
    # Per kind once; "all" merges the kinds. Day bounds are computed once per day.
    bounds: dict[date, tuple[float, float]] = {}
    for r in old:
        if r["day"] not in bounds:
            start, end = _midnight(r["day"], zone), _midnight(r["day"] + timedelta(days=1), zone)
            bounds[r["day"]] = ((instant - end).total_seconds(), (instant - start).total_seconds())
    young: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for r in recent:
        young[r["kind"]].append((r["age_s"], r["act"]))
    out: dict[str, Any] = {"at": instant}
    for side in SIDES:
        rows = [x for v in young.values() for x in v] if side == "all" else list(young.get(side, ()))
        firsts = [f for k, f in first_by_kind.items() if side == "all" or k == side]
        old_side = [r for r in old if side == "all" or r["kind"] == side]  # see `_sides`
        out[side] = _backlog_side(rows, old_side, bounds, firsts, instant)
    return out


def _backlog_old_days(scope: Scope, split_day: date) -> list[dict[str, Any]]:
    """Unsolved tickets per creation day and kind before `split_day`, from the 'bl_open' cells."""
    dsql, dparams = _dim_sql(_dim(scope))
    ksql, kparams = _kind_sql(scope)
    return _run(
        f"""SELECT r.start AS day, r.kind, SUM(r.n)::bigint AS n, SUM(r.num)::bigint AS act
            FROM metrics_dashboardrollup r
            WHERE {dsql} AND r.metric = 'bl_open' AND r.span = 'd' AND r.start < %s
              AND r.bin = -1 {ksql}
            GROUP BY 1, 2 HAVING SUM(r.n) <> 0""",  # noqa: S608
        [*dparams, split_day, *kparams],
    )


def _backlog_recent(instant: datetime, split: datetime, where: str, params: list[Any]) -> list[dict[str, Any]]:
    """Unsolved tickets created since `split`, one by one: kind, actionable, age."""
    return _run(
        f"""SELECT m.kind, (m.status <> 'pending') AS act, %s - date_part('epoch', m.created_at) AS age_s
            FROM metrics_ticketmetrics m
            WHERE NOT m.excluded AND m.status IN {metric_rollup._UNSOLVED_SQL} AND m.created_at >= %s
              AND m.created_at < %s {where}""",  # noqa: S608
        [instant.timestamp(), split, instant, *params],
    )


def _backlog_oldest(instant: datetime, where: str, params: list[Any]) -> dict[str, datetime]:
    """The oldest unsolved ticket's creation per kind: one walk from the start of tm_backlog_now
    each (MIN per kind, not a GROUP BY over the whole backlog)."""
    oldest = _run(
        " UNION ALL ".join(
            f"""(SELECT %s::varchar AS kind, MIN(m.created_at) AS first FROM metrics_ticketmetrics m
                WHERE NOT m.excluded AND m.status IN {metric_rollup._UNSOLVED_SQL} AND m.created_at < %s
                  AND m.kind = %s {where})"""  # noqa: S608
            for _ in KINDS
        ),
        [p for k in KINDS for p in (k, instant, k, *params)],
    )
    return {r["kind"]: r["first"] for r in oldest if r["first"] is not None}


def _backlog_side(
    rows: list[tuple[float, bool]],
    old: list[dict[str, Any]],
    bounds: dict[date, tuple[float, float]],
    firsts: list[datetime],
    instant: datetime,
) -> dict[str, Any]:
    """One side's backlog summary from its young tickets (age, actionable) and older day cells."""
    ages = sorted(a for a, _ in rows)
    days: dict[date, int] = defaultdict(int)
    n_old = act_old = 0
    for r in old:
        days[r["day"]] += r["n"]
        n_old += r["n"]
        act_old += r["act"]
    # older days, youngest first: (age at the day's end, age at its start, count)
    spans = [(*bounds[d], c) for d, c in sorted(days.items(), reverse=True) if c > 0]
    total = len(ages) + n_old
    a1, a3, a7 = (bisect_left(ages, x) for x in (86400, 3 * 86400, 7 * 86400))
    return {
        "backlog": total,
        "actionable": act_old + sum(1 for _, act in rows if act),
        "median_age_s": _age_pct(ages, spans, total, 0.5),
        "p90_age_s": _age_pct(ages, spans, total, 0.9),
        "max_age_s": (instant - min(firsts)).total_seconds() if firsts else None,
        "age_buckets": [a1, a3 - a1, a7 - a3, n_old + len(ages) - a7],
    }


def _age_pct(ages: list[float], spans: list[tuple[float, float, int]], total: int, q: float) -> float | None:
    """percentile_cont over exact young ages followed by older day spans (values spread evenly)."""
    if total <= 0:
        return None

    def at(k: int) -> float:
        if k < len(ages):
            return ages[k]
        k -= len(ages)
        for lo, hi, c in spans:
            if k < c:
                return lo + (hi - lo) * (k + 0.5) / c
            k -= c
        return spans[-1][1] if spans else ages[-1]

    pos = q * (total - 1)
    k = int(pos)
    frac = pos - k
    v0 = at(k)
    return v0 if frac == 0 else v0 + frac * (at(k + 1) - v0)
