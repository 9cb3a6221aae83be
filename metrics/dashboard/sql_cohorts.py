"""Cohort aggregates in one PostgreSQL statement per cohort (exact percentile_cont)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metrics.dashboard.db import CohortResult, _duration_column, _filters_sql, _run, _side_of
from metrics.dashboard.kpis import (
    AGENT_COHORTS,
    COHORTS,
    DURATION_KPIS,
    HIST_EDGES,
    HIST_KPIS,
    KINDS,
    SIDES,
    TREND_COHORTS,
    cohort_table,
)
from metrics.dashboard.period import Scope

# --- SQL building -----------------------------------------------------------


def _cohort_aggregates(cohort: str, clock: str) -> list[tuple[str, str]]:
    """(alias, SQL aggregate) pairs computed for a cohort."""
    aggs: list[tuple[str, str]] = [("n_rows", "COUNT(*)")]
    for kpi, spec in DURATION_KPIS.items():
        if spec["cohort"] != cohort:
            continue
        col = _duration_column(kpi, clock)
        aggs += [
            (f"{kpi}__n", f"COUNT({col})"),
            (f"{kpi}__sum", f"SUM({col})"),
            (f"{kpi}__pct", f"percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY {col})"),
        ]
    extra = {
        "first_res": [("resolved_first", "COUNT(*)"), ("reopened", "COUNT(*) FILTER (WHERE reopens > 0)")],
        "last_res": [
            ("resolved", "COUNT(*)"),
            ("fcr", "COUNT(*) FILTER (WHERE fcr)"),
            ("fcr_eligible", "COUNT(*) FILTER (WHERE fcr_eligible)"),
            ("zero_touch", "COUNT(*) FILTER (WHERE zero_touch)"),
        ],
        "csat": [
            ("responses", "COUNT(*)"),
            ("satisfied", "COUNT(*) FILTER (WHERE csat_satisfied)"),
            ("score_n", "COUNT(csat_score)"),
            ("score_sum", "SUM(csat_score)"),
        ],
        "offered": [("offered", "COUNT(*)"), ("responded", "COUNT(csat_at)")],
        "created": [
            ("created", "COUNT(*)"),
            ("escalated", "COUNT(*) FILTER (WHERE escalations > 0)"),
            ("escalated_to_service", "COUNT(*) FILTER (WHERE escalations_to_service > 0)"),
            ("escalated_to_support", "COUNT(*) FILTER (WHERE escalations_to_support > 0)"),
        ],
        "first_esc": [("escalated_first", "COUNT(*)"), ("ping_pong", "COUNT(*) FILTER (WHERE escalations >= 2)")],
        "sla_fr": [
            ("with_outcome", "COUNT(*)"),
            ("achieved", "COUNT(*) FILTER (WHERE sla_first_reply_outcome = 'achieved')"),
            ("breached", "COUNT(*) FILTER (WHERE sla_first_reply_outcome = 'breached')"),
        ],
        "sla_res": [
            ("with_outcome", "COUNT(*)"),
            ("achieved", "COUNT(*) FILTER (WHERE sla_resolution_outcome = 'achieved')"),
            ("breached", "COUNT(*) FILTER (WHERE sla_resolution_outcome = 'breached')"),
        ],
    }
    return aggs + extra.get(cohort, [])


_COHORT_NEEDS: dict[str, list[str]] = {
    "first_res": ["reopens", "first_resolution_cal_s"],
    "last_res": ["fcr", "fcr_eligible", "zero_touch"],
    "csat": ["csat_satisfied", "csat_score"],
    "offered": ["csat_at"],
    "sla_fr": ["sla_first_reply_outcome"],
    "sla_res": ["sla_resolution_outcome"],
    "created": ["escalations", "escalations_to_service", "escalations_to_support"],
    "first_esc": ["escalations"],
}


def _cohort_value_columns(cohort: str, clock: str) -> list[str]:
    """Per-ticket columns the cohort's aggregates read (besides kind, instant and attribution)."""
    columns = {_duration_column(k, clock) for k, v in DURATION_KPIS.items() if v["cohort"] == cohort}
    return sorted(columns | set(_COHORT_NEEDS.get(cohort, [])))


def _cohort_sets(cohort: str, scope: Scope) -> list[str]:
    """Per-current-period groupings of a cohort besides the tiles: bk (trend), ag (agents), hb (histogram)."""
    sets = []
    if cohort in TREND_COHORTS:
        sets.append("bk")
    if scope.with_agents and cohort in AGENT_COHORTS:
        sets.append("ag")
    if any(DURATION_KPIS[k]["cohort"] == cohort for k in HIST_KPIS):
        sets.append("hb")
    return sets


_NULL_SETS = {"bk": "NULL::timestamp", "ag": "NULL::bigint", "hb": "NULL::integer"}


@dataclass(frozen=True)
class _Source:
    """The rows one cohort statement reads: instant column, value columns, filters."""

    inst: str
    agent: str
    table: str
    inner_cols: str
    where: str
    params: list[Any]


def _cohort_source(cohort: str, scope: Scope) -> _Source:
    spec = COHORTS[cohort]
    where, fparams = _filters_sql(scope, spec["agent"])
    if spec["where"]:
        where += f" AND ({spec['where']})"
    inner_cols = "".join(f", m.{c}" for c in _cohort_value_columns(cohort, scope.clock))
    return _Source(spec["instant"], spec["agent"], cohort_table(cohort), inner_cols, where, fparams)


def _side_filtered(agg: str, side: str) -> str:
    """An aggregate restricted to one side's rows (FILTER), or as is for "all"."""
    if side not in KINDS:
        return agg
    if " FILTER (WHERE " in agg:
        return agg.replace(" FILTER (WHERE ", f" FILTER (WHERE c.kind = '{side}' AND ")
    return f"{agg} FILTER (WHERE c.kind = '{side}')"


