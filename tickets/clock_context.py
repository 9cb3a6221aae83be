"""The event-clock engine's inputs read from the database: calendars and SLA
policies per queue (cached until a row changes) and tickets' events in log
order. Used by the SLA (tickets.sla_services) and the metrics engine."""

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from helpdesk.lib.business_hours import ALWAYS_OPEN, BusinessCalendar
from tickets.clock import Context, Ev

logger = logging.getLogger(__name__)

_context_cache: dict[str, Any] = {"key": None}


def clock_context(*, as_of: datetime | None = None) -> Context:
    """Calendars and SLA policies per queue (cached until a row changes)."""
    key = _context_key()
    if _context_cache["key"] != key:
        _context_cache.update(key=key, **_context_build())
    return Context(
        as_of=as_of or timezone.now(),
        calendars=_context_cache["calendars"],
        sla_policies=_context_cache["policies"],
        unusable=_context_cache["unusable"],
    )


def _context_key() -> tuple[Any, ...]:
    """What the cached context is built from: changes whenever a queue, its
    calendar or policy assignment, a calendar (a version write also saves its
    calendar row; the version count and newest id catch versions written
    alone), a policy or a calendar assignment changes, or one is added or
    deleted. One statement on PostgreSQL: the key is read on every use (the
    ticket page's SLA problem check, every SLA refresh), and five ORM
    statements cost ~2 ms of compiling and round trips (bench/TICKET_PAGE.md,
    "Fourth round")."""
    from django.db import connection
    from django.db.models import Count, Max

    from tickets.models import Calendar, CalendarVersion, Queue, QueueCalendarChange, SLAPolicy

    if connection.vendor != "postgresql":
        return (
            Queue.objects.count(),
            tuple(Calendar.objects.aggregate(m=Max("updated_at"), n=Count("pk")).values()),
            tuple(CalendarVersion.objects.aggregate(n=Count("pk"), x=Max("pk")).values()),
            tuple(SLAPolicy.objects.aggregate(m=Max("updated_at"), n=Count("pk")).values()),
            tuple(Queue.objects.order_by("pk").values_list("pk", "calendar_id", "sla_policy_id")),
            tuple(QueueCalendarChange.objects.aggregate(n=Count("pk"), x=Max("pk")).values()),
        )
    qn = connection.ops.quote_name
    queue, calendar, version, policy, change = (
        qn(m._meta.db_table) for m in (Queue, Calendar, CalendarVersion, SLAPolicy, QueueCalendarChange)
    )
    # Table names from the models; no values. concat() writes NULL as '', so
    # "1:2:" (calendar 2, no policy) and "1::2" (policy 2) differ.
    sql = (
        "SELECT"  # noqa: S608
        f" (SELECT string_agg(concat(id, ':', calendar_id, ':', sla_policy_id), ',' ORDER BY id) FROM {queue}),"
        f" (SELECT max(updated_at) FROM {calendar}), (SELECT count(*) FROM {calendar}),"
        f" (SELECT count(*) FROM {version}), (SELECT max(id) FROM {version}),"
        f" (SELECT max(updated_at) FROM {policy}), (SELECT count(*) FROM {policy}),"
        f" (SELECT count(*) FROM {change}), (SELECT max(id) FROM {change})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


def _context_build() -> dict[str, Any]:
    """Calendars and policies per queue. A queue's calendar is composed over
    time from its calendar assignments (docs/metrics.md#calendar-assignments),
    each calendar with its versions. A row that cannot be used (stored
    before validation existed, edited in the database, a time zone the system
    lost) never raises here: its queue's SLA becomes not computable and its
    business time falls back to 24/7, and `config_health` tells managers."""
    from tickets.calendar_versions import calendar_versions_by_id, queue_calendar_compose
    from tickets.config import config_health_of
    from tickets.models import Calendar, Queue

    calendars: dict[int, BusinessCalendar] = {}
    policies: dict[int, Any] = {}
    unusable: dict[int, str] = {}
    queues = list(Queue.objects.select_related("sla_policy"))
    histories = _queue_histories(queues)
    calendar_ids = {cid for history in histories.values() for _, cid in history if cid is not None}
    rows = {c.pk: c for c in Calendar.objects.filter(pk__in=calendar_ids)}
    versions = calendar_versions_by_id(calendar_ids)  # one query for all
    loaded = {pk: _calendar_load(row, versions.get(pk, [])) for pk, row in rows.items()}
    usable = {pk: cal for pk, cal in loaded.items() if not isinstance(cal, str)}
    composed: dict[tuple[Any, ...], BusinessCalendar] = {}  # queues with the same history share one object
    for q in queues:
        history = histories[q.pk]
        calendars[q.pk] = ALWAYS_OPEN
        problems = [f"calendar '{rows[cid].name}': {loaded[cid]}" for cid in _ids(history) if cid not in usable]
        if problems:
            unusable[q.pk] = "; ".join(problems)
        else:
            key = tuple(history)
            if key not in composed:
                composed[key] = queue_calendar_compose(history, usable, name=q.name)
            calendars[q.pk] = composed[key]
            if composed[key].closes_for_good():  # e.g. a version stored before this was refused
                name = rows[history[-1][1]].name if history[-1][1] is not None else q.name
                unusable[q.pk] = f"calendar '{name}': no open hours on any weekday (business-hours targets unreachable)"
        if q.sla_policy_id:
            problem = config_health_of(q.sla_policy)
            if problem:
                unusable.setdefault(q.pk, f"SLA policy '{q.sla_policy.name}': {problem}")
            policy = {"pause_statuses": q.sla_policy.pause_statuses, "targets": q.sla_policy.targets}
            policies[q.pk] = None if q.pk in unusable else policy
    return {"calendars": calendars, "policies": policies, "unusable": unusable}


def _ids(history: list[Any]) -> list[int]:
    """The distinct calendar ids of a history, latest first (the current one's problem first)."""
    return list(dict.fromkeys(cid for _, cid in reversed(history) if cid is not None))


def _queue_histories(queues: list[Any]) -> dict[int, list[Any]]:
    """queue id -> its calendar assignments. A queue with none uses its
    calendar since the beginning; one whose calendar was changed without
    going through `queue_calendar_record` (a raw update) gets that change
    recorded now, the first instant it is seen: the past stays as computed."""
    from django.db import DatabaseError, transaction

    from tickets.calendar_versions import queue_calendar_histories, queue_calendar_record

    histories = queue_calendar_histories(q.pk for q in queues)
    for q in queues:
        history = histories.get(q.pk)
        if not history:
            histories[q.pk] = [(None, q.calendar_id)]
        elif history[-1][1] != q.calendar_id:
            logger.warning("queue %s changed calendar outside the services: recorded from now", q.pk)
            try:
                with transaction.atomic():
                    queue_calendar_record(queue_id=q.pk, before=history[-1][1], after=q.calendar_id)
            except DatabaseError:  # a read-only connection: composed the same way, recorded next time
                pass
            histories[q.pk] = [*history, (timezone.now(), q.calendar_id)]
    return histories


def _calendar_load(row: Any, versions: list[Any]) -> BusinessCalendar | str:
    """The calendar with its versions over time (docs/metrics.md#calendar-versions),
    or why it cannot be used."""
    from tickets.calendar_versions import business_calendar_of
    from tickets.config import config_health_of

    problem = config_health_of(row)
    if problem:
        return problem
    try:
        return business_calendar_of(row, versions)
    except Exception as exc:  # any malformed value: reported, never raised
        logger.warning("calendar %s is unusable: %s", row.pk, exc)
        return str(exc) or exc.__class__.__name__


def clock_events_by_ticket(ticket_ids: Iterable[int]) -> dict[int, list[Ev]]:
    from tickets.selectors import ticket_events_for_metrics

    out: dict[int, list[Ev]] = defaultdict(list)
    for tid, eid, kind, at, actor_id, role, vis, auto, data in ticket_events_for_metrics(ticket_ids=list(ticket_ids)):
        out[tid].append(Ev(eid, kind, at, actor_id, role, vis, auto, data or {}))
    return out
