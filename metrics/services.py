"""Writes of the metrics app: the dirty outbox, recomputation, rollups.

Write path (docs/metrics.md §4.2): every event transaction calls tickets_mark_dirty
(a row in MetricsDirty, same transaction) and registers one wake-up task on
commit. Workers claim dirty tickets in batches with FOR UPDATE SKIP LOCKED,
recompute them with the pure `metrics.compute.compute`, upsert
TicketMetrics / TicketAgentHandle / TicketStatusInterval / TicketSegment and
apply the difference of the ticket's dashboard cells (`metrics.rollup`,
retract-and-apply), all in one transaction: a crash rolls the claim back.
"""

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from metrics import ces_days, rollup, survey_facts
from metrics.compute import compute
from metrics.models import (
    MetricsDirty,
    SurveyFact,
    TicketAgentHandle,
    TicketMetrics,
    TicketNextReply,
    TicketSegment,
    TicketStatusInterval,
)
from metrics.present import DATA_DEFAULTS, SEGMENT_DATA_DEFAULTS, csat_value_of
from metrics.segments import SEGMENT_COLUMNS
from tickets.clock import Context, Ev
from tickets.clock_context import clock_context, clock_events_by_ticket

logger = logging.getLogger(__name__)

CLAIM_BATCH = 500


# --- write path -------------------------------------------------------------


def tickets_mark_dirty(*, ticket_ids: Sequence[int]) -> None:
    """Mark tickets for recomputation, in the caller's transaction.

    Idempotent. An existing row is updated, not skipped (ON CONFLICT DO
    UPDATE): the update locks it until the caller commits, so a claimer
    (FOR UPDATE SKIP LOCKED) cannot delete it and compute without this
    transaction's events (docs/metrics-dirty-protocol.md). One wake-up task
    per transaction is enqueued on commit; it never raises (a broker outage
    is logged and the periodic sweeper `metrics.sweep` picks the rows up).
    """
    if not ticket_ids:
        return
    _dirty_upsert(sorted(set(ticket_ids)))
    _wake_on_commit()


def tickets_mark_dirty_subscriber(ticket_ids: Sequence[int]) -> None:
    """tickets.subscribers TICKETS_CHANGED handler (metrics.apps)."""
    tickets_mark_dirty(ticket_ids=ticket_ids)


def _dirty_upsert(ticket_ids: Sequence[int]) -> None:
    # Sorted ids: concurrent callers lock rows in one order (no deadlock).
    MetricsDirty.objects.bulk_create(
        [MetricsDirty(ticket_id=pk) for pk in ticket_ids],
        update_conflicts=True,
        unique_fields=["ticket_id"],
        update_fields=["marked_at"],
        batch_size=5000,
    )


def _wake_on_commit() -> None:
    try:
        conn = transaction.get_connection()
        if conn.in_atomic_block and any(entry[1] is _wake for entry in conn.run_on_commit):
            return  # one wake-up per transaction is enough
        transaction.on_commit(_wake)
    except Exception:  # never break the event-writing transaction
        logger.warning("metrics wake-up could not be registered", exc_info=True)


def _wake() -> None:
    # Coalesced across writers: one pending wake-up drains every mark
    # (helpdesk.lib.tasks.enqueue_coalesced); never raises.
    from helpdesk.lib.tasks import enqueue_coalesced
    from metrics.tasks import recompute_dirty

    enqueue_coalesced(recompute_dirty)


# --- context ------------------------------------------------------------------


def reporting_zone() -> ZoneInfo:
    """The reporting time zone: `helpdesk_config` setting, else settings, else UTC."""
    from tickets.models import HelpdeskSetting

    row = HelpdeskSetting.objects.filter(key="reporting.timezone").values_list("value", flat=True).first()
    name = row if isinstance(row, str) and row else getattr(settings, "HELPDESK_REPORTING_TIMEZONE", "UTC")
    return ZoneInfo(name)


# The clock's context (calendars and SLA policies per queue) and a ticket's
# events are built by tickets (SLA uses them too): re-exported here.
metrics_context = clock_context
events_by_ticket = clock_events_by_ticket


