"""Manager KPI dashboard: every number of the page in a bounded number of queries.

One SQL statement per cohort (METRICS.md section 0) computes, with GROUPING SETS,
the current and previous period per kind (support / service) and overall, the
trend per day or week, the per-agent figures and the histogram buckets, with
exact `percentile_cont` over `metrics_ticketmetrics` (METRICS 1.7: n with every
duration, NULL where n = 0, ratios as sums of numerators over denominators).
Backlog comes from the status intervals at local midnights (M13). Every
aggregate has a drill-down listing the tickets behind it with their values.

Access control: `scope_for_user` forces the agent filter for non-managers.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from helpdesk.db_router import data_as_of, read_alias, read_connection

UNSOLVED = ("new", "open", "pending", "on_hold")
KINDS = ("support", "service")
SIDES = ("support", "service", "all")

# Short definitions shown one click away (from METRICS.md section 0 / 2).
DEFINITIONS: dict[str, str] = {
    "frt": "First response time (M1): from creation (or, for agent-created tickets, the customer's first public "
    "message) to the first public reply by a human agent. Internal notes, auto-replies and bots never count. "
    "Cohort: the first-reply instant. Median headlined, with mean, p90 and n.",
    "first_resolution": "First resolution time (M3): from creation to the first resolution (enters solved, or "
    "closed from an unsolved status). Cohort: the first-resolution instant.",
    "full_resolution": "Full resolution time = lead time (M4): from creation to the last resolution; only for "
    "tickets currently resolved. Cohort: the last-resolution instant.",
    "requester_wait": "Requester wait (M5): time in new, open and on-hold up to the last resolution — the customer "
    "waits on us. Cohort: the last-resolution instant.",
    "agent_wait": "Time waiting for customer (M6): time in pending up to the last resolution. Cohort: the "
    "last-resolution instant.",
    "time_in_progress": "Time in progress (M8): cumulative time in open (an agent owns and works the ticket). "
    "Cohort: the last-resolution instant.",
    "handle": "Handle time / AHT (M9): union of each agent's work sessions per ticket, summed over agents, always "
    "calendar seconds; AHT = mean over tickets with sessions. Cohort: the last-resolution instant.",
    "csat": "CSAT % (M10): latest rating per ticket; satisfied = 4–5 (1–5 scale) or good; satisfied / responses. "
    "Response rate = responded / surveys sent in the period. Cohort: the rating instant.",
    "fcr": "FCR % (M11, one-touch): currently resolved tickets with exactly one public agent reply, sent at or "
    "before the first resolution / resolved tickets with at least one reply (zero-touch excluded). Cohort: the "
    "last-resolution instant.",
    "reopen": "Reopen rate (M12): tickets with at least one reopen (solved/closed → unsolved) / tickets with a "
    "first resolution in the period. Recent periods are provisional. Cohort: the first-resolution instant.",
    "backlog": "Backlog (M13): tickets whose status at the snapshot (local midnight) is new, open, pending or "
    "on-hold. Actionable excludes pending. Age = snapshot − creation.",
    "sla": "SLA attainment (M14): achieved / (achieved + breached) over first-reply and resolution targets whose "
    "outcome instant falls in the period (= 100 % − breach rate). Equality with the target is achieved.",
    "created": "Tickets created in the period (spam, deleted and merged-away tickets excluded).",
    "resolved": "Tickets whose last resolution falls in the period (currently resolved).",
}

DURATION_KPIS: dict[str, dict[str, str]] = {
    # kpi -> cohort, column stem (suffix _cal_s/_bus_s unless fixed), label
    "frt": {"cohort": "frt", "stem": "frt", "label": "First response time"},
    "first_resolution": {"cohort": "first_res", "stem": "first_resolution", "label": "First resolution time"},
    "full_resolution": {"cohort": "last_res", "stem": "full_resolution", "label": "Full resolution time"},
    "requester_wait": {"cohort": "last_res", "stem": "requester_wait", "label": "Requester wait"},
    "agent_wait": {"cohort": "last_res", "stem": "agent_wait", "label": "Waiting for customer"},
    "time_in_progress": {"cohort": "last_res", "stem": "time_in_progress", "label": "Time in progress"},
    "handle": {"cohort": "last_res", "stem": "handle_s", "label": "Handle time (AHT)", "fixed": "1"},
}

# cohort -> instant column, attribution column (METRICS 1.7), extra WHERE
COHORTS: dict[str, dict[str, str]] = {
    "frt": {"instant": "first_reply_at", "agent": "first_replier_id", "where": ""},
    "first_res": {
        "instant": "first_resolved_at",
        "agent": "resolver_id",
        "where": "first_resolution_cal_s IS NOT NULL",
    },
    "last_res": {"instant": "last_resolved_at", "agent": "resolver_id", "where": ""},
    "csat": {"instant": "csat_at", "agent": "csat_agent_id", "where": ""},
    "offered": {"instant": "csat_offered_at", "agent": "resolver_id", "where": ""},
    "created": {"instant": "created_at", "agent": "assignee_id", "where": ""},
    "sla_fr": {
        "instant": "sla_first_reply_outcome_at",
        "agent": "assignee_id",
        "where": "sla_first_reply_outcome IN ('achieved', 'breached')",
    },
    "sla_res": {
        "instant": "sla_resolution_outcome_at",
        "agent": "assignee_id",
        "where": "sla_resolution_outcome IN ('achieved', 'breached')",
    },
}

# Ratio KPIs: (cohorts, numerator key, denominator key)
RATIOS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "csat": (("csat",), "satisfied", "responses"),
    "csat_response": (("offered",), "responded", "offered"),
    "fcr": (("last_res",), "fcr", "fcr_eligible"),
    "reopen": (("first_res",), "reopened", "resolved_first"),
    "sla": (("sla_fr", "sla_res"), "achieved", "with_outcome"),
}

# Histogram edges in seconds (width_bucket): <1h, 1–4h, 4–8h, 8–24h, 1–2d, 2–3d, 3–7d, ≥7d
HIST_EDGES = (3600, 4 * 3600, 8 * 3600, 86400, 2 * 86400, 3 * 86400, 7 * 86400)
HIST_LABELS = ("< 1 h", "1–4 h", "4–8 h", "8–24 h", "1–2 d", "2–3 d", "3–7 d", "≥ 7 d")
HIST_KPIS = ("frt", "full_resolution")

FILTER_COLUMNS = ("queue_id", "kind", "priority", "channel")
# Cohorts with a per-day/week trend on the page (the others only need the tiles).
TREND_COHORTS = ("frt", "last_res", "csat", "created")
# Cohorts with a column in the per-agent table.
AGENT_COHORTS = ("frt", "last_res", "csat", "created")


# --- period -----------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Local days [first, last] in the reporting zone, with the preceding period of equal length."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        return _midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        return _midnight(self.last + timedelta(days=1), self.zone)

    @property
    def previous(self) -> Period:
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    # Instants in UTC: subtracting same-ZoneInfo datetimes would use wall time.
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def period_for_preset(preset: str, *, today: date, zone: ZoneInfo) -> Period:
    """last7/last30/last90 end today (local); this_month; last_month."""
    if preset in ("last7", "last30", "last90"):
        n = int(preset[4:])
        return Period(today - timedelta(days=n - 1), today, zone)
    if preset == "this_month":
        return Period(today.replace(day=1), today, zone)
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(last.replace(day=1), last, zone)
    raise ValueError(f"unknown preset {preset!r}")


def local_today(zone: ZoneInfo) -> date:
    return timezone.now().astimezone(zone).date()


# --- scope ------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    period: Period
    clock: str = "cal"  # cal | bus
    bucket: str = "day"  # day | week
    queue_id: int | None = None
    kind: str | None = None
    agent_id: int | None = None
    priority: str | None = None
    channel: str | None = None
    with_agents: bool = True

    def filters(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (*FILTER_COLUMNS, "agent_id") if getattr(self, k) not in (None, "")}


def scope_for_user(*, user: Any, scope: Scope) -> Scope:
    """Managers/admins: as asked. Anyone else with a staff role: their own numbers only."""
    if getattr(user, "is_manager_role", False):
        return scope
    from dataclasses import replace

    return replace(scope, agent_id=user.pk, with_agents=False)


def may_see_team(user: Any) -> bool:
    return bool(getattr(user, "is_manager_role", False))


# --- SQL building -----------------------------------------------------------


def _duration_column(kpi: str, clock: str) -> str:
    spec = DURATION_KPIS[kpi]
    if spec.get("fixed"):
        return spec["stem"]
    return f"{spec['stem']}_{clock}_s"


def _filters_sql(scope: Scope, agent_column: str, alias: str = "m") -> tuple[str, list[Any]]:
    sql, params = "", []
    for key in FILTER_COLUMNS:
        value = getattr(scope, key)
        if value not in (None, ""):
            sql += f" AND {alias}.{key} = %s"
            params.append(value)
    if scope.agent_id not in (None, ""):
        sql += f" AND {alias}.{agent_column} = %s"
        params.append(scope.agent_id)
    return sql, params


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


@dataclass
class CohortResult:
    """Aggregates of one cohort: tiles per (side, period), and current-period rows per
    trend bucket (local start as naive datetime), agent id (0 = none) and histogram bucket."""

    cells: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    buckets: dict[datetime, dict[str, Any]] = field(default_factory=dict)
    agents: dict[int, dict[str, Any]] = field(default_factory=dict)
    hist: dict[int, int] = field(default_factory=dict)


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


# --- the same numbers without PostgreSQL (embedded SQLite default) -----------
# Plain ORM reads of the per-ticket rows, aggregated in Python with the same
# semantics (percentile_cont = linear interpolation, n with every duration,
# NULL where n = 0, ratios as sums). The embedded default holds demo-sized data.

_COHORT_Q: dict[str, dict[str, Any]] = {
    "first_res": {"first_resolution_cal_s__isnull": False},
    "sla_fr": {"sla_first_reply_outcome__in": ["achieved", "breached"]},
    "sla_res": {"sla_resolution_outcome__in": ["achieved", "breached"]},
}


def _orm_filters(scope: Scope, agent_column: str) -> dict[str, Any]:
    out = {key: getattr(scope, key) for key in FILTER_COLUMNS if getattr(scope, key) not in (None, "")}
    if scope.agent_id not in (None, ""):
        out[agent_column] = scope.agent_id
    return out


def _cohort_rows_py(cohort: str, scope: Scope, start: datetime, end: datetime, columns: list[str]) -> list[dict]:
    from metrics.models import TicketMetrics

    spec = COHORTS[cohort]
    inst = spec["instant"]
    qs = TicketMetrics.objects.filter(
        excluded=False,
        **{f"{inst}__gte": start, f"{inst}__lt": end},
        **_COHORT_Q.get(cohort, {}),
        **_orm_filters(scope, spec["agent"]),
    )
    wanted = sorted({"ticket_id", "kind", "queue_id", inst, spec["agent"], *columns})
    return list(qs.values(*wanted))


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
        out.update(created=len(rows))
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


def _hist_bucket(value: float) -> int:
    """width_bucket(value, HIST_EDGES): the number of edges <= value."""
    return bisect_right(HIST_EDGES, value)


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


def _cohort_result(cohort: str, scope: Scope) -> CohortResult:
    if _use_sql():
        return _cohort_result_sql(cohort, scope)
    return _cohort_result_py(cohort, scope)


_PORTABLE: ContextVar[bool] = ContextVar("dashboard_portable", default=False)


def _use_sql() -> bool:
    """PostgreSQL: aggregate in SQL. Elsewhere (the embedded SQLite default), or inside
    `portable()`: plain ORM reads aggregated in Python, same numbers."""
    return connection.vendor == "postgresql" and not _PORTABLE.get()


@contextmanager
def portable() -> Iterator[None]:
    """Force the database-independent path (used to check it against the SQL path)."""
    token = _PORTABLE.set(True)
    try:
        yield
    finally:
        _PORTABLE.reset(token)


def _run_plain(sql: str) -> None:
    if connection.vendor == "postgresql":
        with read_connection().cursor() as cur:
            cur.execute(sql)


def _run(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    with read_connection().cursor() as cur:
        cur.execute(sql, params)
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


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
    # True when medians / p90 come from rollup histograms (long ranges at scale, METRICS 4.3)
    approx: bool = False


def _side_of(row: dict[str, Any]) -> str:
    return row["kind"] if row["kind"] in KINDS else "other"


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
    from metrics import dashboard_rollup

    dash.approx = dashboard_rollup.use_rollup(scope)
    if dash.approx:
        with dashboard_rollup.hash_grouping():
            return _dashboard_fill(dash, dashboard_rollup.cohort_results(scope))
    return _dashboard_fill(dash, {cohort: _cohort_result(cohort, scope) for cohort in COHORTS})


def _dashboard_fill(dash: Dashboard, results: dict[str, CohortResult]) -> Dashboard:
    scope, as_of = dash.scope, dash.as_of
    by_cohort: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    buckets: dict[datetime, dict[str, Any]] = {}
    agents: dict[int, dict[str, Any]] = {}
    hists: dict[str, dict[int, int]] = {k: {} for k in HIST_KPIS}
    for cohort in COHORTS:
        res = results[cohort]
        by_cohort[cohort] = res.cells
        for bk, row in res.buckets.items():
            buckets.setdefault(bk, {})[cohort] = row
        for ag, row in res.agents.items():
            agents.setdefault(ag, {})[cohort] = row
        for kpi in HIST_KPIS:
            if DURATION_KPIS[kpi]["cohort"] == cohort:
                hists[kpi] = dict(res.hist)

    def cell(cohort: str, side: str, period: str) -> dict[str, Any]:
        return by_cohort[cohort].get((side, period)) or {}

    for kpi, spec in DURATION_KPIS.items():
        dash.tiles[kpi] = {
            side: {p: _duration_value(cell(spec["cohort"], side, p), kpi) for p in ("cur", "prev")} for side in SIDES
        }
    for kpi, (cohorts, num, den) in RATIOS.items():
        dash.tiles[kpi] = {
            side: {
                p: _ratio(
                    sum(cell(c, side, p).get(num) or 0 for c in cohorts),
                    sum(cell(c, side, p).get(den) or 0 for c in cohorts),
                )
                for p in ("cur", "prev")
            }
            for side in SIDES
        }
    for kpi, cohort in (("created", "created"), ("resolved", "last_res"), ("zero_touch", "last_res")):
        dash.tiles[kpi] = {
            side: {p: {"n": cell(cohort, side, p).get(kpi) or 0} for p in ("cur", "prev")} for side in SIDES
        }
    for side in SIDES:
        for p in ("cur", "prev"):
            c = cell("csat", side, p)
            dash.tiles["csat"][side][p]["mean_score"] = (c["score_sum"] / c["score_n"]) if c.get("score_n") else None
            dash.tiles["csat"][side][p]["score_n"] = c.get("score_n") or 0

    dash.trend = _trend_rows(scope, buckets)
    dash.histograms = {
        kpi: [{"bucket": i, "label": HIST_LABELS[i], "n": hists[kpi].get(i, 0)} for i in range(len(HIST_LABELS))]
        for kpi in HIST_KPIS
    }
    if scope.with_agents:
        dash.agents = _agent_rows(agents, scope)
    dash.backlog_trend, dash.backlog = backlog_series(scope=scope, now=as_of, rollup=dash.approx)
    dash.comments = csat_comments(scope=scope)
    return dash


def bucket_starts(scope: Scope) -> list[date]:
    """Local bucket start dates covering the period (weeks start on Monday)."""
    first = scope.period.first
    if scope.bucket == "week":
        first = first - timedelta(days=first.weekday())
    step = timedelta(days=7 if scope.bucket == "week" else 1)
    out, d = [], first
    while d <= scope.period.last:
        out.append(d)
        d += step
    return out


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


# --- backlog ----------------------------------------------------------------


def _snapshot_instants(scope: Scope, now: datetime) -> list[tuple[date, datetime]]:
    """(day, local midnight ending that day) per bucket end inside the period, up to now."""
    out = []
    for start in bucket_starts(scope):
        last = start + timedelta(days=6 if scope.bucket == "week" else 0)
        last = min(last, scope.period.last)
        instant = _midnight(last + timedelta(days=1), scope.period.zone)
        if instant > now:
            instant = now
        out.append((last, instant))
    return out


def _backlog_where(scope: Scope) -> tuple[str, list[Any]]:
    return _filters_sql(scope, "assignee_id")


_UNSOLVED_SQL = "(" + ", ".join(f"'{s}'" for s in UNSOLVED) + ")"


def _backlog_join_sql(scope: Scope, select: str) -> tuple[str, list[Any]]:
    """Unsolved status intervals overlapping [lo, hi] of tickets that may be unsolved then.

    Tickets: not excluded, created before hi, last resolved at/after lo or unresolved
    (covering index tm_last_resolved, two index-only branches). Intervals: ending at/after
    lo or still open, started before hi (partial covering index tsi_unsolved_end). Params:
    lo, hi, filters, hi, filters, lo, hi, hi (see `_backlog_join_params`).
    """
    where, _ = _backlog_where(scope)
    cand = """SELECT m.ticket_id, m.created_at, m.kind, m.queue_id, m.assignee_id FROM metrics_ticketmetrics m
              WHERE NOT m.excluded AND {cond} AND m.created_at < %s {where}"""
    ivs = f"""SELECT i.ticket_id, i.status, i.started_at, i.ended_at FROM metrics_ticketstatusinterval i
              WHERE i.status IN {_UNSOLVED_SQL} AND {{cond}} AND i.started_at < %s"""  # noqa: S608
    sql = f"""
        SELECT {select}
        FROM ({cand.format(cond="m.last_resolved_at >= %s", where=where)}
              UNION ALL {cand.format(cond="m.last_resolved_at IS NULL", where=where)}) c
        JOIN ({ivs.format(cond="i.ended_at >= %s")} UNION ALL {ivs.format(cond="i.ended_at IS NULL")}) i
          ON i.ticket_id = c.ticket_id
    """  # noqa: S608 - fixed identifiers only
    return sql, []


def _backlog_join_params(scope: Scope, lo: datetime, hi: datetime) -> list[Any]:
    _, fparams = _backlog_where(scope)
    return [lo, hi, *fparams, hi, *fparams, lo, hi, hi]


def _backlog_counts_sql(scope: Scope, instants: list[datetime]) -> list[tuple[int, int]]:
    """(backlog, actionable) at each of the ascending distinct `instants`, in one pass.

    An interval of a ticket counts at T iff max(started_at, created_at) < T <= ended_at
    (or still open) - the same predicate as stabbing it at T. width_bucket against the
    instants gives the first and one-past-last snapshot it counts at; the per-snapshot
    counts are a running sum of +n / -n at those positions.
    """
    select = """width_bucket(GREATEST(i.started_at, c.created_at), %s::timestamptz[]) AS k_from,
                CASE WHEN i.ended_at IS NULL THEN %s ELSE width_bucket(i.ended_at, %s::timestamptz[]) END AS k_to,
                (i.status <> 'pending') AS actionable, COUNT(*) AS n"""
    sql, _ = _backlog_join_sql(scope, select)
    sql += " GROUP BY 1, 2, 3"
    params = [instants, len(instants), instants, *_backlog_join_params(scope, instants[0], instants[-1])]
    diff_all = [0] * (len(instants) + 1)
    diff_act = [0] * (len(instants) + 1)
    for r in _run(sql, params):
        lo, hi = r["k_from"], r["k_to"]
        if lo >= hi:
            continue
        diff_all[lo] += r["n"]
        diff_all[hi] -= r["n"]
        if r["actionable"]:
            diff_act[lo] += r["n"]
            diff_act[hi] -= r["n"]
    out, run_all, run_act = [], 0, 0
    for k in range(len(instants)):
        run_all += diff_all[k]
        run_act += diff_act[k]
        out.append((run_all, run_act))
    return out


def _backlog_tickets_py(scope: Scope, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    """Candidate tickets joined with their unsolved intervals overlapping [lo, hi] (ORM, any database)."""
    from django.db.models import Q

    from metrics.models import TicketMetrics, TicketStatusInterval

    cands = {
        r["ticket_id"]: r
        for r in TicketMetrics.objects.filter(excluded=False, created_at__lt=hi, **_orm_filters(scope, "assignee_id"))
        .filter(Q(last_resolved_at__isnull=True) | Q(last_resolved_at__gte=lo))
        .values("ticket_id", "created_at", "kind", "queue_id", "assignee_id")
    }
    ivs = (
        TicketStatusInterval.objects.filter(status__in=UNSOLVED, started_at__lt=hi)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=lo))
        .values("ticket_id", "status", "started_at", "ended_at")
    )
    return [{**cands[i["ticket_id"]], **i} for i in ivs if i["ticket_id"] in cands]


def _stabbed(row: dict[str, Any], at: datetime) -> bool:
    return row["started_at"] < at and row["created_at"] < at and (row["ended_at"] is None or row["ended_at"] >= at)


def backlog_series(*, scope: Scope, now: datetime, rollup: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Backlog and actionable backlog at each bucket end (M13), and the last snapshot with ages.

    Candidates are tickets unresolved at some instant of the period: created
    before its end and not last resolved before its start; their unsolved status
    intervals are stabbed at each snapshot instant.
    """
    snaps = _snapshot_instants(scope, now)
    if not snaps:
        return [], {}
    instants = sorted({s for _, s in snaps})
    if rollup:
        from metrics import dashboard_rollup

        counts = dashboard_rollup.backlog_counts(scope, snaps, now)
    elif _use_sql():
        counts = dict(zip(instants, _backlog_counts_sql(scope, instants), strict=True))
    else:
        rows = _backlog_tickets_py(scope, instants[0], instants[-1])
        counts = {
            at: (
                sum(1 for r in rows if _stabbed(r, at)),
                sum(1 for r in rows if _stabbed(r, at) and r["status"] != "pending"),
            )
            for at in instants
        }
    series = [{"day": day, "at": at, "backlog": counts[at][0], "actionable": counts[at][1]} for day, at in snaps]
    if rollup and snaps[-1][1] == now:
        from metrics import dashboard_rollup

        return series, dashboard_rollup.backlog_now_summary(scope, now)
    last = backlog_tickets_summary(scope=scope, instant=snaps[-1][1])
    return series, last