def _period_branch(aggs: list[tuple[str, str]], src: _Source, period: str) -> str:
    """Part 0 for one period: one plain aggregate pass over its index range, each aggregate
    FILTERed to its side (no sort of whole rows; each percentile sorts only its cell's values),
    unpivoted to one row per side."""
    names = ", ".join(["part", "g", "cur", "kind", "bk", "ag", "hb", *(f'"{alias}"' for alias, _ in aggs)])
    cell_aggs = [f'{_side_filtered(agg, side)} AS "{side}__{alias}"' for side in SIDES for alias, agg in aggs]
    values = ", ".join(
        "(0, {g}, {cur}, {kind}, NULL::timestamp, NULL::bigint, NULL::integer, {cols})".format(
            g=int(side == "all"),
            cur="TRUE" if period == "cur" else "FALSE",
            kind=f"'{side}'::varchar" if side in KINDS else "NULL::varchar",
            cols=", ".join(f'a."{side}__{alias}"' for alias, _ in aggs),
        )
        for side in SIDES
    )
    return f"""
        SELECT v.* FROM (
            SELECT {", ".join(cell_aggs)}
            FROM (
                SELECT m.kind {src.inner_cols}
                FROM {src.table} m
                WHERE NOT m.excluded AND m.{src.inst} >= %s AND m.{src.inst} < %s {src.where}
            ) c
        ) a CROSS JOIN LATERAL (VALUES {values}) AS v({names})
    """  # noqa: S608 - only fixed identifiers are interpolated; values are parameters


def _set_columns(cohort: str, scope: Scope, sets: list[str], src: _Source) -> tuple[str, list[Any]]:
    """The grouping columns of part 1 (trend bucket, agent, histogram bucket) and their params."""
    cols, params = "", []
    if "bk" in sets:
        cols += f", date_trunc(%s, m.{src.inst} AT TIME ZONE %s) AS bk"
        params += [scope.bucket, str(scope.period.zone)]
    if "ag" in sets:
        cols += f", COALESCE(m.{src.agent}, 0) AS ag"
    if "hb" in sets:
        kpi = next(k for k in HIST_KPIS if DURATION_KPIS[k]["cohort"] == cohort)
        edges = ", ".join(str(e) for e in HIST_EDGES)
        cols += f", width_bucket(m.{_duration_column(kpi, scope.clock)}, ARRAY[{edges}]::float8[]) AS hb"
    return cols, params


def _grouped_part(
    cohort: str, scope: Scope, aggs: list[tuple[str, str]], sets: list[str], src: _Source
) -> tuple[str, list[Any]]:
    """Part 1: the current period only, grouped by trend bucket / agent / histogram bucket."""
    keep_pct = cohort == "frt"  # the only percentiles shown per bucket / agent
    select = ", ".join(
        f'{"NULL::float8[]" if alias.endswith("__pct") and not keep_pct else agg} AS "{alias}"' for alias, agg in aggs
    )
    extra_cols, params = _set_columns(cohort, scope, sets, src)
    cols = ", ".join(k if k in sets else f"{v} AS {k}" for k, v in _NULL_SETS.items())
    sql = f"""
        UNION ALL
        SELECT 1, GROUPING({", ".join(sets)}), NULL::boolean, NULL::varchar, {cols}, {select}
        FROM (
            SELECT m.kind {src.inner_cols}{extra_cols}
            FROM {src.table} m
            WHERE NOT m.excluded AND m.{src.inst} >= %s AND m.{src.inst} < %s {src.where}
        ) c GROUP BY GROUPING SETS ({", ".join(f"({s})" for s in sets)})
    """  # noqa: S608
    return sql, [*params, scope.period.start, scope.period.end, *src.params]


def _cohort_sql(cohort: str, scope: Scope) -> tuple[str, list[Any], list[str]]:
    """One statement per cohort, read index-only from the cohort's covering index.

    Part 0 groups current and previous period by kind and overall (tiles: exact
    percentile_cont, one sort per column and group). Part 1 groups the current period
    by trend bucket, agent and histogram bucket with counts, sums and means only (hash
    aggregation, no sorts); exact percentiles there only where the page shows them
    (FRT median/p90 per bucket and per agent). The two periods and part 1 run as
    parallel branches.
    """
    aggs = _cohort_aggregates(cohort, scope.clock)
    sets = _cohort_sets(cohort, scope)
    src = _cohort_source(cohort, scope)
    start, prev = scope.period.start, scope.period.previous
    branches, params = [], []
    for period, lo, hi in (("cur", start, scope.period.end), ("prev", prev.start, start)):
        branches.append(_period_branch(aggs, src, period))
        params += [lo, hi, *src.params]
    sql = " UNION ALL ".join(branches)
    if sets:
        part1, part1_params = _grouped_part(cohort, scope, aggs, sets, src)
        sql += part1
        params += part1_params
    return sql, params, sets


def _cohort_result_sql(cohort: str, scope: Scope) -> CohortResult:
    sql, params, sets = _cohort_sql(cohort, scope)
    out = CohortResult()
    n = len(sets)
    for row in _run(sql, params):
        period = "cur" if row["cur"] else "prev"
        if row["part"] == 0:
            out.cells[("all", period) if row["g"] else (_side_of(row), period)] = row
            continue
        present = [s for i, s in enumerate(sets) if not row["g"] & (1 << (n - 1 - i))]
        if present == ["bk"] and row["bk"] is not None:
            out.buckets[row["bk"]] = row
        elif present == ["ag"]:
            out.agents[row["ag"]] = row
        elif present == ["hb"] and row["hb"] is not None:
            out.hist[row["hb"]] = row["n_rows"]
    return out
