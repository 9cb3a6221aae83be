"""Drill-downs: the tickets behind one number, with their per-ticket values."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone

from metrics.dashboard.backlog import _backlog_tickets, _snapshot_instants
from metrics.dashboard.db import _duration_column, _filters_sql, _hist_bucket, _orm_filters, _run, _use_sql
from metrics.dashboard.kpis import COHORTS, DURATION_KPIS, HIST_EDGES, KINDS
from metrics.dashboard.period import Scope, _midnight
from metrics.dashboard.py_cohorts import _COHORT_Q

# --- drill-down -------------------------------------------------------------

DRILL_METRICS = (
    *DURATION_KPIS,
    "csat",
    "csat_response",
    "fcr",
    "reopen",
    "sla",
    "created",
    "resolved",
    "backlog",
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
    if metric in DURATION_KPIS:
        return ["ticket_id", "kind", "queue_id", "agent_id", "instant", "value_s"]
    if metric == "backlog":
        return ["ticket_id", "kind", "queue_id", "agent_id", "status", "age_s"]
    if metric == "sla":
        return ["ticket_id", "kind", "queue_id", "agent_id", "target", "outcome", "instant", "elapsed_s", "target_s"]
    return ["ticket_id", "kind", "queue_id", "agent_id", "instant", "counted", "value"]


def drill_rows(*, scope: Scope, drill: Drill, limit: int | None = None, now: datetime | None = None) -> Iterator[dict]:
    """The tickets behind one number, with their per-ticket values (ordered by ticket)."""
    metric = drill.metric
    if metric not in DRILL_METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    start, end = _drill_window(scope, drill)
    lim = f" LIMIT {int(limit)}" if limit else ""
    side_sql, side_params = "", []
    if drill.side in KINDS:
        side_sql, side_params = " AND m.kind = %s", [drill.side]

    if metric == "backlog":
        now = now or timezone.now()
        snaps = _snapshot_instants(scope, now)
        instant = snaps[-1][1] if snaps else min(end, now)
        if drill.bucket is not None:
            instant = next((at for d, at in snaps if d >= drill.bucket), instant)
        rows = [r for r in _backlog_tickets(scope, instant) if drill.side not in KINDS or r["kind"] == drill.side]
        rows.sort(key=lambda r: r["ticket_id"])
        yield from rows[: int(limit)] if limit else rows
        return

    if not _use_sql():
        yield from _drill_rows_py(scope=scope, drill=drill, start=start, end=end, limit=limit)
        return

    if metric == "sla":
        parts, params = [], []
        for target, cohort in (("first_reply", "sla_fr"), ("resolution", "sla_res")):
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
        sql = " UNION ALL ".join(parts) + f" ORDER BY ticket_id, target{lim}"
        yield from _run(sql, params)
        return

    if metric in DURATION_KPIS:
        cohort = DURATION_KPIS[metric]["cohort"]
        col = _duration_column(metric, scope.clock)
        select = f"m.{col} AS value_s"
        cond = f" AND m.{col} IS NOT NULL"
        if drill.hist is not None:
            edges = ", ".join(str(e) for e in HIST_EDGES)
            cond += f" AND width_bucket(m.{col}, ARRAY[{edges}]::float8[]) = {int(drill.hist)}"
    else:
        cohort, select, cond = {
            "csat": ("csat", "m.csat_satisfied AS counted, m.csat_value AS value", ""),
            "csat_response": ("offered", "(m.csat_at IS NOT NULL) AS counted, m.csat_value AS value", ""),
            "fcr": ("last_res", "m.fcr AS counted, m.public_agent_replies AS value", " AND m.fcr_eligible"),
            "reopen": ("first_res", "(m.reopens > 0) AS counted, m.reopens AS value", ""),
            "created": ("created", "TRUE AS counted, m.status AS value", ""),
            "resolved": ("last_res", "TRUE AS counted, m.status AS value", ""),
        }[metric]
    spec = COHORTS[cohort]
    where, params = _filters_sql(scope, spec["agent"])
    if spec["where"]:
        cond += f" AND ({spec['where']})"
    if drill.agent is not None:
        cond += f" AND COALESCE(m.{spec['agent']}, 0) = %s"
        params.append(drill.agent)
    sql = f"""
        SELECT m.ticket_id, m.kind, m.queue_id, m.{spec["agent"]} AS agent_id, m.{spec["instant"]} AS instant, {select}
        FROM metrics_ticketmetrics m
        WHERE NOT m.excluded AND m.{spec["instant"]} >= %s AND m.{spec["instant"]} < %s {where}{side_sql}{cond}
        ORDER BY m.ticket_id{lim}
    """  # noqa: S608
    yield from _run(sql, [start, end, *params, *side_params])


# Per-ticket drill values without PostgreSQL: metric -> (cohort, extra ORM filter, row -> values).
_DRILL_PY: dict[str, tuple[str, dict[str, Any], Any]] = {
    "csat": ("csat", {}, lambda r: {"counted": r["csat_satisfied"], "value": r["csat_value"]}),
    "csat_response": ("offered", {}, lambda r: {"counted": r["csat_at"] is not None, "value": r["csat_value"]}),
    "fcr": ("last_res", {"fcr_eligible": True}, lambda r: {"counted": r["fcr"], "value": r["public_agent_replies"]}),
    "reopen": ("first_res", {}, lambda r: {"counted": (r["reopens"] or 0) > 0, "value": r["reopens"]}),
    "created": ("created", {}, lambda r: {"counted": True, "value": r["status"]}),
    "resolved": ("last_res", {}, lambda r: {"counted": True, "value": r["status"]}),
}
_DRILL_PY_COLUMNS = (
    "csat_satisfied",
    "csat_value",
    "csat_at",
    "fcr",
    "fcr_eligible",
    "public_agent_replies",
    "reopens",
    "status",
)


def _drill_rows_py(*, scope: Scope, drill: Drill, start: datetime, end: datetime, limit: int | None) -> list[dict]:
    """`drill_rows` with ORM reads and Python filters (embedded SQLite default)."""
    from metrics.models import TicketMetrics

    metric = drill.metric

    def fetch(cohort: str, extra: dict[str, Any], columns: list[str]) -> list[dict]:
        spec = COHORTS[cohort]
        qs = TicketMetrics.objects.filter(
            excluded=False,
            **{f"{spec['instant']}__gte": start, f"{spec['instant']}__lt": end},
            **{**_COHORT_Q.get(cohort, {}), **_orm_filters(scope, spec["agent"]), **extra},
        )
        if drill.side in KINDS:
            qs = qs.filter(kind=drill.side)
        names = dict.fromkeys(["ticket_id", "kind", "queue_id", spec["instant"], spec["agent"], *columns])
        rows = list(qs.values(*names))
        if drill.agent is not None:
            rows = [r for r in rows if (r[spec["agent"]] or 0) == drill.agent]
        return rows

    def base(r: dict, cohort: str) -> dict[str, Any]:
        spec = COHORTS[cohort]
        return {
            "ticket_id": r["ticket_id"],
            "kind": r["kind"],
            "queue_id": r["queue_id"],
            "agent_id": r[spec["agent"]],
            "instant": r[spec["instant"]],
        }

    out: list[dict[str, Any]] = []
    if metric == "sla":
        for target, cohort in (("first_reply", "sla_fr"), ("resolution", "sla_res")):
            cols = [f"sla_{target}_outcome", f"sla_{target}_elapsed_s", f"sla_{target}_target_s"]
            for r in fetch(cohort, {}, cols):
                row = base(r, cohort)
                out.append(
                    {
                        **{k: row[k] for k in ("ticket_id", "kind", "queue_id", "agent_id")},
                        "target": target,
                        "outcome": r[cols[0]],
                        "instant": row["instant"],
                        "elapsed_s": r[cols[1]],
                        "target_s": r[cols[2]],
                    }
                )
        out.sort(key=lambda r: (r["ticket_id"], r["target"]))
    elif metric in DURATION_KPIS:
        cohort = DURATION_KPIS[metric]["cohort"]
        col = _duration_column(metric, scope.clock)
        for r in fetch(cohort, {f"{col}__isnull": False}, [col]):
            if drill.hist is not None and _hist_bucket(float(r[col])) != drill.hist:
                continue
            out.append({**base(r, cohort), "value_s": r[col]})
        out.sort(key=lambda r: r["ticket_id"])
    else:
        cohort, extra, values = _DRILL_PY[metric]
        out = [{**base(r, cohort), **values(r)} for r in fetch(cohort, extra, list(_DRILL_PY_COLUMNS))]
        out.sort(key=lambda r: r["ticket_id"])
    return out[: int(limit)] if limit else out