def _backlog_tickets(scope: Scope, instant: datetime) -> list[dict[str, Any]]:
    """The backlog at one instant: ticket_id, status, age_s, kind, queue_id, agent_id (unordered)."""
    if _use_sql():
        select = """i.ticket_id, i.status, EXTRACT(EPOCH FROM (%s - c.created_at))::float8 AS age_s, c.kind,
                    c.queue_id, c.assignee_id AS agent_id"""
        sql, _ = _backlog_join_sql(scope, select)
        sql += " WHERE i.started_at < %s AND c.created_at < %s AND (i.ended_at IS NULL OR i.ended_at >= %s)"
        params = [instant, *_backlog_join_params(scope, instant, instant), instant, instant, instant]
        return _run(sql, params)
    return [
        {
            "ticket_id": r["ticket_id"],
            "status": r["status"],
            "age_s": (instant - r["created_at"]).total_seconds(),
            "kind": r["kind"],
            "queue_id": r["queue_id"],
            "agent_id": r["assignee_id"],
        }
        for r in _backlog_tickets_py(scope, instant, instant)
        if _stabbed(r, instant)
    ]


def backlog_tickets_summary(*, scope: Scope, instant: datetime) -> dict[str, Any]:
    """Backlog at one instant per side: count, actionable, age median/p90/max and age buckets."""
    from helpdesk.lib.sqlite import percentile_cont

    if _use_sql():
        return _backlog_summary_sql(scope, instant)
    rows = _backlog_tickets(scope, instant)
    out: dict[str, Any] = {"at": instant}
    for side in SIDES:
        group = [r for r in rows if side == "all" or r["kind"] == side]
        ages = sorted(r["age_s"] for r in group)
        out[side] = {
            "backlog": len(group),
            "actionable": sum(1 for r in group if r["status"] != "pending"),
            "median_age_s": percentile_cont(ages, 0.5),
            "p90_age_s": percentile_cont(ages, 0.9),
            "max_age_s": ages[-1] if ages else None,
            "age_buckets": [
                sum(1 for a in ages if a < 86400),
                sum(1 for a in ages if 86400 <= a < 3 * 86400),
                sum(1 for a in ages if 3 * 86400 <= a < 7 * 86400),
                sum(1 for a in ages if a >= 7 * 86400),
            ],
        }
    return out


