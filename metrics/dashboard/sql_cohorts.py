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
    SEGMENT_COHORTS,
    SIDES,
    TREND_COHORTS,
    cohort_table,
)
from metrics.dashboard.period import Scope
from metrics.rollup import ALL_KINDS
from metrics.segments import LAST_RES_TICKET_COLUMNS, TICKET_COLUMNS, group_agg_sql, ticket_join

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
            ("resolved", "COUNT(*) FILTER (WHERE holds)"),  # holds the last resolution (segments)
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
    cols: list[str]
    table: str
    where: str
    params: list[Any]
    seg_where: str
    by_segment: bool  # a queue or kind filter: every row comes from the segments
    segmented: bool  # a cohort in SEGMENT_COHORTS (else whole tickets with their current kind)
    agent_id: int | None = None  # the agent filter (on the cohort's agent column)

    @property
    def inner_cols(self) -> str:
        return ", m.holds" + "".join(f", m.{c}" for c in self.cols)


def by_segment(scope: Scope) -> bool:
    """A view filtered to a queue or kind reads the segment-attributed values
    (docs/metrics.md#18-queue-and-kind-attribution-across-escalations)."""
    return scope.queue_id is not None or scope.kind not in (None, "")


def _cohort_source(cohort: str, scope: Scope) -> _Source:
    spec = COHORTS[cohort]
    where, fparams = _filters_sql(scope, spec["agent"])
    seg_where, _ = _filters_sql(scope, spec["agent"], alias="s")
    if spec["where"]:
        where += f" AND ({spec['where']})"
        seg_where += f" AND ({spec['where']})"
    cols = _cohort_value_columns(cohort, scope.clock)
    segmented = cohort in SEGMENT_COHORTS
    return _Source(
        spec["instant"],
        spec["agent"],
        cols,
        cohort_table(cohort),
        where,
        fparams,
        seg_where,
        segmented and by_segment(scope),
        segmented,
        scope.agent_id,
    )


def _whole_rows(src: _Source, kind: str = "%s::varchar") -> str:
    """Whole-ticket rows (kind ALL_KINDS): the unfiltered "all" side; or (`kind` "m.kind") with
    their current kind, for a cohort not attributed per segment."""
    cols = "".join(f", m.{c}" for c in src.cols)
    return f"""SELECT {kind} AS kind, TRUE AS holds, m.{src.inst}, m.{src.agent}{cols}
        FROM {src.table} m
        WHERE NOT m.excluded AND m.{src.inst} >= %s AND m.{src.inst} < %s {src.where}"""  # noqa: S608


# Columns every segment copies from its ticket (metrics.segments `_empty`; excluded tickets have no
# segments): a segment in a range of these is one of the range's ticket rows.
_TICKET_WIDE = frozenset({"last_resolved_at", "resolver_id"})


def _ticket_rows(src: _Source, lo: Any, hi: Any) -> tuple[str, list[Any]]:
    """The join of the segments to their tickets' rows for `group_agg_sql`. For a cohort whose
    instant and agent every segment copies from its ticket (the last resolution), the ticket rows
    are the same range of `metrics_ticketmetrics` (one covering index range, hashed) instead of a
    primary-key probe per segment: My stats read ~3 buffers per segment and period there
    (docs/metrics.md "Filters and the cells")."""
    join = ticket_join(src.cols)
    if not join or src.inst not in _TICKET_WIDE or src.agent not in _TICKET_WIDE:
        return join, []
    needed = ", ".join(f"t.{c}" for c in src.cols if c in TICKET_COLUMNS or c in LAST_RES_TICKET_COLUMNS)
    agent, params = ("", [lo, hi]) if src.agent_id is None else (f" AND t.{src.agent} = %s", [lo, hi, src.agent_id])
    rows = f"""(SELECT t.ticket_id, {needed} FROM metrics_ticketmetrics t
              WHERE NOT t.excluded AND t.{src.inst} >= %s AND t.{src.inst} < %s{agent} OFFSET 0)"""  # noqa: S608
    return f"JOIN {rows} t ON t.ticket_id = s.ticket_id", params


