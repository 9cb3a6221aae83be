"""Cohort aggregates in one PostgreSQL statement per cohort (exact percentile_cont)."""

from __future__ import annotations

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
        "created": [("created", "COUNT(*)")],
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


def _cohort_sql(cohort: str, scope: Scope) -> tuple[str, list[Any], list[str]]:
    """One statement per cohort, read index-only from the cohort's covering index.

    Part 0 groups current and previous period by kind and overall (tiles: exact
    percentile_cont, one sort per column and group). Part 1 groups the current period
    by trend bucket, agent and histogram bucket with counts, sums and means only (hash
    aggregation, no sorts); exact percentiles there only where the page shows them
    (FRT median/p90 per bucket and per agent).
    """
    spec = COHORTS[cohort]
    inst, agent_col = spec["instant"], spec["agent"]
    aggs = _cohort_aggregates(cohort, scope.clock)
    sets = _cohort_sets(cohort, scope)
    prev = scope.period.previous
    where, fparams = _filters_sql(scope, agent_col)
    if spec["where"]:
        where += f" AND ({spec['where']})"
    inner_cols = "".join(f", m.{c}" for c in _cohort_value_columns(cohort, scope.clock))
    start = scope.period.start
    inner_params: list[Any] = [start]
    extra_cols = ""
    if "bk" in sets:
        extra_cols += f", date_trunc(%s, m.{inst} AT TIME ZONE %s) AS bk"
        inner_params += [scope.bucket, str(scope.period.zone)]
    if "ag" in sets:
        extra_cols += f", COALESCE(m.{agent_col}, 0) AS ag"
    if "hb" in sets:
        kpi = next(k for k in HIST_KPIS if DURATION_KPIS[k]["cohort"] == cohort)
        edges = ", ".join(str(e) for e in HIST_EDGES)
        extra_cols += f", width_bucket(m.{_duration_column(kpi, scope.clock)}, ARRAY[{edges}]::float8[]) AS hb"
    keep_pct = cohort == "frt"  # the only percentiles shown per bucket / agent

    def select(part: int) -> str:
        out = []
        for alias, agg in aggs:
            if part == 1 and alias.endswith("__pct") and not keep_pct:
                agg = "NULL::float8[]"
            out.append(f'{agg} AS "{alias}"')
        return ", ".join(out)

    null_sets = {"bk": "NULL::timestamp", "ag": "NULL::bigint", "hb": "NULL::integer"}
    # Part 0: per period one plain aggregate pass over its index range (the two periods and
    # part 1 run as parallel branches), each aggregate FILTERed to its side - no sort of
    # whole rows, each percentile sorts only its cell's values.
    names = ", ".join(["part", "g", "cur", "kind", "bk", "ag", "hb", *(f'"{alias}"' for alias, _ in aggs)])
    branches, params = [], []
    for period, lo, hi in (("cur", start, scope.period.end), ("prev", prev.start, start)):
        cell_aggs = []
        for side in SIDES:
            for alias, agg in aggs:
                if side not in KINDS:
                    filtered = agg
                elif " FILTER (WHERE " in agg:
                    filtered = agg.replace(" FILTER (WHERE ", f" FILTER (WHERE c.kind = '{side}' AND ")
                else:
                    filtered = f"{agg} FILTER (WHERE c.kind = '{side}')"
                cell_aggs.append(f'{filtered} AS "{side}__{alias}"')
        values = ", ".join(
            "(0, {g}, {cur}, {kind}, NULL::timestamp, NULL::bigint, NULL::integer, {cols})".format(
                g=int(side == "all"),
                cur="TRUE" if period == "cur" else "FALSE",
                kind=f"'{side}'::varchar" if side in KINDS else "NULL::varchar",
                cols=", ".join(f'a."{side}__{alias}"' for alias, _ in aggs),
            )
            for side in SIDES
        )
        branches.append(f"""
            SELECT v.* FROM (
                SELECT {", ".join(cell_aggs)}
                FROM (
                    SELECT m.kind {inner_cols}
                    FROM metrics_ticketmetrics m
                    WHERE NOT m.excluded AND m.{inst} >= %s AND m.{inst} < %s {where}
                ) c
            ) a CROSS JOIN LATERAL (VALUES {values}) AS v({names})
        """)  # noqa: S608 - only fixed identifiers are interpolated; values are parameters
        params += [lo, hi, *fparams]
    sql = " UNION ALL ".join(branches)
    if sets:
        # Part 1: the current period only, grouped by trend bucket / agent / histogram bucket.
        cols = ", ".join(k if k in sets else f"{v} AS {k}" for k, v in null_sets.items())
        sql += f"""
        UNION ALL
        SELECT 1, GROUPING({", ".join(sets)}), NULL::boolean, NULL::varchar, {cols}, {select(1)}
        FROM (
            SELECT m.kind {inner_cols}{extra_cols}
            FROM metrics_ticketmetrics m
            WHERE NOT m.excluded AND m.{inst} >= %s AND m.{inst} < %s {where}
        ) c GROUP BY GROUPING SETS ({", ".join(f"({s})" for s in sets)})
        """  # noqa: S608
        params += [*inner_params[1:], start, scope.period.end, *fparams]
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
