"""Writes of the metrics app: the dirty outbox, recomputation, rollups.

Write path (METRICS 4.2): every event transaction calls tickets_mark_dirty
(a row in MetricsDirty, same transaction) and registers one wake-up task on
commit. Workers claim dirty tickets in batches with FOR UPDATE SKIP LOCKED,
recompute them with the pure `metrics.compute.compute`, upsert
TicketMetrics / TicketAgentHandle / TicketStatusInterval and apply the
difference of the ticket's rollup contributions to MetricsDaily
(retract-and-apply), all in one transaction: a crash rolls the claim back.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from helpdesk.lib.business_hours import ALWAYS_OPEN, BusinessCalendar
from metrics.compute import Context, Ev, compute
from metrics.models import MetricsDirty, TicketAgentHandle, TicketMetrics, TicketStatusInterval

logger = logging.getLogger(__name__)

CLAIM_BATCH = 500


# --- write path -------------------------------------------------------------


def tickets_mark_dirty(*, ticket_ids: Sequence[int]) -> None:
    """Mark tickets for recomputation, in the caller's transaction.

    Idempotent (ON CONFLICT DO NOTHING). One wake-up task per transaction is
    enqueued on commit; it never raises (a broker outage is logged and the
    periodic sweeper `metrics.sweep` picks the rows up).
    """
    if not ticket_ids:
        return
    MetricsDirty.objects.bulk_create(
        [MetricsDirty(ticket_id=pk) for pk in sorted(set(ticket_ids))],
        ignore_conflicts=True,
        batch_size=5000,
    )
    _wake_on_commit()


def _wake_on_commit() -> None:
    try:
        conn = transaction.get_connection()
        if conn.in_atomic_block and any(entry[1] is _wake for entry in conn.run_on_commit):
            return  # one wake-up per transaction is enough
        transaction.on_commit(_wake)
    except Exception:  # never break the event-writing transaction
        logger.warning("metrics wake-up could not be registered", exc_info=True)


def _wake() -> None:
    try:
        from metrics.tasks import recompute_dirty

        recompute_dirty.apply_async(retry=False)
    except Exception:
        logger.warning("metrics wake-up not sent; the sweeper will catch up", exc_info=True)


# --- context ------------------------------------------------------------------

_context_cache: dict[str, Any] = {"key": None}


def reporting_zone() -> ZoneInfo:
    """The reporting time zone: `helpdesk_config` setting, else settings, else UTC."""
    from tickets.models import HelpdeskSetting

    row = HelpdeskSetting.objects.filter(key="reporting.timezone").values_list("value", flat=True).first()
    name = row if isinstance(row, str) and row else getattr(settings, "HELPDESK_REPORTING_TIMEZONE", "UTC")
    return ZoneInfo(name)


def metrics_context(*, as_of: datetime | None = None) -> Context:
    """Calendars and SLA policies per queue (cached until a row changes)."""
    from django.db.models import Max

    from tickets.models import Calendar, Queue, SLAPolicy

    key = (
        Queue.objects.count(),
        Calendar.objects.aggregate(m=Max("updated_at"))["m"],
        SLAPolicy.objects.aggregate(m=Max("updated_at"))["m"],
        tuple(Queue.objects.order_by("pk").values_list("pk", "calendar_id", "sla_policy_id")),
    )
    if _context_cache["key"] != key:
        calendars: dict[int, BusinessCalendar] = {}
        by_calendar: dict[int, BusinessCalendar] = {}
        policies: dict[int, Any] = {}
        for q in Queue.objects.select_related("calendar", "sla_policy"):
            if q.calendar_id:
                if q.calendar_id not in by_calendar:
                    by_calendar[q.calendar_id] = BusinessCalendar.from_model(q.calendar)
                calendars[q.pk] = by_calendar[q.calendar_id]
            else:
                calendars[q.pk] = ALWAYS_OPEN
            if q.sla_policy_id:
                policies[q.pk] = {"pause_statuses": q.sla_policy.pause_statuses, "targets": q.sla_policy.targets}
        _context_cache.update(key=key, calendars=calendars, policies=policies)
    return Context(
        as_of=as_of or timezone.now(),
        calendars=_context_cache["calendars"],
        sla_policies=_context_cache["policies"],
    )


def events_by_ticket(ticket_ids: Iterable[int]) -> dict[int, list[Ev]]:
    from tickets.selectors import ticket_events_for_metrics

    out: dict[int, list[Ev]] = defaultdict(list)
    for tid, eid, kind, at, actor_id, role, vis, auto, data in ticket_events_for_metrics(ticket_ids=list(ticket_ids)):
        out[tid].append(Ev(eid, kind, at, actor_id, role, vis, auto, data or {}))
    return out


# --- rows ---------------------------------------------------------------------

_MODEL_FIELDS = [
    f.name
    for f in TicketMetrics._meta.concrete_fields
    if f.name not in ("ticket_id", "data", "computed_at", "csat_score", "csat_value")
]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def metrics_row_build(ticket_id: int, row: dict[str, Any]) -> TicketMetrics:
    """A TicketMetrics instance (unsaved) from a compute() row."""
    from metrics.present import EXPORT_FIELDS

    values = {name: row.get(name) for name in _MODEL_FIELDS}
    values["status"] = row["status_at_as_of"]
    for name in ("excluded_reason", "kind", "priority", "channel", "sla_first_reply_outcome", "sla_resolution_outcome"):
        values[name] = values.get(name) or ""
    csat_value = row.get("csat_value")
    values["csat_value"] = "" if csat_value is None else str(csat_value)
    values["csat_score"] = csat_value if isinstance(csat_value, int) and row.get("csat_scale") != "good_bad" else None
    data = {name: _jsonable(row.get(name)) for name in EXPORT_FIELDS if name != "resolver"}
    data["resolver_id"] = row.get("resolver_id")
    data["work_sessions"] = _jsonable(row.get("work_sessions") or {})
    data["next_reply_at"] = _jsonable(row.get("next_reply_at") or [])
    return TicketMetrics(ticket_id=ticket_id, computed_at=timezone.now(), data=data, **values)


def _day(instant: datetime | None, zone: ZoneInfo) -> date | None:
    return None if instant is None else instant.astimezone(zone).date()


DURATION_METRICS_LAST_RESOLVED = (
    "full_resolution",
    "requester_wait",
    "agent_wait",
    "on_hold",
    "time_in_progress",
    "queue_time",
    "agent_work",
)


def contributions(m: TicketMetrics, zone: ZoneInfo) -> dict[tuple, list[float]]:
    """The cells a ticket row adds to MetricsDaily: key -> [n, sum_s, num, den].

    Excluded tickets contribute nothing. Cohorts and attribution follow
    METRICS section 0 and 1.7.
    """
    out: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0])
    if m.excluded:
        return out
    q, kind = m.queue_id or 0, m.kind or ""

    def add(instant, metric, agent=None, n=0, s=0.0, num=0, den=0):
        day = _day(instant, zone)
        if day is None:
            return
        cell = out[(day, q, kind, agent or 0, metric)]
        cell[0] += n
        cell[1] += s
        cell[2] += num
        cell[3] += den

    add(m.created_at, "created", m.assignee_id, n=1)
    if m.frt_cal_s is not None:
        add(m.first_reply_at, "frt_cal", m.first_replier_id, n=1, s=m.frt_cal_s)
        add(m.first_reply_at, "frt_bus", m.first_replier_id, n=1, s=m.frt_bus_s)
    if m.first_resolution_cal_s is not None:
        add(m.first_resolved_at, "first_resolution_cal", m.resolver_id, n=1, s=m.first_resolution_cal_s)
        add(m.first_resolved_at, "first_resolution_bus", m.resolver_id, n=1, s=m.first_resolution_bus_s)
        add(m.first_resolved_at, "reopen", m.resolver_id, n=1, s=m.reopens, num=int(m.reopens > 0), den=1)
        add(m.first_resolved_at, "substantive_reopen", m.resolver_id, num=int(m.substantive_reopens > 0), den=1)
    if m.last_resolved_at is not None:
        add(m.last_resolved_at, "resolved", m.resolver_id, n=1)
        for name in DURATION_METRICS_LAST_RESOLVED:
            for suffix in ("cal", "bus"):
                value = getattr(m, f"{name}_{suffix}_s")
                if value is not None:
                    add(m.last_resolved_at, f"{name}_{suffix}", m.resolver_id, n=1, s=value)
        if m.handle_s is not None:
            add(m.last_resolved_at, "handle", m.resolver_id, n=1, s=m.handle_s)
            for agent, secs in (m.data.get("handle_by_agent_s") or {}).items():
                add(m.last_resolved_at, "handle_agent", int(agent), n=1, s=secs)
        add(m.last_resolved_at, "fcr", m.resolver_id, num=int(m.fcr), den=int(m.fcr_eligible), n=int(m.zero_touch))
    if m.csat_at is not None:
        add(m.csat_at, "csat", m.csat_agent_id, num=int(bool(m.csat_satisfied)), den=1)
        if m.csat_score is not None:
            add(m.csat_at, "csat_score", m.csat_agent_id, n=1, s=m.csat_score)
    if m.csat_offered_at is not None:
        add(m.csat_offered_at, "csat_offered", m.resolver_id, n=1, num=int(m.csat_at is not None))
    for target in ("first_reply", "resolution"):
        outcome = getattr(m, f"sla_{target}_outcome")
        if outcome in ("achieved", "breached"):
            add(
                getattr(m, f"sla_{target}_outcome_at"),
                f"sla_{target}",
                m.assignee_id,
                num=int(outcome == "breached"),
                den=1,
            )
    return out


def _rollup_apply(delta: dict[tuple, list[float]]) -> None:
    rows = [
        (day, q, kind, agent, metric, int(v[0]), float(v[1]), int(v[2]), int(v[3]))
        for (day, q, kind, agent, metric), v in sorted(delta.items())
        if any(v)
    ]
    if not rows:
        return
    if connection.vendor != "postgresql":
        # The embedded default (SQLite): the same upsert, row by row.
        with connection.cursor() as cur:
            cur.executemany(
                "INSERT INTO metrics_metricsdaily"
                " (day, queue_id, kind, agent_id, metric, n, sum_s, numerator, denominator)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (day, queue_id, kind, agent_id, metric) DO UPDATE SET"
                " n = n + excluded.n, sum_s = sum_s + excluded.sum_s,"
                " numerator = numerator + excluded.numerator, denominator = denominator + excluded.denominator",
                rows,
            )
        return
    from psycopg2.extras import execute_values

    with connection.cursor() as cur:
        execute_values(
            cur.cursor if hasattr(cur, "cursor") else cur,
            """
            INSERT INTO metrics_metricsdaily (day, queue_id, kind, agent_id, metric, n, sum_s, numerator, denominator)
            VALUES %s
            ON CONFLICT (day, queue_id, kind, agent_id, metric) DO UPDATE SET
              n = metrics_metricsdaily.n + EXCLUDED.n,
              sum_s = metrics_metricsdaily.sum_s + EXCLUDED.sum_s,
              numerator = metrics_metricsdaily.numerator + EXCLUDED.numerator,
              denominator = metrics_metricsdaily.denominator + EXCLUDED.denominator
            """,
            rows,
            page_size=1000,
        )


def tickets_recompute(
    *, ticket_ids: Sequence[int], as_of: datetime | None = None, context: Context | None = None
) -> int:
    """Recompute and store the metrics of `ticket_ids` (call inside a transaction).

    Serialised per ticket by a transaction-level advisory lock, so two
    workers never retract the same old row twice. Idempotent.
    """
    ids = sorted(set(ticket_ids))
    if not ids:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(1296389185, (t %% 2147483647)::int) FROM unnest(%s) AS t", [ids])
    ctx = context or metrics_context(as_of=as_of)
    zone = reporting_zone()
    old = {m.ticket_id: m for m in TicketMetrics.objects.filter(ticket_id__in=ids)}
    events = events_by_ticket(ids)
    new_rows: list[TicketMetrics] = []
    handles: list[TicketAgentHandle] = []
    intervals: list[TicketStatusInterval] = []
    delta: dict[tuple, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0])
    for tid in ids:
        if tid in old:
            for key, v in contributions(old[tid], zone).items():
                cell = delta[key]
                for i in range(4):
                    cell[i] -= v[i]
        evs = events.get(tid)
        if not evs or not any(e.kind == "ticket.created" for e in evs):
            continue  # no events (deleted row, or not yet committed): drop metrics
        row = compute(evs, ctx)
        m = metrics_row_build(tid, row)
        new_rows.append(m)
        for key, v in contributions(m, zone).items():
            cell = delta[key]
            for i in range(4):
                cell[i] += v[i]
        for agent, secs in (row.get("handle_by_agent_s") or {}).items():
            sessions = [[s, e] for s, e in row["work_sessions"].get(agent, [])]
            handles.append(TicketAgentHandle(ticket_id=tid, agent_id=agent, handle_s=secs, sessions=sessions))
        intervals.extend(
            TicketStatusInterval(ticket_id=tid, status=st, started_at=s, ended_at=e)
            for s, e, st in row["status_intervals"]
        )
    kept = {m.ticket_id for m in new_rows}
    gone = [tid for tid in old if tid not in kept]
    if gone:
        TicketMetrics.objects.filter(ticket_id__in=gone).delete()
    if new_rows:
        TicketMetrics.objects.bulk_create(
            new_rows,
            update_conflicts=True,
            unique_fields=["ticket_id"],
            update_fields=[f.name for f in TicketMetrics._meta.concrete_fields if f.name != "ticket_id"],
            batch_size=1000,
        )
    TicketAgentHandle.objects.filter(ticket_id__in=ids).delete()
    TicketAgentHandle.objects.bulk_create(handles, batch_size=2000)
    TicketStatusInterval.objects.filter(ticket_id__in=ids).delete()
    TicketStatusInterval.objects.bulk_create(intervals, batch_size=5000)
    _rollup_apply(delta)
    return len(ids)


def metrics_dirty_claim_and_recompute(*, batch: int = CLAIM_BATCH) -> int:
    """Claim up to `batch` dirty tickets (SKIP LOCKED), recompute them, commit.

    Returns how many were claimed (0 = nothing left for this worker).
    """
    with transaction.atomic():
        if connection.vendor != "postgresql":
            # SQLite has one writer at a time: no SKIP LOCKED needed.
            ids = list(MetricsDirty.objects.order_by("ticket_id").values_list("ticket_id", flat=True)[:batch])
            MetricsDirty.objects.filter(ticket_id__in=ids).delete()
            if ids:
                tickets_recompute(ticket_ids=ids)
            return len(ids)
        with connection.cursor() as cur:
            cur.execute(
                """
                DELETE FROM metrics_metricsdirty WHERE ticket_id IN (
                  SELECT ticket_id FROM metrics_metricsdirty ORDER BY ticket_id LIMIT %s FOR UPDATE SKIP LOCKED
                ) RETURNING ticket_id
                """,
                [batch],
            )
            ids = [r[0] for r in cur.fetchall()]
        if ids:
            tickets_recompute(ticket_ids=ids)
    return len(ids)


def metrics_sla_due_mark_dirty(*, now: datetime | None = None) -> int:
    """Time-driven changes: tickets whose next SLA breach instant has passed."""
    now = now or timezone.now()
    with transaction.atomic():
        due = TicketMetrics.objects.filter(sla_next_breach_at__lte=now, excluded=False)
        ids = list(due.values_list("ticket_id", flat=True)[:10000])
        MetricsDirty.objects.bulk_create([MetricsDirty(ticket_id=t) for t in ids], ignore_conflicts=True)
    return len(ids)


def metrics_mark_range_dirty(*, lo: int, hi: int, since: datetime | None = None) -> int:
    """Mark tickets with lo <= id < hi dirty (the rebuild's unit of work)."""
    sql = (
        "INSERT INTO metrics_metricsdirty (ticket_id, marked_at)"
        " SELECT id, CURRENT_TIMESTAMP FROM tickets_ticket WHERE id >= %s AND id < %s"
    )
    params: list[Any] = [lo, hi]
    if since is not None:
        sql += " AND updated_at >= %s"
        params.append(since)
    sql += " ON CONFLICT DO NOTHING"
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def metrics_reset() -> None:
    """Empty every derived table (before a from-scratch rebuild)."""
    tables = (
        "metrics_ticketmetrics",
        "metrics_metricsdaily",
        "metrics_ticketagenthandle",
        "metrics_ticketstatusinterval",
    )
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("TRUNCATE " + ", ".join(tables))
        else:
            for table in tables:
                cur.execute("DELETE FROM " + table)  # noqa: S608 - fixed table names
