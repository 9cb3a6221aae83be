"""Calendar versions (docs/metrics.md#calendar-versions).

Every change of a calendar's business hours (time zone, weekly hours,
holidays, one-off hours) makes a version effective from an instant, now by
default or a later one a manager schedules, never an earlier one: business
time at an instant uses the version in force then, so a change never moves
a value computed for earlier instants. A calendar's first version is in
force since the beginning of time (effective_from NULL). The Calendar row
holds the latest version's values (what the Settings page edits).

Writes: `calendar_version_record` (called by tickets.config for the Settings
page, the API and the config file, and by the Django admin). Reads:
`calendar_versions_by_id` (one query for every calendar of a clock context)
and `business_calendar_of`.

Which calendar a queue uses is history too (docs/metrics.md#calendar-assignments):
`queue_calendar_record` writes a `QueueCalendarChange` effective now for
every path that changes it, `queue_calendar_histories` reads them and
`queue_calendar_compose` makes the queue's calendar over time.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from helpdesk.lib.business_hours import ALWAYS_OPEN, BusinessCalendar, VersionedCalendar
from helpdesk.lib.exceptions import ApplicationError
from tickets.models import Calendar, CalendarVersion, QueueCalendarChange

CONTENT_FIELDS = ("timezone", "hours", "holidays", "overrides")
LAST_YEAR = 3000  # anything later is a typo (and near datetime's limits)
PAST_MESSAGE = "must not be in the past: a calendar change takes effect now or later (past business values never move)"


def calendar_content(row: Any) -> dict[str, Any]:
    """The business-hours values of a Calendar or CalendarVersion row."""
    return {name: getattr(row, name) for name in CONTENT_FIELDS}


def effective_from_parse(value: Any) -> datetime | None:
    """An ISO 8601 date-time with an offset (a trailing Z is UTC); None if it is not one."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None or "T" not in text.upper() or parsed.astimezone(UTC).year >= LAST_YEAR:
            return None
    except (ValueError, OverflowError):
        return None
    return parsed


def effective_from_problem(value: Any, *, now: datetime | None = None) -> str:
    """Why `value` cannot be a new version's effective instant ('' when it can)."""
    parsed = effective_from_parse(value)
    if parsed is None:
        return "must be an ISO 8601 date-time with its offset before the year 3000, e.g. 2026-12-01T09:00:00+01:00"
    if parsed < (now or timezone.now()):
        return PAST_MESSAGE
    return ""


def scheduled_problem(latest_from: datetime | None, when: datetime) -> str:
    """A new version cannot take effect before the latest one (scheduled later)."""
    if latest_from is not None and when < latest_from:
        return (
            f"a version is scheduled from {latest_from.isoformat()}: "
            "a new version must take effect at or after it (or change that scheduled version)"
        )
    return ""


def latest_effective_from(calendar_ids: Iterable[int]) -> dict[int, datetime | None]:
    """calendar id -> its latest version's effective instant (one query)."""
    from django.db.models import Max

    rows = CalendarVersion.objects.filter(calendar_id__in=list(calendar_ids)).values("calendar_id")
    return {r["calendar_id"]: r["m"] for r in rows.annotate(m=Max("effective_from"))}


class CalendarVersionRefused(ApplicationError):
    code = "invalid_config"
    status_code = 400


def calendar_versions_of(calendar: Calendar) -> list[CalendarVersion]:
    """Its versions, oldest first; a calendar stored without any (created
    outside these paths) first gets one in force since the beginning of
    time, with the values its row holds now."""
    versions = calendar_versions_by_id([calendar.pk]).get(calendar.pk, [])
    if not versions:
        first = CalendarVersion.objects.create(calendar=calendar, effective_from=None, **calendar_content(calendar))
        versions = [first]
    return versions


def calendar_version_put(
    *,
    calendar: Calendar,
    effective_from: datetime | None,
    content: dict[str, Any],
    latest: bool = False,
    now: datetime | None = None,
) -> bool:
    """Write the version of `calendar` effective from `effective_from`
    (None: since the beginning of time). True when something was written.

    A version already in force never changes and none is added in the past
    (`CalendarVersionRefused`); one scheduled for later is replaced. With
    `latest` (an edit of the calendar) it must also take effect at or after
    every scheduled version. Callers validate first (tickets.config), so
    this refusal is the last line of defence. The row is not touched:
    `calendar_row_mirror` does that."""
    now = now or timezone.now()
    versions = calendar_versions_of(calendar)
    same = next((v for v in versions if v.effective_from == effective_from), None)
    if same is not None and calendar_content(same) == content:
        return False
    problem = ""
    if same is not None and (effective_from is None or effective_from <= now):
        problem = "a version already in force cannot change"
    elif effective_from is None or effective_from < now:
        problem = PAST_MESSAGE
    elif latest:
        problem = scheduled_problem(versions[-1].effective_from, effective_from)
    if problem:
        raise CalendarVersionRefused(f"effective_from: {problem}")
    if same is not None:
        for name, value in content.items():
            setattr(same, name, value)
        same.save(update_fields=list(CONTENT_FIELDS))
    else:
        CalendarVersion.objects.create(calendar=calendar, effective_from=effective_from, **content)
    return True


