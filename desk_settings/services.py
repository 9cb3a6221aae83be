"""Writes of the Settings pages. Calendars, SLA policies and queues go
through `tickets.config.config_apply`, the path of the config file and the
API: the same validation, the same SLA refresh of open tickets."""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from tickets.config import DAYS, ConfigReport, config_apply
from tickets.models import Calendar, Queue, QueueCalendarChange, QueueMembership, RequestType, SLAPolicy


def _rename(row: Calendar | SLAPolicy | None, name: str) -> None:
    if row is not None and row.name != name:
        row.name = name
        row.save(update_fields=["name", "updated_at"])


def calendar_versions_rows(calendar: Calendar) -> list[dict[str, Any]]:
    """The calendar's versions, newest first, for its Settings page: when
    each takes effect, a summary of its values, who made it and by which
    path (the configuration audit), and whether it is in force, past or
    scheduled (docs/settings.md#calendars)."""
    from desk_settings.audit import entry_via, latest_entries
    from tickets.calendar_versions import calendar_versions_by_id
    from tickets.models import CalendarVersion

    versions = calendar_versions_by_id([calendar.pk]).get(calendar.pk, [])
    entries = latest_entries(CalendarVersion, [v.pk for v in versions])
    now = timezone.now()
    started = [i for i, v in enumerate(versions) if v.effective_from is None or v.effective_from <= now]
    in_force = max(started, default=0)
    rows = []
    for i, v in enumerate(versions):
        entry = entries.get(str(v.pk))
        hours = v.hours if isinstance(v.hours, dict) else {}
        rows.append(
            {
                "version": v,
                "state": "scheduled" if i > in_force else ("current" if i == in_force else "past"),
                "open_days": sum(1 for d in DAYS if hours.get(d)),
                "weekly_hours": _weekly_hours(hours),
                "holidays": len(v.holidays or []),
                "overrides": len(v.overrides or []),
                "who": (entry.actor_email or (entry.actor.email if entry.actor else "")) if entry else "",
                "via": entry_via(entry) if entry else "",
            }
        )
    return rows[::-1]


def queue_calendar_rows(queue: Queue) -> list[dict[str, Any]]:
    """The queue's calendar assignments, newest first, for its Settings page:
    from when, which calendar (or none: round the clock) and who changed it by
    which path (docs/settings.md#a-queues-calendar-over-time)."""
    from desk_settings.audit import entry_via, latest_entries

    changes = list(QueueCalendarChange.objects.filter(queue=queue).order_by("pk"))
    changes.sort(key=lambda c: c.effective_from.timestamp() if c.effective_from else float("-inf"))
    names = dict(Calendar.objects.filter(pk__in={c.calendar_id for c in changes}).values_list("pk", "name"))
    entries = latest_entries(QueueCalendarChange, [c.pk for c in changes])
    rows = []
    for i, c in enumerate(changes):
        entry = entries.get(str(c.pk))
        rows.append(
            {
                "effective_from": c.effective_from,
                "calendar": names.get(c.calendar_id, "") if c.calendar_id else "",
                "current": i == len(changes) - 1,
                "who": (entry.actor_email or (entry.actor.email if entry.actor else "")) if entry else "",
                "via": entry_via(entry) if entry else "",
            }
        )
    return rows[::-1]


def _weekly_hours(hours: dict[str, Any]) -> float:
    total = 0
    for intervals in hours.values():
        for iv in intervals if isinstance(intervals, list) else []:
            try:
                (h1, m1), (h2, m2) = (map(int, str(t).split(":")) for t in iv)
            except (TypeError, ValueError):
                continue
            total += max(h2 * 60 + m2 - h1 * 60 - m1, 0)
    return round(total / 60, 2)


def calendar_save(*, calendar: Calendar | None, item: dict[str, Any]) -> tuple[Calendar, ConfigReport]:
    with transaction.atomic():
        _rename(calendar, item["name"])
        report = config_apply({"calendars": [item]})
    return Calendar.objects.get(name__iexact=item["name"]), report