def _backlog_summary_sql(scope: Scope, instant: datetime) -> dict[str, Any]:
    select = """i.ticket_id, i.status, EXTRACT(EPOCH FROM (%s - c.created_at))::float8 AS age_s, c.kind"""
    inner, _ = _backlog_join_sql(scope, select)
    inner += " WHERE i.started_at < %s AND c.created_at < %s AND (i.ended_at IS NULL OR i.ended_at >= %s)"
    sql = f"""
        SELECT GROUPING(kind) AS g, kind, COUNT(*) AS backlog,
               COUNT(*) FILTER (WHERE status <> 'pending') AS actionable,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY age_s) AS pct,
               MAX(age_s) AS max_age_s,
               COUNT(*) FILTER (WHERE age_s < 86400) AS age_0_1,
               COUNT(*) FILTER (WHERE age_s >= 86400 AND age_s < 3 * 86400) AS age_1_3,
               COUNT(*) FILTER (WHERE age_s >= 3 * 86400 AND age_s < 7 * 86400) AS age_3_7,
               COUNT(*) FILTER (WHERE age_s >= 7 * 86400) AS age_7
        FROM ({inner}) b GROUP BY GROUPING SETS ((kind), ())
    """  # noqa: S608
    params = [instant, *_backlog_join_params(scope, instant, instant), instant, instant, instant]
    out: dict[str, Any] = {"at": instant}
    for side in SIDES:
        out[side] = {
            "backlog": 0,
            "actionable": 0,
            "median_age_s": None,
            "p90_age_s": None,
            "max_age_s": None,
            "age_buckets": [0, 0, 0, 0],
        }
    for r in _run(sql, params):
        side = "all" if r["g"] else _side_of(r)
        if side not in out:
            continue
        pct = r["pct"] or [None, None]
        out[side] = {
            "backlog": r["backlog"],
            "actionable": r["actionable"],
            "median_age_s": pct[0],
            "p90_age_s": pct[1],
            "max_age_s": r["max_age_s"],
            "age_buckets": [r["age_0_1"], r["age_1_3"], r["age_3_7"], r["age_7"]],
        }
    return out


