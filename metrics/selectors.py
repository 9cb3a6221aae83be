"""Reads of metrics: aggregates over any range and filter, drill-down, backlog.

Durations are aggregated over per-ticket rows in PostgreSQL with exact
`percentile_cont` (docs/metrics.md §1.7); ratios are sums of numerators over sums of
denominators, never averages of averages. Every aggregate has a drill-down
listing the tickets and values behind it. Access control: `filters_for_user`
restricts agents to their own attribution.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Aggregate, Avg, Count, F, FloatField, Q, QuerySet, Sum

from helpdesk.lib.db_router import read_connection
from helpdesk.lib.sqlite import percentile_cont
from metrics.models import TicketAgentHandle, TicketMetrics, TicketSegment
from metrics.segments import SHARE_COLUMNS
from tickets.clock import union_seconds

UNSOLVED = ("new", "open", "pending", "on_hold")


class PercentileCont(Aggregate):
    """PostgreSQL percentile_cont(q) WITHIN GROUP (ORDER BY expr)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # helpdesk.lib.sqlite registers a Python aggregate with the same semantics.
        return super().as_sql(
            compiler, connection, function="percentile_cont_py", template="%(function)s(%(expressions)s, %(fraction)s)"
        )


# metric -> (column, cohort instant, attribution column)
DURATIONS: dict[str, tuple[str, str, str]] = {
    "frt_cal_s": ("frt_cal_s", "first_reply_at", "first_replier_id"),
    "frt_bus_s": ("frt_bus_s", "first_reply_at", "first_replier_id"),
    "first_resolution_cal_s": ("first_resolution_cal_s", "first_resolved_at", "resolver_id"),
    "first_resolution_bus_s": ("first_resolution_bus_s", "first_resolved_at", "resolver_id"),
    "handle_s": ("handle_s", "last_resolved_at", "resolver_id"),
}
for _name in (
    "full_resolution",
    "requester_wait",
    "agent_wait",
    "on_hold",
    "time_in_progress",
    "queue_time",
    "agent_work",
):
    for _suffix in ("cal", "bus"):
        DURATIONS[f"{_name}_{_suffix}_s"] = (f"{_name}_{_suffix}_s", "last_resolved_at", "resolver_id")

FILTERS = ("queue_id", "kind", "agent_id", "priority", "channel")