# --- rows ---------------------------------------------------------------------

_MODEL_FIELDS = [
    f.name
    for f in TicketMetrics._meta.concrete_fields
    if f.name not in ("ticket_id", "data", "computed_at", "csat_score", "csat_value")
]


_JSON_SCALARS = (float, int, str, bool, type(None))


def _jsonable(value: Any) -> Any:
    if type(value) in _JSON_SCALARS:
        return value  # fast path: most values are numbers or None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def metrics_row_build(ticket_id: int, row: dict[str, Any]) -> TicketMetrics:
    """A TicketMetrics instance (unsaved) from a compute() row."""
    values = _metrics_values(row)
    return TicketMetrics(ticket_id=ticket_id, computed_at=timezone.now(), **values)


def _metrics_values(row: dict[str, Any]) -> dict[str, Any]:
    """TicketMetrics field values (all but ticket_id and computed_at) of a compute() row."""
    values = dict(zip(_MODEL_FIELDS, map(row.get, _MODEL_FIELDS), strict=True))  # no Python frame a field
    values["status"] = row["status_at_as_of"]
    for name in ("excluded_reason", "kind", "priority", "channel", "sla_first_reply_outcome", "sla_resolution_outcome"):
        values[name] = values.get(name) or ""
    csat_value = row.get("csat_value")
    values["csat_value"] = csat_text = "" if csat_value is None else str(csat_value)
    values["csat_score"] = csat_value if isinstance(csat_value, int) and row.get("csat_scale") != "good_bad" else None
    data = _data(row, DATA_DEFAULTS)
    if csat_value != csat_value_of(csat_text, values["csat_score"]):
        data["csat_value"] = _jsonable(csat_value)  # a value the columns cannot spell (rare)
    values["data"] = data
    return values


