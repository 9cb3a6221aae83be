"""The reporting period (local days) and the scope of a dashboard request (filters, access)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from metrics.dashboard.kpis import FILTER_COLUMNS

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
    return replace(scope, agent_id=user.pk, with_agents=False)


def may_see_team(user: Any) -> bool:
    return bool(getattr(user, "is_manager_role", False))


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