def local_day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight starting `first`, local midnight ending `last`) as instants."""
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end  # UTC: subtracting same-ZoneInfo datetimes would use wall time


def filters_for_user(*, user: Any, filters: Mapping[str, Any]) -> dict[str, Any]:
    """Managers see everything; an agent only metrics attributed to them."""
    clean = {k: v for k, v in filters.items() if k in FILTERS and v not in (None, "")}
    if not getattr(user, "is_manager_role", False):
        clean["agent_id"] = user.pk
    return clean


def _by_segment(filters: Mapping[str, Any]) -> bool:
    """A queue or kind filter reads the segments (docs/metrics.md#18-queue-and-kind-attribution-across-escalations)."""
    return any(filters.get(key) not in (None, "") for key in ("queue_id", "kind"))


def _segments_base(
    cohort: str, start: datetime | None, end: datetime | None, filters: Mapping[str, Any]
) -> QuerySet[TicketSegment]:
    """The segments in the filtered queue / kind whose cohort instant is in [start, end)."""
    qs = TicketSegment.objects.filter(**{f"{cohort}__isnull": False})
    if start is not None:
        qs = qs.filter(**{f"{cohort}__gte": start})
    if end is not None:
        qs = qs.filter(**{f"{cohort}__lt": end})
    return qs.filter(**{key: filters[key] for key in ("queue_id", "kind") if filters.get(key) not in (None, "")})


def _base(
    cohort: str, start: datetime | None, end: datetime | None, filters: Mapping[str, Any], agent_field: str
) -> QuerySet[TicketMetrics]:
    """Tickets whose `cohort` instant is in [start, end), filtered. With a queue or kind filter,
    those whose instant fell in a segment of that queue / kind (an instant measure belongs to
    the segment holding it; the last resolution's segment for the last-resolution cohort)."""
    qs = TicketMetrics.objects.filter(excluded=False, **{f"{cohort}__isnull": False})
    if start is not None:
        qs = qs.filter(**{f"{cohort}__gte": start})
    if end is not None:
        qs = qs.filter(**{f"{cohort}__lt": end})
    if _by_segment(filters):
        segments = _segments_base(cohort, start, end, filters)
        if cohort == "last_resolved_at":
            segments = segments.filter(last_res_here=True)
        qs = qs.filter(ticket_id__in=segments.values("ticket_id"))
    for key in ("priority", "channel") if _by_segment(filters) else ("queue_id", "kind", "priority", "channel"):
        if filters.get(key) not in (None, ""):
            qs = qs.filter(**{key: filters[key]})
    if filters.get("agent_id") not in (None, ""):
        qs = qs.filter(**{agent_field: filters["agent_id"]})
    return qs


def duration_queryset(
    *, metric: str, start: datetime | None = None, end: datetime | None = None, **filters: Any
) -> QuerySet[TicketMetrics]:
    column, cohort, agent_field = DURATIONS[metric]
    return _base(cohort, start, end, filters, agent_field).filter(**{f"{column}__isnull": False})


def _share_values(
    metric: str, start: datetime | None, end: datetime | None, filters: Mapping[str, Any]
) -> list[tuple[int, float]]:
    """(ticket, its shares summed over its segments in the filtered queue / kind) of a split
    duration (docs/metrics.md#18-queue-and-kind-attribution-across-escalations)."""
    column, cohort, agent_field = DURATIONS[metric]
    qs = _segments_base(cohort, start, end, filters).filter(**{f"{column}__isnull": False})
    for key in ("priority", "channel"):
        if filters.get(key) not in (None, ""):
            qs = qs.filter(**{key: filters[key]})
    if filters.get("agent_id") not in (None, ""):
        qs = qs.filter(**{agent_field: filters["agent_id"]})
    per_ticket: dict[int, float] = {}
    for tid, value in qs.values_list("ticket_id", column):
        per_ticket[tid] = per_ticket.get(tid, 0.0) + float(value)
    return sorted(per_ticket.items())


def _is_share(metric: str) -> bool:
    return metric in SHARE_COLUMNS or metric == "handle_s"


def duration_summary(
    *, metric: str, start: datetime | None = None, end: datetime | None = None, **filters: Any
) -> dict[str, Any]:
    """n, sum, mean, median and p90 (percentile_cont) of a per-ticket duration (a split
    duration under a queue or kind filter: each ticket's shares there)."""
    if _by_segment(filters) and _is_share(metric):
        values = [v for _, v in _share_values(metric, start, end, filters)]
        if not values:
            return {"n": 0, "sum_s": None, "mean_s": None, "median_s": None, "p90_s": None}
        total = sum(values)
        return {
            "n": len(values),
            "sum_s": total,
            "mean_s": total / len(values),
            "median_s": percentile_cont(values, 0.5),
            "p90_s": percentile_cont(values, 0.9),
        }
    column = DURATIONS[metric][0]
    agg = duration_queryset(metric=metric, start=start, end=end, **filters).aggregate(
        n=Count(column),
        sum_s=Sum(column),
        mean_s=Avg(column),
        median_s=PercentileCont(F(column), 0.5),
        p90_s=PercentileCont(F(column), 0.9),
    )
    if not agg["n"]:
        return {"n": 0, "sum_s": None, "mean_s": None, "median_s": None, "p90_s": None}
    return agg


def duration_drilldown(
    *, metric: str, start: datetime | None = None, end: datetime | None = None, **filters: Any
) -> list[tuple[int, float]]:
    """(ticket number, seconds) behind a duration aggregate."""
    if _by_segment(filters) and _is_share(metric):
        return _share_values(metric, start, end, filters)
    column = DURATIONS[metric][0]
    qs = duration_queryset(metric=metric, start=start, end=end, **filters)
    return list(qs.order_by("ticket_id").values_list("ticket_id", column))


def _pct(num: int, den: int) -> float | None:
    return 100.0 * num / den if den else None


def csat_summary(*, start: datetime | None = None, end: datetime | None = None, **filters: Any) -> dict[str, Any]:
    """Latest rating per ticket, cohort = rating instant (M10)."""
    qs = _base("csat_at", start, end, filters, "csat_agent_id")
    agg = qs.aggregate(
        responses=Count("ticket_id"),
        satisfied=Count("ticket_id", filter=Q(csat_satisfied=True)),
        score_n=Count("csat_score"),
        score_sum=Sum("csat_score"),
    )
    agg["pct"] = _pct(agg["satisfied"], agg["responses"])
    agg["mean_score"] = agg["score_sum"] / agg["score_n"] if agg["score_n"] else None
    return agg


def csat_response_rate(*, start: datetime | None = None, end: datetime | None = None, **filters: Any) -> dict[str, Any]:
    """Responded (as of now) / surveys offered in the period."""
    qs = _base("csat_offered_at", start, end, filters, "resolver_id")
    agg = qs.aggregate(offered=Count("ticket_id"), responses=Count("ticket_id", filter=Q(csat_at__isnull=False)))
    agg["pct"] = _pct(agg["responses"], agg["offered"])
    return agg


def fcr_summary(*, start: datetime | None = None, end: datetime | None = None, **filters: Any) -> dict[str, Any]:
    qs = _base("last_resolved_at", start, end, filters, "resolver_id")
    agg = qs.aggregate(
        fcr=Count("ticket_id", filter=Q(fcr=True)),
        eligible=Count("ticket_id", filter=Q(fcr_eligible=True)),
        zero_touch=Count("ticket_id", filter=Q(zero_touch=True)),
    )
    agg["pct"] = _pct(agg["fcr"], agg["eligible"])
    return agg


def reopen_summary(*, start: datetime | None = None, end: datetime | None = None, **filters: Any) -> dict[str, Any]:
    """Cohort = first resolution (M12)."""
    qs = _base("first_resolved_at", start, end, filters, "resolver_id").filter(first_resolution_cal_s__isnull=False)
    agg = qs.aggregate(
        resolved=Count("ticket_id"),
        reopened=Count("ticket_id", filter=Q(reopens__gt=0)),
        substantive=Count("ticket_id", filter=Q(substantive_reopens__gt=0)),
        reopens=Sum("reopens"),
    )
    agg["reopens"] = agg["reopens"] or 0
    agg["pct"] = _pct(agg["reopened"], agg["resolved"])
    agg["substantive_pct"] = _pct(agg["substantive"], agg["resolved"])
    agg["reopens_per_resolved"] = agg["reopens"] / agg["resolved"] if agg["resolved"] else None
    return agg


def sla_summary(*, start: datetime | None = None, end: datetime | None = None, **filters: Any) -> dict[str, Any]:
    """Breached / (achieved + breached) by outcome instant, overall and per target."""
    by_target = {}
    for target in ("first_reply", "resolution"):
        qs = _base(f"sla_{target}_outcome_at", start, end, filters, "assignee_id").filter(
            **{f"sla_{target}_outcome__in": ["achieved", "breached"]}
        )
        agg = qs.aggregate(
            with_outcome=Count("ticket_id"),
            breached=Count("ticket_id", filter=Q(**{f"sla_{target}_outcome": "breached"})),
        )
        agg["pct"] = _pct(agg["breached"], agg["with_outcome"])
        by_target[target] = agg
    # Next reply: one outcome per cycle, counted at the ticket's latest cycle outcome instant.
    agg = _base("sla_next_reply_outcome_at", start, end, filters, "assignee_id").aggregate(
        achieved=Sum("sla_next_reply_achieved"), breached=Sum("sla_next_reply_breached")
    )
    achieved, nr_breached = agg["achieved"] or 0, agg["breached"] or 0
    by_target["next_reply"] = {
        "with_outcome": achieved + nr_breached,
        "breached": nr_breached,
        "pct": _pct(nr_breached, achieved + nr_breached),
    }
    breached = sum(v["breached"] for v in by_target.values())
    with_outcome = sum(v["with_outcome"] for v in by_target.values())
    return {
        "breached": breached,
        "with_outcome": with_outcome,
        "pct": _pct(breached, with_outcome),
        "by_target": by_target,
    }


def count_created(*, start: datetime | None = None, end: datetime | None = None, **filters: Any) -> list[int]:
    return list(
        _base("created_at", start, end, filters, "assignee_id")
        .order_by("ticket_id")
        .values_list("ticket_id", flat=True)
    )


def count_resolved(*, start: datetime | None = None, end: datetime | None = None, **filters: Any) -> list[int]:
    qs = _base("last_resolved_at", start, end, filters, "resolver_id")
    return list(qs.order_by("ticket_id").values_list("ticket_id", flat=True))


def handle_by_agent(
    *, start: datetime | None = None, end: datetime | None = None, **filters: Any
) -> dict[int, dict[str, float]]:
    """Per agent: Σ handle, tickets, AHT (= Σ / tickets) and busy time (union across tickets)."""
    agent = filters.pop("agent_id", None)
    ticket_ids = _base("last_resolved_at", start, end, filters, "resolver_id").values("ticket_id")
    qs = TicketAgentHandle.objects.filter(ticket_id__in=ticket_ids)
    if agent not in (None, ""):
        qs = qs.filter(agent_id=agent)
    out: dict[int, dict[str, Any]] = {}
    sessions: dict[int, list[tuple[float, float]]] = {}
    for agent_id, secs, sess in qs.values_list("agent_id", "handle_s", "sessions"):
        row = out.setdefault(agent_id, {"handle_sum_s": 0.0, "tickets": 0})
        row["handle_sum_s"] += secs
        row["tickets"] += 1
        sessions.setdefault(agent_id, []).extend((s, e) for s, e in sess)
    for agent_id, row in out.items():
        row["aht_s"] = row["handle_sum_s"] / row["tickets"]
        row["busy_s"] = union_seconds(sessions[agent_id])
    return out


def backlog_at(*, instant: datetime, **filters: Any) -> dict[str, Any]:
    """M13: non-excluded tickets created before `instant` whose status after
    every event before `instant` is unsolved; ages and actionable count."""
    params: list[Any] = [instant, instant, instant, instant, list(UNSOLVED)]
    where = ""
    for key in ("queue_id", "kind", "priority", "channel"):
        if filters.get(key) not in (None, ""):
            where += f" AND m.{key} = %s"
            params.append(filters[key])
    if filters.get("agent_id") not in (None, ""):
        where += " AND m.assignee_id = %s"
        params.append(filters["agent_id"])
    # The interval [started, ended) holding the state after every event before T.
    sql = f"""
        SELECT i.ticket_id, i.status, EXTRACT(EPOCH FROM (%s - m.created_at))::float8 AS age_s
        FROM metrics_ticketstatusinterval i JOIN metrics_ticketmetrics m ON m.ticket_id = i.ticket_id
        WHERE NOT m.excluded AND m.created_at < %s AND i.started_at < %s
          AND (i.ended_at IS NULL OR i.ended_at >= %s)
          AND i.status = ANY(%s) {where}
        ORDER BY i.ticket_id
    """  # noqa: S608 - only fixed column names are interpolated
    with read_connection().cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    ages = sorted(r[2] for r in rows)
    return {
        "tickets": [{"ticket_id": r[0], "status": r[1], "age_s": r[2]} for r in rows],
        "backlog": len(rows),
        "actionable": sum(1 for r in rows if r[1] != "pending"),
        "median_age_s": percentile_cont(ages, 0.5),
        "p90_age_s": percentile_cont(ages, 0.9),
        "max_age_s": ages[-1] if ages else None,
    }


def ticket_metrics_get(*, ticket_id: int) -> TicketMetrics | None:
    return TicketMetrics.objects.filter(ticket_id=ticket_id).first()