def _data(row: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The `data` JSON of a row: only the `defaults` keys (values no column holds), and of those only
    the ones that differ from their default (the reader, `present.stored_row`, puts them back)."""
    return {name: _jsonable(row[name]) for name, empty in defaults.items() if row.get(name, empty) != empty}


def segment_values(seg: dict[str, Any]) -> dict[str, Any]:
    """TicketSegment field values (all but ticket_id) of one compute() segment
    (docs/metrics.md#18-queue-and-kind-attribution-across-escalations)."""
    values = {name: seg[name] for name in SEGMENT_COLUMNS}
    values["data"] = _data(seg, SEGMENT_DATA_DEFAULTS)
    return values


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
    old = {m.ticket_id: m for m in TicketMetrics.objects.filter(ticket_id__in=ids)}
    old_intervals: dict[int, list[TicketStatusInterval]] = defaultdict(list)
    for i in TicketStatusInterval.objects.filter(ticket_id__in=list(old), status__in=rollup.UNSOLVED):
        old_intervals[i.ticket_id].append(i)
    old_segments: dict[int, list[TicketSegment]] = defaultdict(list)
    for seg in TicketSegment.objects.filter(ticket_id__in=list(old)).order_by("ticket_id", "idx"):
        old_segments[seg.ticket_id].append(seg)
    old_replies: dict[int, list[TicketNextReply]] = defaultdict(list)
    for r in TicketNextReply.objects.filter(ticket_id__in=list(old)):
        old_replies[r.ticket_id].append(r)
    acc = _Recompute(cells_zone=rollup.cells_zone())
    events = events_by_ticket(ids)
    for tid in ids:
        if tid in old:
            rollup.base(
                old[tid],
                old_intervals.get(tid, []),
                acc.cells_zone,
                acc.dash,
                sign=-1,
                segments=old_segments[tid],
                next_replies=old_replies[tid],
            )
        evs = events.get(tid)
        if not evs or not any(e.kind == "ticket.created" for e in evs):
            continue  # no events (deleted row, or not yet committed): drop metrics
        acc.add(tid, compute(evs, ctx))
        acc.survey_facts.extend(survey_facts.survey_facts_of(tid, evs))
    _recompute_store(ids, old, acc)
    return len(ids)


@dataclass
class _Recompute:
    """The rows and rollup deltas of one recompute batch."""

    cells_zone: Any
    new_rows: list[TicketMetrics] = field(default_factory=list)
    handles: list[TicketAgentHandle] = field(default_factory=list)
    intervals: list[TicketStatusInterval] = field(default_factory=list)
    segments: list[TicketSegment] = field(default_factory=list)
    next_replies: list[TicketNextReply] = field(default_factory=list)
    survey_facts: list[SurveyFact] = field(default_factory=list)
    dash: rollup.Delta = field(default_factory=lambda: defaultdict(lambda: [0, 0.0, 0, 0]))

    def add(self, tid: int, row: dict[str, Any]) -> None:
        m = metrics_row_build(tid, row)
        self.new_rows.append(m)
        for agent, secs in (row.get("handle_by_agent_s") or {}).items():
            sessions = [[s, e] for s, e in row["work_sessions"].get(agent, [])]
            self.handles.append(TicketAgentHandle(ticket_id=tid, agent_id=agent, handle_s=secs, sessions=sessions))
        ticket_intervals = [
            TicketStatusInterval(ticket_id=tid, status=st, started_at=s, ended_at=e)
            for s, e, st in row["status_intervals"]
        ]
        self.intervals.extend(ticket_intervals)
        segments = [TicketSegment(ticket_id=tid, **segment_values(seg)) for seg in row["segments"]]
        self.segments.extend(segments)
        replies = next_reply_rows(tid, m, row)
        self.next_replies.extend(replies)
        rollup.base(m, ticket_intervals, self.cells_zone, self.dash, segments=segments, next_replies=replies)


def _next_reply_runs(row: dict[str, Any]) -> Iterator[tuple[Any, Any, Any, Any]]:
    """(answered at, calendar s, business s, agent id) of each answered next-reply run."""
    return zip(
        row.get("next_reply_at") or [],
        row.get("next_reply_cal_s") or [],
        row.get("next_reply_bus_s") or [],
        row.get("next_reply_agent_id") or [],
        strict=True,
    )


def next_reply_rows(tid: int, m: TicketMetrics, row: dict[str, Any]) -> list[TicketNextReply]:
    """The answered next-reply runs of one ticket (docs/metrics.md#next-reply-time-aggregates), with
    the ticket's filter columns."""
    runs = _next_reply_runs(row)
    return [
        TicketNextReply(
            ticket_id=tid,
            replied_at=at,
            next_reply_cal_s=cal,
            next_reply_bus_s=bus,
            agent_id=agent,
            excluded=m.excluded,
            queue_id=m.queue_id,
            kind=m.kind,
            priority=m.priority,
            channel=m.channel,
        )
        for at, cal, bus, agent in runs
    ]


def _delete_rows_of(model: type[Model], ids: list[int]) -> None:
    """`model.objects.filter(ticket_id__in=ids).delete()` written out: the
    derived tables have no dependants and no signals, so the ORM's delete
    was already one DELETE, but compiling it (and its collector) five times
    a recompute was a fixed cost of every write's recompute
    (docs/delivery.md, "Delivery written out")."""
    table = connection.ops.quote_name(model._meta.db_table)
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        with connection.cursor() as cur:
            cur.execute(
                f"DELETE FROM {table} WHERE ticket_id IN ({', '.join(['%s'] * len(chunk))})",  # noqa: S608
                chunk,
            )


def _recompute_store(ids: list[int], old: dict[int, TicketMetrics], acc: _Recompute) -> None:
    kept = {m.ticket_id for m in acc.new_rows}
    gone = [tid for tid in old if tid not in kept]
    if gone:
        TicketMetrics.objects.filter(ticket_id__in=gone).delete()
    if acc.new_rows:
        TicketMetrics.objects.bulk_create(
            acc.new_rows,
            update_conflicts=True,
            unique_fields=["ticket_id"],
            update_fields=[f.name for f in TicketMetrics._meta.concrete_fields if f.name != "ticket_id"],
            batch_size=1000,
        )
    _delete_rows_of(TicketAgentHandle, ids)
    TicketAgentHandle.objects.bulk_create(acc.handles, batch_size=2000)
    _delete_rows_of(TicketStatusInterval, ids)
    TicketStatusInterval.objects.bulk_create(acc.intervals, batch_size=5000)
    _delete_rows_of(TicketSegment, ids)
    TicketSegment.objects.bulk_create(acc.segments, batch_size=2000)
    _delete_rows_of(TicketNextReply, ids)
    TicketNextReply.objects.bulk_create(acc.next_replies, batch_size=5000)
    ces = ces_days.ces_days_delta(ces_days.ces_facts_load(ids), acc.survey_facts, acc.cells_zone)
    _delete_rows_of(SurveyFact, ids)
    SurveyFact.objects.bulk_create(acc.survey_facts, batch_size=2000)
    rollup.apply_days(acc.dash)  # the base delta is zero where nothing changed; weeks / months: rollup.fold
    ces_days.ces_days_apply(ces)  # after the rollup cells: a rebuild holds their lock (docs/surveys.md)


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
        # DO NOTHING is enough here (no event to lose: a claim that deletes
        # an existing row computes at a later `now`) and takes no row locks,
        # so this batch never waits in a cycle with an event transaction.
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
        return int(cur.rowcount)


def metrics_reset() -> None:
    """Empty every derived table (before a from-scratch rebuild)."""
    tables = (
        "metrics_ticketmetrics",
        "metrics_ticketagenthandle",
        "metrics_ticketstatusinterval",
        "metrics_ticketsegment",
        "metrics_ticketnextreply",
        "metrics_surveyfact",
        "metrics_dashboardrollup",
        "metrics_dashboardrollupstale",
        "metrics_cesday",
    )
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("TRUNCATE " + ", ".join(tables))
        else:
            for table in tables:
                cur.execute("DELETE FROM " + table)  # noqa: S608 - fixed table names


# --- bulk rebuild (PostgreSQL) -------------------------------------------------
#
# A full rebuild does not need retract-and-apply: per id range it reads the
# events with one ordered range scan (raw tuples, no model instances), runs
# the same compute(), replaces the range's rows with COPY, and afterwards
# the dashboard cells are rebuilt set-based from the per-ticket rows by
# metrics_rollups_rebuild(). Per batch, the
# ids are locked with the same advisory locks as tickets_recompute, so a live
# worker recomputing one of them waits and then overwrites with fresher data.

REBUILD_BATCH = 1000

try:  # orjson is ~5x faster for the event payloads; json is the fallback
    import orjson

    _json_loads = orjson.loads

    def _json_dumps(value: Any) -> str:
        return orjson.dumps(value).decode()

except ImportError:  # pragma: no cover
    import json

    _json_loads = json.loads  # type: ignore[assignment]
    _json_dumps = json.dumps  # type: ignore[assignment]

_TM_NAMES = [f.name for f in TicketMetrics._meta.concrete_fields]
_TM_COLUMNS = ", ".join(str(f.column) for f in TicketMetrics._meta.concrete_fields)
_SEG_NAMES = ["ticket_id", *SEGMENT_COLUMNS, "data"]
_SEG_COLUMNS = ", ".join(_SEG_NAMES)
_EVENTS_SQL = (
    "SELECT ticket_id, id, kind, occurred_at, actor_id, actor_role, visibility, is_automated, data::text"
    " FROM tickets_ticketevent WHERE ticket_id >= %s AND ticket_id < %s ORDER BY ticket_id, occurred_at, id"
)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: Any) -> str:
    """One value in PostgreSQL COPY text format."""
    if value is None:
        return "\\N"
    kind = type(value)
    text: str
    if kind is str:
        text = value
    elif kind is bool:
        return "t" if value else "f"
    elif kind is float or kind is int:
        return repr(value)
    elif kind is datetime:
        return str(value.isoformat())
    elif kind is dict or kind is list:
        text = _json_dumps(value)
    else:
        text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:  # (a generator here cost 5 % of the rebuild)
        return text.translate(_COPY_ESCAPES)
    return text


_NULL = "\\N"
# Per-type COPY encoders that need no escaping (C-level callables: no Python frame per value).
_PLAIN_ENCODERS: dict[type, Any] = {
    int: int.__repr__,
    float: float.__repr__,
    bool: {True: "t", False: "f"}.__getitem__,
    datetime: datetime.isoformat,
}


def _copy_line(values: Sequence[Any]) -> str:
    """One COPY text line; the same text as joining `_copy_field` of each value, with the
    common types (None, numbers, instants) encoded without a Python call each."""
    get = _PLAIN_ENCODERS.get
    return "\t".join([_NULL if v is None else (get(type(v)) or _copy_field)(v) for v in values]) + "\n"


def _copy_rows(cur: Any, table: str, columns: str, lines: list[str]) -> None:
    import io

    if lines:
        cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.StringIO("".join(lines)))


