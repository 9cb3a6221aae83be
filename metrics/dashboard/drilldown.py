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
from metrics.dashboard.kpis import COHORTS, HIST_EDGES, KINDS, KPI_BY_KEY, KPIS, Kpi, cohort_table
from metrics.dashboard.period import Scope, _midnight
from metrics.dashboard.py_cohorts import _COHORT_Q, cohort_model

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


def _limit_sql(limit: int | None) -> str:
    return f" LIMIT {int(limit)}" if limit else ""


def _sla_drill_sql(
    scope: Scope, drill: Drill, start: datetime, end: datetime, limit: int | None
) -> tuple[str, list[Any]]:
    side_sql, side_params = _side_sql(drill)
    parts, params = [], []
    for target, cohort in _SLA_TARGETS:
        spec = COHORTS[cohort]
        where, fparams = _filters_sql(scope, spec["agent"])
        extra = ""
        if drill.agent is not None:
            extra = f" AND COALESCE(m.{spec['agent']}, 0) = %s"
            fparams = [*fparams, drill.agent]
        parts.append(
            f"""SELECT m.ticket_id, m.kind, m.queue_id, m.{spec["agent"]} AS agent_id, '{target}' AS target,
                m.sla_{target}_outcome AS outcome, m.{spec["instant"]} AS instant,
                m.sla_{target}_elapsed_s AS elapsed_s, m.sla_{target}_target_s AS target_s
                FROM metrics_ticketmetrics m
                WHERE NOT m.excluded AND ({spec["where"]}) AND m.{spec["instant"]} >= %s
                  AND m.{spec["instant"]} < %s {where}{side_sql}{extra}"""  # noqa: S608
        )
        params += [start, end, *fparams, *side_params]
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
    where, params = _filters_sql(scope, spec["agent"])
    side_sql, side_params = _side_sql(drill)
    if spec["where"]:
        cond += f" AND ({spec['where']})"
    if drill.agent is not None:
        cond += f" AND COALESCE(m.{spec['agent']}, 0) = %s"
        params.append(drill.agent)
    sql = f"""
        SELECT m.ticket_id, m.kind, m.queue_id, m.{spec["agent"]} AS agent_id, m.{spec["instant"]} AS instant, {select}
        FROM {cohort_table(kpi.cohort)} m
        WHERE NOT m.excluded AND m.{spec["instant"]} >= %s AND m.{spec["instant"]} < %s {where}{side_sql}{cond}
        ORDER BY m.ticket_id, m.{spec["instant"]}{_limit_sql(limit)}
    """  # noqa: S608
    return sql, [start, end, *params, *side_params]


# --- the same rows without PostgreSQL (embedded SQLite default) -------------


def _fetch_py(
    scope: Scope, drill: Drill, window: tuple[datetime, datetime], cohort: str, extra: dict[str, Any], columns: list
) -> list[dict]:
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