def calendar_history_seed(*, calendar: Calendar, versions: list[tuple[datetime | None, dict[str, Any]]]) -> None:
    """A new calendar's versions: the listed history (a config file's
    `versions`, the first in force since the beginning), else one version
    with the row's values. Nothing was ever computed with a new calendar,
    so its history may start in the past."""
    if not versions:
        calendar_versions_of(calendar)
        return
    for when, content in versions:
        CalendarVersion.objects.create(calendar=calendar, effective_from=when, **content)


def calendar_edit_record(*, calendar: Calendar, effective_from: datetime | None, content: dict[str, Any]) -> bool:
    """An edit of the calendar's values: a new latest version, effective
    `effective_from` or now (True when the values differ from the latest)."""
    versions = calendar_versions_of(calendar)
    if calendar_content(versions[-1]) == content:
        return False
    now = timezone.now()
    when = effective_from or now
    return calendar_version_put(calendar=calendar, effective_from=when, content=content, latest=True, now=now)


def calendar_row_mirror(calendar: Calendar) -> list[str]:
    """Give the row its latest version's values; the fields that changed (saved)."""
    latest = calendar_versions_of(calendar)[-1]
    changed = [name for name, value in calendar_content(latest).items() if getattr(calendar, name) != value]
    for name in changed:
        setattr(calendar, name, getattr(latest, name))
    if changed:
        calendar.save(update_fields=[*changed, "updated_at"])
    return changed


def calendar_versions_by_id(calendar_ids: Iterable[int]) -> dict[int, list[CalendarVersion]]:
    """calendar id -> its versions, oldest first (one query)."""
    out: dict[int, list[CalendarVersion]] = {}
    for v in CalendarVersion.objects.filter(calendar_id__in=list(calendar_ids)).order_by("calendar_id", "pk"):
        out.setdefault(v.calendar_id, []).append(v)
    for versions in out.values():
        versions.sort(key=lambda v: v.effective_from.timestamp() if v.effective_from else float("-inf"))
    return out


def business_calendar_of(row: Calendar, versions: list[CalendarVersion]) -> BusinessCalendar:
    """The computation calendar: its versions piecewise over time, or the row
    alone when it has none (a calendar stored outside the config paths).
    Raises ValueError (or a time zone error) for an unusable value."""
    if not versions:
        return BusinessCalendar.from_model(row)
    pieces = [
        (v.effective_from.timestamp() if v.effective_from else float("-inf"), BusinessCalendar.from_model(v))
        for v in versions
    ]
    if len(pieces) == 1:
        cal = pieces[0][1]
        cal.name = row.name
        return cal
    return VersionedCalendar(pieces, name=row.name)


# --- which calendar a queue uses, over time ----------------------------------------

Assignment = tuple[datetime | None, int | None]  # (effective_from, calendar id); None calendar = 24/7


def queue_calendar_histories(queue_ids: Iterable[int]) -> dict[int, list[Assignment]]:
    """queue id -> its calendar assignments, oldest first (one query); a
    queue without any is absent (its current calendar since the beginning)."""
    out: dict[int, list[Assignment]] = {}
    rows = QueueCalendarChange.objects.filter(queue_id__in=list(queue_ids)).order_by("queue_id", "pk")
    for queue_id, when, calendar_id in rows.values_list("queue_id", "effective_from", "calendar_id"):
        out.setdefault(queue_id, []).append((when, calendar_id))
    for history in out.values():
        history.sort(key=lambda a: a[0].timestamp() if a[0] else float("-inf"))
    return out


def queue_calendar_record(
    *, queue_id: int, before: int | None, after: int | None, created: bool = False, now: datetime | None = None
) -> bool:
    """Record that the queue uses calendar `after` (None: 24/7) from now on;
    `before` is the calendar it used so far (kept since the beginning for a
    queue with no recorded history). A new queue's first calendar is in
    force since the beginning (nothing was computed with it). Every path
    that changes a queue's calendar calls this (tickets.config for the
    Settings page, the API and the config file; the Django admin). True when
    something was written."""
    history = queue_calendar_histories([queue_id]).get(queue_id, [])
    if created or not history:
        first = after if created else before
        if not history:
            QueueCalendarChange.objects.create(queue_id=queue_id, calendar_id=first, effective_from=None)
            history = [(None, first)]
        if created:
            return True
    if history[-1][1] == after:
        return False
    now = now or timezone.now()
    latest_from = history[-1][0]
    when = now if latest_from is None or now > latest_from else latest_from  # never before a recorded change
    QueueCalendarChange.objects.update_or_create(
        queue_id=queue_id, effective_from=when, defaults={"calendar_id": after}
    )
    return True


def queue_calendar_compose(
    history: list[Assignment], calendars: dict[int, BusinessCalendar], name: str = ""
) -> BusinessCalendar:
    """The queue's calendar over time: each assignment's calendar (with its
    own versions) from its effective instant, 24/7 while it had none."""
    pieces = [
        (when.timestamp() if when else float("-inf"), calendars[cid] if cid is not None else ALWAYS_OPEN)
        for when, cid in history
    ]
    # Adjacent assignments of the same calendar are one piece (a no-op change).
    merged = [p for i, p in enumerate(pieces) if i == 0 or p[1] is not pieces[i - 1][1]]
    if len(merged) == 1:
        return merged[0][1]
    return VersionedCalendar(merged, name=name)


def calendar_was_assigned(calendar_id: int) -> bool:
    """A queue used it at some time: it cannot be deleted (PROTECT), past values depend on it."""
    return QueueCalendarChange.objects.filter(calendar_id=calendar_id).exists()