def csat_comments(*, scope: Scope, limit: int = 10) -> list[dict[str, Any]]:
    """Latest CSAT comments in the period: newest csat.responded events with a comment that are
    the ticket's latest rating (m.csat_at), walking the (kind, occurred_at) index backwards."""
    if not _use_sql():
        return _csat_comments_py(scope=scope, limit=limit)
    where, params = _filters_sql(scope, "csat_agent_id")
    sql = f"""
        SELECT e.ticket_id, m.csat_value, m.csat_satisfied, m.csat_at, e.data->>'comment' AS comment
        FROM tickets_ticketevent e JOIN metrics_ticketmetrics m ON m.ticket_id = e.ticket_id
        WHERE e.kind = 'csat.responded' AND e.occurred_at >= %s AND e.occurred_at < %s
          AND COALESCE(e.data->>'comment', '') <> ''
          AND NOT m.excluded AND m.csat_at = e.occurred_at {where}
        ORDER BY e.occurred_at DESC, e.id DESC LIMIT %s
    """  # noqa: S608
    return _run(sql, [scope.period.start, scope.period.end, *params, limit])


def _csat_comments_py(*, scope: Scope, limit: int) -> list[dict[str, Any]]:
    from metrics.models import TicketMetrics
    from tickets.models import TicketEvent

    out: list[dict[str, Any]] = []
    events = TicketEvent.objects.filter(
        kind="csat.responded", occurred_at__gte=scope.period.start, occurred_at__lt=scope.period.end
    ).order_by("-occurred_at", "-id")
    for e in events.values("ticket_id", "occurred_at", "data").iterator():
        comment = (e["data"] or {}).get("comment") or ""
        if not comment:
            continue
        m = (
            TicketMetrics.objects.filter(
                ticket_id=e["ticket_id"],
                excluded=False,
                csat_at=e["occurred_at"],
                **_orm_filters(scope, "csat_agent_id"),
            )
            .values("csat_value", "csat_satisfied", "csat_at")
            .first()
        )
        if m:
            out.append({"ticket_id": e["ticket_id"], **m, "comment": comment})
            if len(out) >= limit:
                break
    return out


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


# --- formatting helpers (templates, CSV, e-mail) ----------------------------


def fmt_duration(seconds: float | None) -> str:
    """2550 -> '42m 30s'; 178740 -> '2d 1h 39m'; None -> '—'."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    s = round(float(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if d:
        return f"{d}d {h}h {m}m"
    if h:
        return f"{h}h {m}m"
    if m:
        return f"{m}m {sec}s"
    return f"{sec}s"


def fmt_pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"