def _segment_rows(src: _Source, per_kind: bool, lo: Any, hi: Any) -> tuple[str, list[Any]]:
    """A ticket's segments in the cohort's range as one row per ticket (per kind with
    `per_kind`): shares summed, instant measures taken from the segment holding them."""
    cols = "".join(f", {group_agg_sql(c)} AS {c}" for c in src.cols)
    kind = "s.kind" if per_kind else "MAX(s.kind)"
    join, params = _ticket_rows(src, lo, hi)
    sql = f"""SELECT {kind} AS kind, bool_or(s.last_res_here) AS holds, MAX(s.{src.inst}) AS {src.inst},
               MAX(s.{src.agent}) AS {src.agent}{cols}
        FROM metrics_ticketsegment s {join}
        WHERE s.{src.inst} >= %s AND s.{src.inst} < %s {src.seg_where}
        GROUP BY s.ticket_id{", s.kind" if per_kind else ""}"""  # noqa: S608
    return sql, [*params, lo, hi, *src.params]


def _rows(src: _Source, lo: Any, hi: Any, *, sides: bool) -> tuple[str, list[Any]]:
    """The per-ticket rows of one range: unfiltered, the whole tickets (kind ALL_KINDS) and,
    for the support / service sides (`sides`), each ticket's segments per kind; filtered to
    a queue or kind, the segments in it, one row per ticket."""
    if not src.segmented:
        return _whole_rows(src, "m.kind"), [lo, hi, *src.params]
    if src.by_segment:
        return _segment_rows(src, False, lo, hi)
    if not sides:
        return _whole_rows(src), [ALL_KINDS, lo, hi, *src.params]
    seg_sql, seg_params = _segment_rows(src, True, lo, hi)
    return f"{_whole_rows(src)} UNION ALL {seg_sql}", [ALL_KINDS, lo, hi, *src.params, *seg_params]


def _side_filtered(agg: str, side: str, src: _Source) -> str:
    """An aggregate restricted to one side's rows (FILTER); "all" reads the whole-ticket rows
    unless every row is already the filtered view's."""
    if side not in KINDS:
        if src.by_segment or not src.segmented:
            return agg
        side = ALL_KINDS
    if " FILTER (WHERE " in agg:
        return agg.replace(" FILTER (WHERE ", f" FILTER (WHERE c.kind = '{side}' AND ")
    return f"{agg} FILTER (WHERE c.kind = '{side}')"


def _period_branch(aggs: list[tuple[str, str]], src: _Source, period: str, rows: str) -> str:
    """Part 0 for one period: one plain aggregate pass over its rows, each aggregate
    FILTERed to its side (no sort of whole rows; each percentile sorts only its cell's values),
    unpivoted to one row per side."""
    names = ", ".join(["part", "g", "cur", "kind", "bk", "ag", "hb", *(f'"{alias}"' for alias, _ in aggs)])
    cell_aggs = [f'{_side_filtered(agg, side, src)} AS "{side}__{alias}"' for side in SIDES for alias, agg in aggs]
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
            FROM (SELECT m.kind {src.inner_cols} FROM ({rows}) m) c
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
    rows, rows_params = _rows(src, scope.period.start, scope.period.end, sides=False)
    sql = f"""
        UNION ALL
        SELECT 1, GROUPING({", ".join(sets)}), NULL::boolean, NULL::varchar, {cols}, {select}
        FROM (
            SELECT m.kind {src.inner_cols}{extra_cols}
            FROM ({rows}) m
        ) c GROUP BY GROUPING SETS ({", ".join(f"({s})" for s in sets)})
    """  # noqa: S608
    return sql, [*params, *rows_params]


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
        rows, rows_params = _rows(src, lo, hi, sides=True)
        branches.append(_period_branch(aggs, src, period, rows))
        params += rows_params
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
