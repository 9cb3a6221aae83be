"""Every number of the page in one read transaction (exact path or rollup cells)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from helpdesk.lib.db_router import data_as_of, read_alias, read_connection
from metrics.dashboard import rollup as rollup_cells
from metrics.dashboard.awaiting import awaiting_tiles
from metrics.dashboard.backlog import backlog_series
from metrics.dashboard.comments import csat_comments
from metrics.dashboard.db import CohortResult, _use_sql
from metrics.dashboard.kpis import (
    COHORTS,
    DURATION_KPIS,
    HIST_KPIS,
    HIST_LABELS,
    KINDS,
    KPIS,
    PERIODS,
    SIDES,
    Kpi,
)
from metrics.dashboard.period import Scope, bucket_starts
from metrics.dashboard.py_cohorts import _cohort_result_py
from metrics.dashboard.sql_cohorts import _cohort_result_sql
from metrics.dashboard.surveys import survey_tiles

# --- result shaping ---------------------------------------------------------


def _duration_value(row: dict[str, Any] | None, kpi: str) -> dict[str, Any]:
    if not row or not row.get(f"{kpi}__n"):
        return {"n": 0, "sum_s": None, "mean_s": None, "median_s": None, "p90_s": None}
    pct = row[f"{kpi}__pct"] or [None, None]
    return {
        "n": row[f"{kpi}__n"],
        "sum_s": row[f"{kpi}__sum"],
        # mean = SUM / COUNT (what AVG computes, without AVG's sum-of-squares state)
        "mean_s": float(row[f"{kpi}__sum"]) / row[f"{kpi}__n"],
        "median_s": pct[0],
        "p90_s": pct[1],
    }


def _ratio(num: int, den: int) -> dict[str, Any]:
    return {"num": num, "den": den, "pct": (100.0 * num / den) if den else None}


@dataclass
class Dashboard:
    scope: Scope
    as_of: datetime
    tiles: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # kpi -> side -> period -> value
    trend: list[dict[str, Any]] = field(default_factory=list)
    backlog: dict[str, Any] = field(default_factory=dict)
    backlog_trend: list[dict[str, Any]] = field(default_factory=list)
    histograms: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    agents: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    sides: tuple[str, ...] = SIDES
    # True when medians / p90 come from rollup histograms (long ranges at scale, docs/metrics.md §4.3)
    approx: bool = False


# Per-transaction planner settings for the dashboard's few large aggregates: sorts for
# percentile_cont and GROUPING SETS stay in memory (the default 4 MB spills ~20 MB
# sorts to disk), and JIT compilation (~40 ms per statement) is not worth it here.
DASHBOARD_SESSION_SQL = "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off"


def dashboard_build(*, scope: Scope) -> Dashboard:
    """Every number of the page in one read transaction.

    Queries: settings (1) + one per cohort (8) + agent names (1) + backlog (2) + comments (1).
    """
    from django.db import transaction

    # On the connection the reads use: a replica inside use_replica() (docs/scaling.md).
    with transaction.atomic(using=read_alias()):
        if connection.vendor == "postgresql":
            with read_connection().cursor() as cur:
                cur.execute(DASHBOARD_SESSION_SQL)
        return _dashboard_build(scope=scope)


def _dashboard_build(*, scope: Scope) -> Dashboard:
    as_of = data_as_of()  # a replica's replay instant: the "as of" shown is what was read
    dash = Dashboard(scope=scope, as_of=as_of)
    if scope.kind in KINDS:
        dash.sides = (scope.kind,)

    cells = rollup_cells.cell_cohorts(scope)
    dash.approx = bool(cells)
    if cells:
        with rollup_cells.hash_grouping():
            results = rollup_cells.cohort_results(scope, cells)
        # An agent filter's cohorts without agent cells: exact (docs/metrics.md "Filters and the cells").
        results.update({cohort: _cohort_result(cohort, scope) for cohort in COHORTS if cohort not in results})
        return _dashboard_fill(dash, results)
    return _dashboard_fill(dash, {cohort: _cohort_result(cohort, scope) for cohort in COHORTS})


@dataclass
class _Merged:
    """The cohort results regrouped for the page: tiles per cohort, rows per trend bucket and agent."""

    cells: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    buckets: dict[datetime, dict[str, Any]] = field(default_factory=dict)
    agents: dict[int, dict[str, Any]] = field(default_factory=dict)
    hists: dict[str, dict[int, int]] = field(default_factory=dict)

    def cell(self, cohort: str, side: str, period: str) -> dict[str, Any]:
        return self.cells[cohort].get((side, period)) or {}


def _merge(results: dict[str, CohortResult]) -> _Merged:
    out = _Merged(hists={k: {} for k in HIST_KPIS})
    for cohort in COHORTS:
        res = results[cohort]
        out.cells[cohort] = res.cells
        for bk, row in res.buckets.items():
            out.buckets.setdefault(bk, {})[cohort] = row
        for ag, row in res.agents.items():
            out.agents.setdefault(ag, {})[cohort] = row
        for kpi in HIST_KPIS:
            if DURATION_KPIS[kpi]["cohort"] == cohort:
                out.hists[kpi] = dict(res.hist)
    return out


def tile_value(kpi: Kpi, merged: _Merged, side: str, period: str) -> dict[str, Any]:
    """One KPI's value for one side and period from the cohort cells (exact or rollup: same shape)."""
    if kpi.unit == "duration":
        return _duration_value(merged.cell(kpi.cohort, side, period), kpi.key)
    if kpi.unit == "ratio":
        cells = [merged.cell(c, side, period) for c in kpi.cohorts]
        value = _ratio(sum(c.get(kpi.num) or 0 for c in cells), sum(c.get(kpi.den) or 0 for c in cells))
    else:  # count
        value = {"n": merged.cell(kpi.cohort, side, period).get(kpi.num) or 0}
    if kpi.more_values is not None:
        value.update(kpi.more_values(merged.cell(kpi.cohort, side, period)))
    return value


