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
    from django.db.models import Count, Max

    from tickets.models import Calendar, Queue, SLAPolicy

    key = (
        Queue.objects.count(),
        # A version write also saves its calendar row; the count catches versions written alone.
        tuple(Calendar.objects.aggregate(m=Max("updated_at"), v=Count("versions"), x=Max("versions__pk")).values()),
        SLAPolicy.objects.aggregate(m=Max("updated_at"))["m"],
        tuple(Queue.objects.order_by("pk").values_list("pk", "calendar_id", "sla_policy_id")),
    )
    if _context_cache["key"] != key:
        _context_cache.update(key=key, **_context_build())
    return Context(
        as_of=as_of or timezone.now(),
        calendars=_context_cache["calendars"],
        sla_policies=_context_cache["policies"],
        unusable=_context_cache["unusable"],
    )


def _context_build() -> dict[str, Any]:
    """Calendars and policies per queue. A row that cannot be used (stored
    before validation existed, edited in the database, a time zone the system
    lost) never raises here: its queue's SLA becomes not computable and its
    business time falls back to 24/7, and `config_health` tells managers."""
    from tickets.calendar_versions import calendar_versions_by_id
    from tickets.config import config_health_of
    from tickets.models import Queue

    calendars: dict[int, BusinessCalendar] = {}
    by_calendar: dict[int, BusinessCalendar | str] = {}
    policies: dict[int, Any] = {}
    unusable: dict[int, str] = {}
    queues = list(Queue.objects.select_related("calendar", "sla_policy"))
    versions = calendar_versions_by_id({q.calendar_id for q in queues if q.calendar_id})  # one query for all
    for q in queues:
        calendars[q.pk] = ALWAYS_OPEN
        if q.calendar_id:
            if q.calendar_id not in by_calendar:
                by_calendar[q.calendar_id] = _calendar_load(q.calendar, versions.get(q.calendar_id, []))
            loaded = by_calendar[q.calendar_id]
            if isinstance(loaded, str):
                unusable[q.pk] = f"calendar '{q.calendar.name}': {loaded}"
            else:
                calendars[q.pk] = loaded
        if q.sla_policy_id:
            problem = config_health_of(q.sla_policy)
            if problem:
                unusable.setdefault(q.pk, f"SLA policy '{q.sla_policy.name}': {problem}")
            policy = {"pause_statuses": q.sla_policy.pause_statuses, "targets": q.sla_policy.targets}
            policies[q.pk] = None if q.pk in unusable else policy
    return {"calendars": calendars, "policies": policies, "unusable": unusable}


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
