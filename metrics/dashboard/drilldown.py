"""Drill-downs: the tickets behind one number, with their per-ticket values."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from metrics.dashboard.awaiting import AWAITING_DRILL_COLUMNS, awaiting_drill_rows
from metrics.dashboard.backlog import _backlog_tickets, _snapshot_instants
from metrics.dashboard.db import _duration_column, _filters_sql, _hist_bucket, _orm_filters, _run, _use_sql
from metrics.dashboard.kpis import (
    COHORTS,
    HIST_EDGES,
    KINDS,
    KPI_BY_KEY,
    KPIS,
    SEGMENT_COHORTS,
    Kpi,
    cohort_table,
)
from metrics.dashboard.period import Scope, _midnight
from metrics.dashboard.py_cohorts import _COHORT_Q, _segment_rows_py, cohort_model
from metrics.dashboard.sql_cohorts import by_segment
from metrics.segments import LAST_RES_TICKET_COLUMNS, TICKET_COLUMNS, group_agg_sql, ticket_join

DRILL_METRICS = tuple(k.key for k in KPIS if k.drill)
_BASE = ["ticket_id", "kind", "queue_id", "agent_id"]
_SLA_TARGETS = (("first_reply", "sla_fr"), ("resolution", "sla_res"))
# Per-ticket columns the portable path reads for ratio / count drill values.
_DRILL_PY_COLUMNS = (
    "csat_satisfied",
    "csat_value",
    "csat_at",
    "fcr",
    "fcr_eligible",
    "public_agent_replies",
    "reopens",
    "status",
    "escalations",
    "escalations_to_service",
    "escalations_to_support",
)


@dataclass(frozen=True)
class Drill:
    metric: str
    side: str = "all"  # support | service | all
    period: str = "cur"  # cur | prev
    bucket: date | None = None  # one trend bucket (local start date)
    agent: int | None = None  # one row of the agent table
    hist: int | None = None  # one histogram bucket index


def _drill_window(scope: Scope, drill: Drill) -> tuple[datetime, datetime]:
    period = scope.period if drill.period == "cur" else scope.period.previous
    start, end = period.start, period.end
    if drill.bucket is not None:
        days = 7 if scope.bucket == "week" else 1
        b_start = _midnight(drill.bucket, scope.period.zone)
        b_end = _midnight(drill.bucket + timedelta(days=days), scope.period.zone)
        start, end = max(start, b_start), min(end, b_end)
    return start, end


def drill_columns(metric: str) -> list[str]:
    kpi = KPI_BY_KEY[metric]
    if kpi.unit == "duration":
        return [*_BASE, "instant", "value_s"]
    if kpi.unit == "backlog":
        return [*_BASE, "status", "age_s"]
    if kpi.unit == "awaiting":
        return list(AWAITING_DRILL_COLUMNS)
    if kpi.unit == "survey":
        from metrics.dashboard.surveys import SURVEY_DRILL_COLUMNS

        return list(SURVEY_DRILL_COLUMNS)
    if metric == "sla":
        return [*_BASE, "target", "outcome", "instant", "elapsed_s", "target_s"]
    return [*_BASE, "instant", "counted", "value"]


def drill_rows(*, scope: Scope, drill: Drill, limit: int | None = None, now: datetime | None = None) -> Iterator[dict]:
    """The tickets behind one number, with their per-ticket values (ordered by ticket)."""
    kpi = KPI_BY_KEY.get(drill.metric)
    if kpi is None or not kpi.drill:
        raise ValueError(f"unknown metric {drill.metric!r}")
    start, end = _drill_window(scope, drill)
    if kpi.unit == "backlog":
        rows = _backlog_drill(scope, drill, end, now or timezone.now())
    elif kpi.unit == "awaiting":
        rows = awaiting_drill_rows(scope, drill.side, now or timezone.now())
    elif kpi.unit == "survey":
        from metrics.dashboard.surveys import survey_drill_rows

        rows = survey_drill_rows(kpi, scope=scope, side=drill.side, start=start, end=end)
    elif not _use_sql():
        rows = _drill_rows_py(scope=scope, drill=drill, start=start, end=end)
    elif kpi.key == "sla":
        yield from _run(*_sla_drill_sql(scope, drill, start, end, limit))
        return
    else:
        yield from _run(*_cohort_drill_sql(kpi, scope, drill, start, end, limit))
        return
    yield from rows[: int(limit)] if limit else rows


def _backlog_drill(scope: Scope, drill: Drill, end: datetime, now: datetime) -> list[dict]:
    snaps = _snapshot_instants(scope, now)
    instant = snaps[-1][1] if snaps else min(end, now)
    if drill.bucket is not None:
        instant = next((at for d, at in snaps if d >= drill.bucket), instant)
    rows = [r for r in _backlog_tickets(scope, instant) if drill.side not in KINDS or r["kind"] == drill.side]
    rows.sort(key=lambda r: r["ticket_id"])
    return rows


def _side_sql(drill: Drill) -> tuple[str, list[Any]]:
    return (" AND m.kind = %s", [drill.side]) if drill.side in KINDS else ("", [])


def _segmented(scope: Scope, drill: Drill, cohort: str) -> bool:
    """A queue or kind filter, or one side, of a cohort attributed per segment: the tickets'
    segments there (docs/metrics.md#18-queue-and-kind-attribution-across-escalations)."""
    return cohort in SEGMENT_COHORTS and (by_segment(scope) or drill.side in KINDS)


# Values read from the segments (shares summed, instant measures from their segment) and
# from the ticket (status, replies, SLA clocks) in a segmented drill-down.
_SEG_VALUES = ("csat_satisfied", "csat_value", "csat_at", "fcr", "fcr_eligible", "reopens")
_TICKET_VALUES = ("status", "public_agent_replies")


def _segment_source(
    scope: Scope,
    drill: Drill,
    cohort: str,
    columns: tuple[str, ...],
    window: tuple[datetime, datetime],
    ticket_columns: tuple[str, ...] = (),
) -> tuple[str, list[Any]]:
    """`metrics_ticketmetrics m` replaced by one row per ticket of its segments in the filtered
    queue / kind (and side) whose cohort instant is in [start, end)."""
    spec = COHORTS[cohort]
    inst, agent = spec["instant"], spec["agent"]
    where, params = _filters_sql(scope, agent, alias="s")
    if spec["where"]:
        where += f" AND ({spec['where']})"
    side_sql, side_params = _side_sql(drill)
    seg_cols = "".join(f", {group_agg_sql(c)} AS {c}" for c in dict.fromkeys((*columns, *_SEG_VALUES)))
    ticket_cols = "".join(f", t.{c}" for c in (*_TICKET_VALUES, *ticket_columns))
    sql = f"""(SELECT g.*{ticket_cols}, FALSE AS excluded FROM (
            SELECT s.ticket_id, MAX(s.kind) AS kind, MAX(s.queue_id) AS queue_id, MAX(s.{agent}) AS {agent},
                   MAX(s.{inst}) AS {inst}, bool_or(s.last_res_here) AS holds{seg_cols}
            FROM metrics_ticketsegment s {ticket_join((*columns, *_SEG_VALUES))}
            WHERE s.{inst} >= %s AND s.{inst} < %s {where}{side_sql.replace("m.", "s.")}
            GROUP BY s.ticket_id
        ) g JOIN metrics_ticketmetrics t ON t.ticket_id = g.ticket_id)"""  # noqa: S608
    return sql, [*window, *params, *side_params]


def _limit_sql(limit: int | None) -> str:
    return f" LIMIT {int(limit)}" if limit else ""


def _sla_drill_sql(
    scope: Scope, drill: Drill, start: datetime, end: datetime, limit: int | None
) -> tuple[str, list[Any]]:
    parts, params = [], []
    for target, cohort in _SLA_TARGETS:
        spec = COHORTS[cohort]
        side_sql, side_params = _side_sql(drill)
        where, fparams = _filters_sql(scope, spec["agent"])
        source = "metrics_ticketmetrics"
        pre: list[Any] = []
        if _segmented(scope, drill, cohort):
            clock = (f"sla_{target}_elapsed_s", f"sla_{target}_target_s")
            source, pre = _segment_source(scope, drill, cohort, (f"sla_{target}_outcome",), (start, end), clock)
            where, fparams, side_sql, side_params = "", [], "", []
        extra = ""
        if drill.agent is not None:
            extra = f" AND COALESCE(m.{spec['agent']}, 0) = %s"
            side_params = [*side_params, drill.agent]
        parts.append(
            f"""SELECT m.ticket_id, m.kind, m.queue_id, m.{spec["agent"]} AS agent_id, '{target}' AS target,
                m.sla_{target}_outcome AS outcome, m.{spec["instant"]} AS instant,
                m.sla_{target}_elapsed_s AS elapsed_s, m.sla_{target}_target_s AS target_s
                FROM {source} m
                WHERE NOT m.excluded AND ({spec["where"]}) AND m.{spec["instant"]} >= %s
                  AND m.{spec["instant"]} < %s {where}{side_sql}{extra}"""  # noqa: S608
        )
        params += [*pre, start, end, *fparams, *side_params]
    return " UNION ALL ".join(parts) + f" ORDER BY ticket_id, target{_limit_sql(limit)}", params


def _kpi_select(kpi: Kpi, scope: Scope, drill: Drill) -> tuple[str, str]:
    """(select list, extra condition) of one KPI's per-ticket values."""
    if kpi.unit != "duration":
        return kpi.drill_sql
    col = _duration_column(kpi.key, scope.clock)
    cond = f" AND m.{col} IS NOT NULL"
    if drill.hist is not None:
        edges = ", ".join(str(e) for e in HIST_EDGES)
        cond += f" AND width_bucket(m.{col}, ARRAY[{edges}]::float8[]) = {int(drill.hist)}"
    return f"m.{col} AS value_s", cond


def _cohort_drill_sql(
    kpi: Kpi, scope: Scope, drill: Drill, start: datetime, end: datetime, limit: int | None
) -> tuple[str, list[Any]]:
    select, cond = _kpi_select(kpi, scope, drill)
    spec = COHORTS[kpi.cohort]
    if _segmented(scope, drill, kpi.cohort):
        columns: tuple[str, ...] = ()
        if kpi.unit == "duration":
            columns = (_duration_column(kpi.key, scope.clock),)
        elif kpi.cohort == "created":
            columns = tuple(sorted(TICKET_COLUMNS))  # the escalation counts (docs/metrics.md §1.8)
        source, pre = _segment_source(scope, drill, kpi.cohort, columns, (start, end))
        where, side_sql, post = "", "", []
        if kpi.cohort == "last_res" and kpi.unit != "duration":
            cond += " AND m.holds"  # resolved here, not only a share of the time
    else:
        source, pre = cohort_table(kpi.cohort), []
        where, fparams = _filters_sql(scope, spec["agent"])
        side_sql, side_params = _side_sql(drill)
        if spec["where"]:
            cond += f" AND ({spec['where']})"
        post = [*fparams, *side_params]
    if drill.agent is not None:
        cond += f" AND COALESCE(m.{spec['agent']}, 0) = %s"
        post = [*post, drill.agent]
    sql = f"""
        SELECT m.ticket_id, m.kind, m.queue_id, m.{spec["agent"]} AS agent_id, m.{spec["instant"]} AS instant, {select}
        FROM {source} m
        WHERE NOT m.excluded AND m.{spec["instant"]} >= %s AND m.{spec["instant"]} < %s {where}{side_sql}{cond}
        ORDER BY m.ticket_id, m.{spec["instant"]}{_limit_sql(limit)}
    """  # noqa: S608
    return sql, [*pre, start, end, *post]


# --- the same rows without PostgreSQL (embedded SQLite default) -------------


def _fetch_py(
    scope: Scope, drill: Drill, window: tuple[datetime, datetime], cohort: str, extra: dict[str, Any], columns: list
) -> list[dict]:
    if _segmented(scope, drill, cohort):
        return _fetch_segments_py(scope, drill, window, cohort, extra, columns)
    spec = COHORTS[cohort]
    qs = cohort_model(cohort).objects.filter(
        excluded=False,
        **{f"{spec['instant']}__gte": window[0], f"{spec['instant']}__lt": window[1]},
        **{**_COHORT_Q.get(cohort, {}), **_orm_filters(scope, spec["agent"]), **extra},
    )
    if drill.side in KINDS:
        qs = qs.filter(kind=drill.side)
    names = dict.fromkeys(["ticket_id", "kind", "queue_id", spec["instant"], spec["agent"], *columns])
    rows = list(qs.values(*names))
    if drill.agent is not None:
        rows = [r for r in rows if (r[spec["agent"]] or 0) == drill.agent]
    return rows


def _fetch_segments_py(
    scope: Scope, drill: Drill, window: tuple[datetime, datetime], cohort: str, extra: dict[str, Any], columns: list
) -> list[dict]:
    """`_fetch_py` from the segments in the filtered queue / kind (and side): one row per ticket."""
    from metrics.models import TicketMetrics

    spec = COHORTS[cohort]
    ticket_only = [c for c in columns if c in _TICKET_ONLY]
    wanted = sorted({"ticket_id", "kind", "queue_id", spec["instant"], spec["agent"], *columns} - set(ticket_only))
    side = {"kind": drill.side} if drill.side in KINDS else {}
    seg_extra, later = _split_ticket_level(extra)
    rows = _segment_rows_py(cohort, scope, *window, wanted, per_kind=False, extra={**seg_extra, **side})
    rows = [r for r in rows if all(r[col] is not None for col in later)]
    if cohort == "last_res" and "fcr" in columns:  # a ratio / count drill-down (durations read one column)
        rows = [r for r in rows if r["holds"]]  # resolved here, not only a share of the time
    ids = [r["ticket_id"] for r in rows]
    ticket_rows = TicketMetrics.objects.filter(ticket_id__in=ids).values("ticket_id", *ticket_only)
    more = {r["ticket_id"]: r for r in ticket_rows}
    rows = [{**r, **more.get(r["ticket_id"], {})} for r in rows]
    if drill.agent is not None:
        rows = [r for r in rows if (r[spec["agent"]] or 0) == drill.agent]
    return rows


def _split_ticket_level(extra: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`extra` without its `<col>__isnull: False` conditions on ticket-level columns (the segments
    do not store them, metrics.segments.TICKET_COLUMNS), and those columns (filtered afterwards)."""
    ticket_level = TICKET_COLUMNS | LAST_RES_TICKET_COLUMNS
    later = [k for k in extra if k.split("__")[0] in ticket_level]
    return {k: v for k, v in extra.items() if k not in later}, [k.split("__")[0] for k in later]


_TICKET_ONLY = frozenset(
    {"status", "public_agent_replies", *(f"sla_{t}_{f}" for t, _ in _SLA_TARGETS for f in ("elapsed_s", "target_s"))}
)


def _base_py(r: dict, cohort: str) -> dict[str, Any]:
    spec = COHORTS[cohort]
    return {
        "ticket_id": r["ticket_id"],
        "kind": r["kind"],
        "queue_id": r["queue_id"],
        "agent_id": r[spec["agent"]],
        "instant": r[spec["instant"]],
    }


def _sla_rows_py(scope: Scope, drill: Drill, window: tuple[datetime, datetime]) -> list[dict]:
    out: list[dict[str, Any]] = []
    for target, cohort in _SLA_TARGETS:
        cols = [f"sla_{target}_outcome", f"sla_{target}_elapsed_s", f"sla_{target}_target_s"]
        for r in _fetch_py(scope, drill, window, cohort, {}, cols):
            row = _base_py(r, cohort)
            out.append(
                {
                    **{k: row[k] for k in _BASE},
                    "target": target,
                    "outcome": r[cols[0]],
                    "instant": row["instant"],
                    "elapsed_s": r[cols[1]],
                    "target_s": r[cols[2]],
                }
            )
    out.sort(key=lambda r: (r["ticket_id"], r["target"]))
    return out


def _duration_rows_py(kpi: Kpi, scope: Scope, drill: Drill, window: tuple[datetime, datetime]) -> list[dict]:
    col = _duration_column(kpi.key, scope.clock)
    out = []
    for r in _fetch_py(scope, drill, window, kpi.cohort, {f"{col}__isnull": False}, [col]):
        if drill.hist is not None and _hist_bucket(float(r[col])) != drill.hist:
            continue
        out.append({**_base_py(r, kpi.cohort), "value_s": r[col]})
    return out


def _drill_rows_py(*, scope: Scope, drill: Drill, start: datetime, end: datetime) -> list[dict]:
    """`drill_rows` with ORM reads and Python filters (embedded SQLite default)."""
    kpi = KPI_BY_KEY[drill.metric]
    window = (start, end)
    if kpi.key == "sla":
        return _sla_rows_py(scope, drill, window)
    if kpi.unit == "duration":
        out = _duration_rows_py(kpi, scope, drill, window)
    else:
        assert kpi.drill_values is not None  # noqa: S101 - every ratio / count KPI with a drill-down has one
        rows = _fetch_py(scope, drill, window, kpi.cohort, kpi.drill_orm, list(_DRILL_PY_COLUMNS))
        out = [{**_base_py(r, kpi.cohort), **kpi.drill_values(r)} for r in rows]
    out.sort(key=lambda r: (r["ticket_id"], r["instant"]))
    return out