def policy_save(*, policy: SLAPolicy | None, item: dict[str, Any]) -> tuple[SLAPolicy, ConfigReport]:
    with transaction.atomic():
        _rename(policy, item["name"])
        report = config_apply({"sla_policies": [item]})
    return SLAPolicy.objects.get(name__iexact=item["name"]), report


def policy_dry_run(*, policy: SLAPolicy | None, item: dict[str, Any]) -> ConfigReport:
    """What saving would change: the open tickets whose due times move
    (a rename alone moves none, so the stored name is used)."""
    return config_apply({"sla_policies": [{**item, "name": policy.name if policy else item["name"]}]}, dry_run=True)


def queue_save(
    *,
    queue: Queue | None,
    item: dict[str, Any],
    is_active: bool,
    member_ids: set[int],
    capacities: dict[int, int | None],
) -> tuple[Queue, ConfigReport]:
    """The queue, its members and their capacity (a per-agent setting used
    by least-loaded assignment in every queue)."""
    with transaction.atomic():
        report = config_apply({"queues": [item]})
        obj = Queue.objects.get(slug__iexact=item["slug"])
        if obj.is_active != is_active:
            obj.is_active = is_active
            obj.save(update_fields=["is_active"])
        current = set(QueueMembership.objects.filter(queue=obj).values_list("user_id", flat=True))
        for membership in QueueMembership.objects.filter(queue=obj, user_id__in=current - member_ids):
            membership.delete()  # one by one: each removal is an audit entry
        for user_id in sorted(member_ids - current):
            QueueMembership.objects.create(queue=obj, user_id=user_id)
        for user in User.objects.filter(pk__in=capacities):
            if user.capacity != capacities[user.pk]:
                user.capacity = capacities[user.pk]
                user.save(update_fields=["capacity"])
    return obj, report


def request_type_save(*, request_type: RequestType | None, values: dict[str, Any]) -> RequestType:
    """Create or update; a new default replaces the previous one."""
    obj = request_type or RequestType(slug=values["slug"])
    for name in ("name", "queue", "description", "position", "is_default", "is_active"):
        setattr(obj, name, values[name])
    obj.full_clean()
    with transaction.atomic():
        if obj.is_default:
            for other in RequestType.objects.filter(is_default=True).exclude(pk=obj.pk).select_for_update():
                other.is_default = False
                other.save(update_fields=["is_default"])  # one by one: audited
        obj.save()
    return obj


def calendar_preview(calendar: Calendar, *, days: int = 14, today: date | None = None) -> list[dict[str, Any]]:
    """Open hours of the next `days` local days: an override wins, then a
    holiday closes the day, else the weekly hours (as the SLA clock reads
    them), each day with the version in force at its start (a scheduled
    change shows from its day on)."""
    from tickets.calendar_versions import calendar_versions_by_id

    zone = ZoneInfo(calendar.timezone)
    start = today or timezone.now().astimezone(zone).date()
    versions: list[Any] = calendar_versions_by_id([calendar.pk]).get(calendar.pk) or [calendar]
    out = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        midnight = datetime.combine(day, time(0), tzinfo=zone)
        version = [v for v in versions if (getattr(v, "effective_from", None) or midnight) <= midnight][-1]
        out.append({"date": day, **_day_hours(version, day)})
    return out


def _day_hours(version: Any, day: date) -> dict[str, Any]:
    key = day.isoformat()
    overrides = {o["date"]: o.get("hours") or [] for o in version.overrides or []}
    if key in overrides:
        return {"hours": overrides[key], "why": "one-off hours"}
    if key in set(version.holidays or []):
        return {"hours": [], "why": "holiday"}
    return {"hours": (version.hours or {}).get(DAYS[day.weekday()], []), "why": ""}