def _dashboard_fill(dash: Dashboard, results: dict[str, CohortResult]) -> Dashboard:
    scope = dash.scope
    merged = _merge(results)
    for kpi in KPIS:
        if kpi.unit in ("duration", "ratio", "count"):
            dash.tiles[kpi.key] = {side: {p: tile_value(kpi, merged, side, p) for p in PERIODS} for side in SIDES}
    dash.trend = _trend_rows(scope, merged.buckets)
    dash.histograms = {
        kpi: [{"bucket": i, "label": HIST_LABELS[i], "n": merged.hists[kpi].get(i, 0)} for i in range(len(HIST_LABELS))]
        for kpi in HIST_KPIS
    }
    if scope.with_agents:
        dash.agents = _agent_rows(merged.agents, scope)
    # No backlog cells per agent: an agent-filtered backlog is exact.
    backlog_cells = dash.approx and rollup_cells.eligible(scope)
    dash.backlog_trend, dash.backlog = backlog_series(scope=scope, now=dash.as_of, rollup=backlog_cells)
    dash.comments = csat_comments(scope=scope)
    dash.tiles.update(survey_tiles(scope, ces_days=backlog_cells))  # CES from day cells on the rollup path
    dash.tiles.update(awaiting_tiles(scope, dash.as_of))  # live, from the tickets (one index range per queue)
    return dash


def _trend_rows(scope: Scope, buckets: dict[datetime, dict[str, Any]]) -> list[dict[str, Any]]:
    by_day = {k.date(): v for k, v in buckets.items()}
    rows = []
    for d in bucket_starts(scope):
        b = by_day.get(d, {})
        frt = _duration_value(b.get("frt"), "frt")
        csat = b.get("csat") or {}
        rows.append(
            {
                "bucket": d,
                "created": (b.get("created") or {}).get("created") or 0,
                "resolved": (b.get("last_res") or {}).get("resolved") or 0,
                "frt_median_s": frt["median_s"],
                "frt_p90_s": frt["p90_s"],
                "frt_n": frt["n"],
                "csat": _ratio(csat.get("satisfied") or 0, csat.get("responses") or 0),
            }
        )
    return rows


def _agent_rows(agents: dict[int, dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
    from accounts.models import User

    ids = [a for a in agents if a]
    names = dict(User.objects.filter(pk__in=ids).values_list("pk", "email")) if ids else {}
    rows = []
    for agent_id, cohorts in agents.items():
        res = cohorts.get("last_res") or {}
        csat = cohorts.get("csat") or {}
        rows.append(
            {
                "agent_id": agent_id,
                "name": names.get(agent_id, "(unassigned)" if not agent_id else f"#{agent_id}"),
                "solved": res.get("resolved") or 0,
                "frt": _duration_value(cohorts.get("frt"), "frt"),
                "aht": _duration_value(res, "handle"),
                "csat": _ratio(csat.get("satisfied") or 0, csat.get("responses") or 0),
                "fcr": _ratio(res.get("fcr") or 0, res.get("fcr_eligible") or 0),
                "created": (cohorts.get("created") or {}).get("created") or 0,
            }
        )
    rows.sort(key=lambda r: (-r["solved"], r["name"]))
    return rows


def _cohort_result(cohort: str, scope: Scope) -> CohortResult:
    if _use_sql():
        return _cohort_result_sql(cohort, scope)
    return _cohort_result_py(cohort, scope)


def kpi_values(*, scope: Scope, keys: tuple[str, ...]) -> dict[str, dict[str, dict[str, Any]]]:
    """The current-period values of some duration / ratio / count KPIs, per side: one exact statement
    per cohort they read (the API summary's escalation and next-reply figures)."""
    kpis = [k for k in KPIS if k.key in keys and k.unit in ("duration", "ratio", "count")]
    cohorts = {c for k in kpis for c in k.cohorts}
    merged = _Merged(cells={c: _cohort_result(c, scope).cells for c in cohorts})
    sides = (scope.kind, "all") if scope.kind in KINDS else SIDES
    return {k.key: {side: tile_value(k, merged, side, "cur") for side in sides} for k in kpis}
