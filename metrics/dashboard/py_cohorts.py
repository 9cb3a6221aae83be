"""The same cohort aggregates without PostgreSQL (embedded SQLite default), in Python."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from metrics.dashboard.db import CohortResult, _duration_column, _hist_bucket, _orm_filters, _side_of
from metrics.dashboard.kpis import COHORTS, DURATION_KPIS, HIST_KPIS, cohort_table
from metrics.dashboard.period import Scope
from metrics.dashboard.sql_cohorts import _cohort_sets, _cohort_value_columns

# --- the same numbers without PostgreSQL (embedded SQLite default) -----------
# Plain ORM reads of the per-ticket rows, aggregated in Python with the same
# semantics (percentile_cont = linear interpolation, n with every duration,
# NULL where n = 0, ratios as sums). The embedded default holds demo-sized data.

_COHORT_Q: dict[str, dict[str, Any]] = {
    "first_res": {"first_resolution_cal_s__isnull": False},
    "sla_fr": {"sla_first_reply_outcome__in": ["achieved", "breached"]},
    "sla_res": {"sla_resolution_outcome__in": ["achieved", "breached"]},
}


def _cohort_rows_py(cohort: str, scope: Scope, start: datetime, end: datetime, columns: list[str]) -> list[dict]:
    spec = COHORTS[cohort]
    inst = spec["instant"]
    qs = cohort_model(cohort).objects.filter(
        excluded=False,
        **{f"{inst}__gte": start, f"{inst}__lt": end},
        **_COHORT_Q.get(cohort, {}),
        **_orm_filters(scope, spec["agent"]),
    )
    wanted = sorted({"ticket_id", "kind", "queue_id", inst, spec["agent"], *columns})
    return list(qs.values(*wanted))


def cohort_model(cohort: str) -> Any:
    """The model whose rows a cohort counts: TicketMetrics, or TicketNextReply (one row per reply)."""
    from metrics.models import TicketMetrics, TicketNextReply

    return TicketNextReply if cohort_table(cohort) == TicketNextReply._meta.db_table else TicketMetrics


def _aggregate_py(rows: list[dict[str, Any]], cohort: str, clock: str, *, pct: bool = True) -> dict[str, Any]:
    """The aggregates of `_cohort_aggregates` over per-ticket rows (percentiles only if `pct`)."""
    from helpdesk.lib.sqlite import percentile_cont

    def count(pred: Any) -> int:
        return sum(1 for r in rows if pred(r))

    out: dict[str, Any] = {"n_rows": len(rows)}
    for kpi, spec in DURATION_KPIS.items():
        if spec["cohort"] != cohort:
            continue
        col = _duration_column(kpi, clock)
        values = [float(r[col]) for r in rows if r[col] is not None]
        out[f"{kpi}__n"] = len(values)
        out[f"{kpi}__sum"] = sum(values) if values else None
        out[f"{kpi}__pct"] = [percentile_cont(values, 0.5), percentile_cont(values, 0.9)] if values and pct else None
    if cohort == "first_res":
        out.update(resolved_first=len(rows), reopened=count(lambda r: (r["reopens"] or 0) > 0))
    elif cohort == "last_res":
        out.update(
            resolved=len(rows),
            fcr=count(lambda r: r["fcr"]),
            fcr_eligible=count(lambda r: r["fcr_eligible"]),
            zero_touch=count(lambda r: r["zero_touch"]),
        )
    elif cohort == "csat":
        scores = [r["csat_score"] for r in rows if r["csat_score"] is not None]
        out.update(
            responses=len(rows),
            satisfied=count(lambda r: r["csat_satisfied"]),
            score_n=len(scores),
            score_sum=sum(scores) if scores else None,
        )
    elif cohort == "offered":
        out.update(offered=len(rows), responded=count(lambda r: r["csat_at"] is not None))
    elif cohort == "created":
        out.update(
            created=len(rows),
            escalated=count(lambda r: r["escalations"] > 0),
            escalated_to_service=count(lambda r: r["escalations_to_service"] > 0),
            escalated_to_support=count(lambda r: r["escalations_to_support"] > 0),
        )
    elif cohort == "first_esc":
        out.update(escalated_first=len(rows), ping_pong=count(lambda r: r["escalations"] >= 2))
    elif cohort in ("sla_fr", "sla_res"):
        col = "sla_first_reply_outcome" if cohort == "sla_fr" else "sla_resolution_outcome"
        out.update(
            with_outcome=len(rows),
            achieved=count(lambda r: r[col] == "achieved"),
            breached=count(lambda r: r[col] == "breached"),
        )
    return out


def _local_bucket(instant: datetime, scope: Scope) -> datetime:
    day = instant.astimezone(scope.period.zone).date()
    if scope.bucket == "week":
        day -= timedelta(days=day.weekday())
    return datetime.combine(day, time(0))


def _cohort_result_py(cohort: str, scope: Scope) -> CohortResult:
    spec = COHORTS[cohort]
    inst, agent_col = spec["instant"], spec["agent"]
    rows = _cohort_rows_py(
        cohort, scope, scope.period.previous.start, scope.period.end, _cohort_value_columns(cohort, scope.clock)
    )
    start = scope.period.start
    out = CohortResult()
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        period = "cur" if r[inst] >= start else "prev"
        groups.setdefault((_side_of(r), period), []).append(r)
        groups.setdefault(("all", period), []).append(r)
    out.cells = {key: _aggregate_py(g, cohort, scope.clock) for key, g in groups.items()}
    current = [r for r in rows if r[inst] >= start]
    sets = _cohort_sets(cohort, scope)
    keep_pct = cohort == "frt"  # as in `_cohort_sql`: percentiles per bucket / agent only where shown
    if "bk" in sets:
        by: dict[Any, list[dict]] = {}
        for r in current:
            by.setdefault(_local_bucket(r[inst], scope), []).append(r)
        out.buckets = {k: _aggregate_py(g, cohort, scope.clock, pct=keep_pct) for k, g in by.items()}
    if "ag" in sets:
        by = {}
        for r in current:
            by.setdefault(r[agent_col] or 0, []).append(r)
        out.agents = {k: _aggregate_py(g, cohort, scope.clock, pct=keep_pct) for k, g in by.items()}
    if "hb" in sets:
        kpi = next(k for k in HIST_KPIS if DURATION_KPIS[k]["cohort"] == cohort)
        col = _duration_column(kpi, scope.clock)
        for r in current:
            if r[col] is not None:
                b = _hist_bucket(float(r[col]))
                out.hist[b] = out.hist.get(b, 0) + 1
    return out