_PER_TICKET_TABLES = (
    "metrics_ticketmetrics",
    "metrics_ticketagenthandle",
    "metrics_ticketstatusinterval",
    "metrics_ticketsegment",
    "metrics_ticketnextreply",
    "metrics_surveyfact",
)
_NR_FIELDS = [f for f in TicketNextReply._meta.concrete_fields if f.name != "id"]
_NR_NAMES = [f.name for f in _NR_FIELDS]
_NR_COLUMNS = ", ".join(str(f.column) for f in _NR_FIELDS)


def _bulk_rebuild_batch(cur: Any, lo: int, hi: int, ctx: Context) -> tuple[int, int]:
    """Recompute and replace the metrics rows of ids in [lo, hi) (in a transaction)."""
    from itertools import groupby
    from operator import itemgetter

    cur.execute(
        "SELECT count(pg_advisory_xact_lock(1296389185, (t %% 2147483647)::int))"
        " FROM generate_series(%s::bigint, %s::bigint - 1) AS t",
        [lo, hi],
    )
    # Before reading the events: an event committed after this statement
    # marks its ticket dirty again (the row lock makes its insert wait).
    cur.execute("DELETE FROM metrics_metricsdirty WHERE ticket_id >= %s AND ticket_id < %s", [lo, hi])
    cur.execute(_EVENTS_SQL, [lo, hi])
    rows = cur.fetchall()
    now = timezone.now()
    loads = _json_loads
    metric_lines: list[str] = []
    handle_lines: list[str] = []
    interval_lines: list[str] = []
    segment_lines: list[str] = []
    reply_lines: list[str] = []
    fact_lines: list[str] = []
    tickets = 0
    for tid, group in groupby(rows, key=itemgetter(0)):
        evs = [
            Ev(eid, kind, at, actor_id, role, vis, auto, loads(data) if data else {})
            for _, eid, kind, at, actor_id, role, vis, auto, data in group
        ]
        if not any(e.kind == "ticket.created" for e in evs):
            continue
        row = compute(evs, ctx)
        values = _metrics_values(row)
        values["ticket_id"] = tid
        tickets += 1
        values["computed_at"] = now
        metric_lines.append(_copy_line(list(map(values.__getitem__, _TM_NAMES))))
        prefix = f"{tid}\t"
        for agent, secs in (row.get("handle_by_agent_s") or {}).items():
            sessions = [[s, e] for s, e in row["work_sessions"].get(agent, [])]
            handle_lines.append(f"{prefix}{agent}\t{_copy_field(float(secs))}\t{_copy_field(sessions)}\n")
        for s, e, st in row["status_intervals"]:
            interval_lines.append(f"{prefix}{_copy_field(st)}\t{_copy_field(s)}\t{_copy_field(e)}\n")
        for seg in row["segments"]:
            seg_values = segment_values(seg)
            segment_lines.append(prefix + _copy_line([seg_values[n] for n in _SEG_NAMES[1:]]))
        reply_lines.extend(_next_reply_lines(tid, values, row))
        fact_lines.extend(_copy_line(values) for values in survey_facts.survey_fact_values(tid, evs))
    for table in _PER_TICKET_TABLES:
        cur.execute(f"DELETE FROM {table} WHERE ticket_id >= %s AND ticket_id < %s", [lo, hi])  # noqa: S608
    _copy_rows(cur, "metrics_ticketmetrics", _TM_COLUMNS, metric_lines)
    _copy_rows(cur, "metrics_ticketagenthandle", "ticket_id, agent_id, handle_s, sessions", handle_lines)
    _copy_rows(cur, "metrics_ticketstatusinterval", "ticket_id, status, started_at, ended_at", interval_lines)
    _copy_rows(cur, "metrics_ticketsegment", _SEG_COLUMNS, segment_lines)
    _copy_rows(cur, "metrics_ticketnextreply", _NR_COLUMNS, reply_lines)
    _copy_rows(cur, "metrics_surveyfact", ", ".join(survey_facts.COPY_COLUMNS), fact_lines)
    return tickets, len(rows)


_NR_TICKET_COLUMNS = ("excluded", "queue_id", "kind", "priority", "channel")


def _next_reply_lines(tid: int, values: dict[str, Any], row: dict[str, Any]) -> list[str]:
    """COPY lines of `next_reply_rows` (the answered next-reply runs of one ticket), built from
    the values directly: a model instance per ticket and run was a tenth of the rebuild's Python."""
    runs = _next_reply_runs(row)
    ticket = {name: values[name] for name in _NR_TICKET_COLUMNS}
    lines = []
    for at, cal, bus, agent in runs:
        rec = {"ticket_id": tid, "replied_at": at, "next_reply_cal_s": cal, "next_reply_bus_s": bus, "agent_id": agent}
        rec.update(ticket)
        lines.append(_copy_line([rec[name] for name in _NR_NAMES]))
    return lines


def metrics_bulk_rebuild_range(
    *, lo: int, hi: int, as_of: datetime | None = None, batch: int = REBUILD_BATCH
) -> tuple[int, int]:
    """Rebuild TicketMetrics / handles / intervals for ids in [lo, hi), PostgreSQL only.

    One transaction per `batch` ids. The dashboard cells are NOT touched: run
    metrics_rollups_rebuild() once every range is done. Returns (tickets, events).
    """
    if connection.vendor != "postgresql":
        raise RuntimeError("the bulk rebuild needs PostgreSQL (COPY); use tickets_recompute")
    ctx = metrics_context(as_of=as_of)
    tickets = events = 0
    for a in range(lo, hi, batch):
        with transaction.atomic(), connection.cursor() as wrapper:
            t, e = _bulk_rebuild_batch(wrapper.cursor, a, min(a + batch, hi), ctx)
        tickets += t
        events += e
    return tickets, events


def metrics_id_bounds() -> tuple[int, int] | None:
    """(min id, max id + 1) of the tickets, or None without tickets."""
    with connection.cursor() as cur:
        cur.execute("SELECT min(id), max(id) FROM tickets_ticket")
        lo, hi = cur.fetchone()
    return None if lo is None else (lo, hi + 1)


def _rebuild_job(args: tuple[int, int, str | None, int]) -> tuple[int, int, float, float]:
    """multiprocessing worker: (tickets, events, own CPU s, its PostgreSQL backend CPU s)."""
    import time as _time

    lo, hi, as_of, batch = args
    cpu0 = _time.process_time()
    pg0 = _backend_cpu()
    at = datetime.fromisoformat(as_of) if as_of else None
    tickets, events = metrics_bulk_rebuild_range(lo=lo, hi=hi, as_of=at, batch=batch)
    return tickets, events, _time.process_time() - cpu0, _backend_cpu() - pg0


def _backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (same host only; else 0)."""
    import os

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def metrics_bulk_rebuild(
    *,
    as_of: datetime | None = None,
    processes: int = 1,
    chunk: int = 20000,
    batch: int = REBUILD_BATCH,
    progress: Any = None,
    reset: bool = False,
) -> dict[str, float]:
    """Full rebuild over every ticket id, in `processes` processes, then the rollups.

    Each process opens its own connection (the parent closes its connections
    before forking). With `reset` (tables just emptied), the secondary indexes
    are dropped during the load and rebuilt once at the end. Returns counts and
    CPU seconds (Python and PostgreSQL backends).
    """
    import time as _time

    bounds = metrics_id_bounds()
    stats = {"tickets": 0, "events": 0, "py_cpu_s": 0.0, "pg_cpu_s": 0.0, "tickets_s": 0.0, "indexes_s": 0.0}
    stats["cells_s"] = stats["rollup_cells"] = 0
    if bounds is None:
        return stats
    as_of = as_of or timezone.now()
    jobs = [(a, min(a + chunk, bounds[1]), as_of.isoformat(), batch) for a in range(bounds[0], bounds[1], chunk)]
    t0 = _time.process_time()
    pg0 = _backend_cpu()
    if reset:
        with connection.cursor() as cur:  # keep index builds in this backend: its CPU is then measured
            cur.execute("SET max_parallel_maintenance_workers = 0")
    dropped = _bulk_indexes_drop() if reset else []
    pg_parent = _backend_cpu() - pg0
    w0 = _time.monotonic()
    try:
        _bulk_run(jobs, processes, stats, progress)
    finally:
        w1 = _time.monotonic()
        pg0 = _backend_cpu()  # a new connection after a fork
        _bulk_indexes_create(dropped)
        if reset:
            with connection.cursor() as cur:
                cur.execute("RESET max_parallel_maintenance_workers")
    w2 = _time.monotonic()
    stats["rollup_cells"] = metrics_rollups_rebuild(workers=processes)
    # wall seconds per phase: where a rebuild waits (bench/METRICS.md)
    stats["tickets_s"], stats["indexes_s"], stats["cells_s"] = w1 - w0, w2 - w1, _time.monotonic() - w2
    stats["py_cpu_s"] += _time.process_time() - t0
    stats["pg_cpu_s"] += pg_parent + _backend_cpu() - pg0
    return stats


def _bulk_run(jobs: list, processes: int, stats: dict[str, float], progress: Any) -> None:
    from django.db import connections

    def add(result: tuple[int, int, float, float]) -> None:
        stats["tickets"] += result[0]
        stats["events"] += result[1]
        stats["py_cpu_s"] += result[2]
        stats["pg_cpu_s"] += result[3]
        if progress:
            progress(stats)

    if processes <= 1:
        for job in jobs:
            add(_rebuild_job(job))
    else:
        import multiprocessing

        connections.close_all()
        with multiprocessing.get_context("fork").Pool(processes, initializer=_child_init) as pool:
            for result in pool.imap_unordered(_rebuild_job, jobs):
                add(result)


# the bulk path's own DELETEs use them
_BULK_KEEP_INDEXES = ("tsi_ticket", "tah_ticket_agent", "tnr_ticket", "sf_ticket")


def _bulk_indexes_drop() -> list[str]:
    """Drop the secondary indexes of the per-ticket tables; return their definitions.

    Building an index once after a reset load is much cheaper than maintaining
    it row by row. The definitions are read from the catalog (not the models),
    so the database ends up exactly as it was, whatever migration state it is in.
    """
    with connection.cursor() as cur:
        cur.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i"
            " WHERE i.schemaname = current_schema()"
            " AND i.tablename IN ('metrics_ticketmetrics', 'metrics_ticketstatusinterval', 'metrics_ticketagenthandle',"
            " 'metrics_ticketsegment', 'metrics_ticketnextreply', 'metrics_surveyfact')"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
            " AND i.indexname <> ALL(%s)",
            [list(_BULK_KEEP_INDEXES)],
        )
        defs = cur.fetchall()
        for name, _definition in defs:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
    return [definition for _name, definition in defs]


def _bulk_indexes_create(definitions: list[str]) -> None:
    with connection.cursor() as cur:
        for definition in definitions:
            cur.execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))


def _child_init() -> None:
    from django.db import connections

    # Never reuse the parent's sockets (they were closed before the fork anyway).
    for conn in connections.all(initialized_only=True):
        conn.connection = None


def metrics_rollups_rebuild(*, workers: int = 1) -> int:
    """Recompute every dashboard cell (`DashboardRollup`) set-based from the per-ticket rows.

    `rollup.rebuild` locks the cell table EXCLUSIVE first, so a concurrent recompute's
    retract-and-apply waits and then applies its delta on top of a state that already
    counts its old row. `workers`: connections for the cells' chunks (`rollup.rebuild`).
    Returns the number of cells.
    """
    with transaction.atomic():
        return rollup.rebuild(workers=workers)
