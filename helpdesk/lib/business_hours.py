"""Business-hours calendars in closed form (docs/metrics.md §1.5, 4.4).

A calendar is an IANA zone + weekly local intervals + holidays (whole local
dates) + date overrides. Its business intervals are materialised per local
date (so DST is exact) into sorted UTC epoch-second arrays with prefix sums:

    F(t) = cum_i + clamp(t - s_i, 0, e_i - s_i)   (i = last interval with s_i <= t)
    bus(a, b) = F(b) - F(a)                       two bisects, O(log n)
    add(a, x) = the first instant where F reaches F(a) + x

An interval end is a valid answer of `add`: reaching the target exactly at
17:00:00 gives 17:00:00, not the next morning's 09:00 (docs/metrics.md §1.5).

Everything works on floats (POSIX seconds) internally; the datetime wrappers
accept aware datetimes in any zone and return UTC datetimes. Pure: no Django.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Materialise whole years around the first query, then grow on demand.
_PAD_DAYS = 366
INF = float("inf")


def _parse_hhmm(value: str) -> tuple[int, int]:
    hh, mm = str(value).strip().split(":")[:2]
    h, m = int(hh), int(mm)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m != 0):
        raise ValueError(f"invalid time of day {value!r}")
    return h, m


def _parse_day_hours(raw: Iterable[Sequence[str]] | None) -> tuple[tuple[int, int], ...]:
    """[["09:00","17:00"], ...] -> sorted, merged minute ranges [(540, 1020)]."""
    ranges = []
    for pair in raw or ():
        if len(pair) != 2:
            raise ValueError(f"an interval is [start, end], got {pair!r}")
        (h1, m1), (h2, m2) = _parse_hhmm(pair[0]), _parse_hhmm(pair[1])
        lo, hi = h1 * 60 + m1, h2 * 60 + m2
        if hi > lo:
            ranges.append((lo, hi))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def _to_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return date.fromisoformat(str(value)[:10])


def to_ts(dt: datetime) -> float:
    """An aware datetime as POSIX seconds (the instant, never wall time)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: business time needs an instant")
    return dt.timestamp()


def from_ts(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class NeverOpen(ValueError):
    """A business-hours target can never be reached: the calendar has no open
    hours from the instant on (docs/metrics.md#calendars-with-no-open-hours)."""


class BusinessCalendar:
    """Weekly hours + holidays + overrides in one IANA zone.

    `hours`: {"mon": [["09:00", "17:00"]], ...}; a missing day is closed.
    `holidays`: local dates closed all day. `overrides`: [{"date", "hours"}]
    replacing the weekly hours of that date (an empty list closes it); an
    override wins over a holiday on the same date.
    """

    is_always_open = False

    def __init__(
        self,
        timezone: str = "UTC",
        hours: Mapping[str, Any] | None = None,
        holidays: Iterable[Any] = (),
        overrides: Iterable[Mapping[str, Any]] = (),
        name: str = "",
    ) -> None:
        self.name = name
        self.zone = ZoneInfo(timezone or "UTC")
        hours = hours or {}
        unknown = set(hours) - set(WEEKDAYS)
        if unknown:
            raise ValueError(f"unknown weekday keys {sorted(unknown)}")
        self.weekly = tuple(_parse_day_hours(hours.get(d)) for d in WEEKDAYS)
        self.holidays = frozenset(_to_date(d) for d in holidays or ())
        self.overrides = {_to_date(o["date"]): _parse_day_hours(o.get("hours")) for o in overrides or ()}
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._cum: list[float] = []  # business seconds before interval i
        self._cum_end: list[float] = []  # ... and including it
        self._first_day: date | None = None
        self._last_day: date | None = None  # exclusive
        self._safe_lo = self._safe_hi = 0.0  # empty fast-path range until the first build
        self._never_open = not any(self.weekly) and not any(self.overrides.values())
        # Holidays and overrides are finite: past the last of them the weekly hours repeat.
        # (Dates from year 3000 on are typos: ignored here, so the jump below cannot overflow.)
        self._last_special = max((d for d in [*self.holidays, *self.overrides] if d.year < 3000), default=None)

    @classmethod
    def from_model(cls, calendar: Any) -> BusinessCalendar:
        """From a tickets.models.Calendar row (or anything with those fields)."""
        return cls(
            timezone=calendar.timezone,
            hours=calendar.hours or {},
            holidays=calendar.holidays or (),
            overrides=calendar.overrides or (),
            name=getattr(calendar, "name", ""),
        )

    # -- materialisation -------------------------------------------------
    def _day_ranges(self, day: date) -> tuple[tuple[int, int], ...]:
        if day in self.overrides:
            return self.overrides[day]
        if day in self.holidays:
            return ()
        return self.weekly[day.weekday()]

    def _local_instant(self, day: date, minute: int) -> float:
        moment = datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(minutes=minute)
        # Wall-clock construction per date, then the zone's rules decide the
        # offset of that local time (DST exact). timedelta on an aware datetime
        # keeps the wall clock; rebuild so the offset matches the new wall time.
        local = datetime(moment.year, moment.month, moment.day, moment.hour, moment.minute, tzinfo=self.zone)
        return local.timestamp()

    def _build(self, first: date, last: date) -> None:
        starts: list[float] = []
        ends: list[float] = []
        day = first
        while day < last:
            for lo, hi in self._day_ranges(day):
                s, e = self._local_instant(day, lo), self._local_instant(day, hi)
                if e > s and (not ends or s >= ends[-1]):
                    starts.append(s)
                    ends.append(e)
                elif e > s:  # overlaps the previous one (DST fold): merge
                    ends[-1] = max(ends[-1], e)
            day += timedelta(days=1)
        cum, cum_end, total = [], [], 0.0
        for s, e in zip(starts, ends, strict=True):
            cum.append(total)
            total += e - s
            cum_end.append(total)
        self._starts, self._ends, self._cum, self._cum_end = starts, ends, cum, cum_end
        self._first_day, self._last_day = first, last
        # Instants whose local date is surely inside the margins _ensure keeps
        # (two days of slack for offsets/DST): _ensure is a no-op for them.
        self._safe_lo = datetime.combine(first + timedelta(days=2), time(0), tzinfo=self.zone).timestamp()
        self._safe_hi = datetime.combine(last - timedelta(days=2), time(0), tzinfo=self.zone).timestamp()

    def _ensure(self, ts: float) -> None:
        if self._safe_lo <= ts < self._safe_hi:
            return  # fast path (hot: called for every bus() bound)
        day = datetime.fromtimestamp(ts, tz=self.zone).date()
        if self._first_day is None:
            self._build(date(day.year - 1, 1, 1), date(day.year + 2, 1, 1))
            return
        last_day = self._last_day or day
        # Keep one day of margin on each side so the local date of `ts` is covered.
        if day - timedelta(days=1) < self._first_day or day + timedelta(days=1) >= last_day:
            first = min(self._first_day, day - timedelta(days=_PAD_DAYS))
            last = max(last_day, day + timedelta(days=_PAD_DAYS))
            self._build(first, last)

    # -- closed form -----------------------------------------------------
    def cum(self, ts: float) -> float:
        """F(t): business seconds from the materialised origin up to `ts`."""
        self._ensure(ts)
        i = bisect.bisect_right(self._starts, ts) - 1
        if i < 0:
            return 0.0
        s, e = self._starts[i], self._ends[i]
        return self._cum[i] + min(max(ts - s, 0.0), e - s)

    def seconds_ts(self, a: float, b: float) -> float:
        """bus(a, b) on POSIX seconds; 0 when b <= a. `cum(b) - cum(a)`, inlined: the metrics
        rebuild calls it for every business-time value (docs/metrics.md#rebuilding-the-dashboard-cells)."""
        if b <= a:
            return 0.0
        self._ensure(a)
        self._ensure(b)
        starts, ends, cum = self._starts, self._ends, self._cum
        i = bisect.bisect_right(starts, b) - 1
        if i < 0:
            return 0.0  # b before every open hour: so is a (cum(b) - cum(a) == 0.0 - 0.0)
        s, e = starts[i], ends[i]
        cum_b = cum[i] + min(max(b - s, 0.0), e - s)
        i = bisect.bisect_right(starts, a, 0, i + 1) - 1
        if i < 0:
            return cum_b
        s, e = starts[i], ends[i]
        return cum_b - (cum[i] + min(max(a - s, 0.0), e - s))

    def closes_for_good(self) -> bool:
        """No weekly hours: after its last one-off hours the calendar is never
        open again, so a business-hours target can become unreachable."""
        return not any(self.weekly)

    def _no_hours_after(self, ts: float) -> bool:
        day = datetime.fromtimestamp(ts, tz=self.zone).date()
        return not any(hours and d >= day for d, hours in self.overrides.items())

    def add_ts(self, a: float, secs: float) -> float:
        """The earliest instant t >= a with bus(a, t) == secs. Raises
        NeverOpen when no open hours follow `a` (never reached)."""
        if secs <= 0:
            return a
        if self._never_open or (self.closes_for_good() and self._no_hours_after(a)):
            raise NeverOpen(f"calendar {self.name!r} has no open hours")
        target = self.cum(a) + secs
        for _ in range(100):
            k = bisect.bisect_left(self._cum_end, target)
            if k < len(self._cum_end):
                return max(a, self._starts[k] + (target - self._cum[k]))
            # Not enough materialised hours: grow forward a year (or at once past the last holiday
            # or override, after which the weekly hours repeat) and retry.
            last_day = self._last_day or date.today()  # noqa: DTZ011 - only a materialisation bound
            if self.closes_for_good() and (self._last_special is None or last_day > self._last_special):
                break  # past its last one-off hours: never open again
            last = last_day + timedelta(days=_PAD_DAYS)
            if self._last_special is not None and self._last_special + timedelta(days=8) > last:
                last = self._last_special + timedelta(days=8 + _PAD_DAYS)
            self._build(self._first_day or last_day, last)
        raise NeverOpen(f"calendar {self.name!r} never reaches {secs} business seconds")

    def is_open_ts(self, ts: float) -> bool:
        self._ensure(ts)
        i = bisect.bisect_right(self._starts, ts) - 1
        return i >= 0 and ts < self._ends[i]

    # -- datetime API ------------------------------------------------------
    def seconds(self, a: datetime, b: datetime) -> float:
        return self.seconds_ts(to_ts(a), to_ts(b))

    def add(self, a: datetime, secs: float) -> datetime:
        return from_ts(self.add_ts(to_ts(a), secs))

    def intervals(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
        """The business intervals intersecting [a, b), clipped (for display/tests)."""
        ta, tb = to_ts(a), to_ts(b)
        self._ensure(ta)
        self._ensure(tb)
        out = []
        i = max(bisect.bisect_right(self._starts, ta) - 1, 0)
        while i < len(self._starts) and self._starts[i] < tb:
            s, e = max(self._starts[i], ta), min(self._ends[i], tb)
            if e > s:
                out.append((from_ts(s), from_ts(e)))
            i += 1
        return out


class AlwaysOpenCalendar(BusinessCalendar):
    """24/7: the calendar of a queue without one (business = calendar time)."""

    is_always_open = True

    def __init__(self) -> None:
        self.name = "24/7"
        self.zone = ZoneInfo("UTC")

    def cum(self, ts: float) -> float:
        return ts

    def seconds_ts(self, a: float, b: float) -> float:
        return max(b - a, 0.0)

    def add_ts(self, a: float, secs: float) -> float:
        return a + max(secs, 0.0)

    def is_open_ts(self, ts: float) -> bool:
        return True

    def closes_for_good(self) -> bool:
        return False

    def intervals(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
        return [(a.astimezone(UTC), b.astimezone(UTC))] if b > a else []


ALWAYS_OPEN = AlwaysOpenCalendar()


class VersionedCalendar(BusinessCalendar):
    """A calendar's versions over time (docs/metrics.md#calendar-versions):
    `versions` = [(effective_from_ts, calendar)], the first from -inf, the
    others sorted. Each instant is measured with the version in force then,
    so [a, b) spanning a change is split at its effective instant and
    bus() stays additive. A past version never changes, so neither do the
    business values of intervals before a new version's effective instant.
    """

    def __init__(self, versions: Sequence[tuple[float, BusinessCalendar]], name: str = "") -> None:
        if not versions:
            raise ValueError("a calendar needs at least one version")
        self.name = name
        self._froms = [-INF, *(f for f, _ in versions[1:])]
        self._cals = [c for _, c in versions]
        self.zone = self._cals[-1].zone
        self._never_open = all(getattr(c, "_never_open", False) for c in self._cals)

    def _pieces(self, a: float, b: float) -> Iterable[tuple[float, float, BusinessCalendar]]:
        """[lo, hi) sub-intervals of [a, b), each with its version."""
        i = max(bisect.bisect_right(self._froms, a) - 1, 0)
        while i < len(self._cals) and self._froms[i] < b:
            hi = self._froms[i + 1] if i + 1 < len(self._froms) else INF
            lo, up = max(a, self._froms[i]), min(b, hi)
            if up > lo:
                yield lo, up, self._cals[i]
            i += 1

    def at(self, ts: float) -> BusinessCalendar:
        """The version in force at `ts`."""
        return self._cals[max(bisect.bisect_right(self._froms, ts) - 1, 0)]

    def cum(self, ts: float) -> float:
        # Relative to the first version's effective instant: only differences are meaningful.
        return self.seconds_ts(self._froms[1], ts) if len(self._froms) > 1 else self._cals[0].cum(ts)

    def seconds_ts(self, a: float, b: float) -> float:
        if b <= a:
            return 0.0
        if len(self._cals) == 1:
            return self._cals[0].seconds_ts(a, b)
        return sum(cal.seconds_ts(lo, hi) for lo, hi, cal in self._pieces(a, b))

    def add_ts(self, a: float, secs: float) -> float:
        if secs <= 0:
            return a
        remaining = secs
        for lo, hi, cal in self._pieces(a, INF):
            if hi == INF:
                return cal.add_ts(lo, remaining)
            avail = cal.seconds_ts(lo, hi)
            if remaining <= avail:
                return cal.add_ts(lo, remaining)
            remaining -= avail
        raise NeverOpen(f"calendar {self.name!r} never reaches {secs} business seconds")

    def is_open_ts(self, ts: float) -> bool:
        return self.at(ts).is_open_ts(ts)

    def closes_for_good(self) -> bool:
        """The last version decides: it is in force for ever."""
        return self._cals[-1].closes_for_good()

    def intervals(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
        out: list[tuple[datetime, datetime]] = []
        for lo, hi, cal in self._pieces(to_ts(a), to_ts(b)):
            out.extend(cal.intervals(from_ts(lo), from_ts(hi)))
        return out


def calendar_for(calendar_row: Any | None) -> BusinessCalendar:
    """The calendar of a queue's Calendar row; 24/7 when it has none."""
    if calendar_row is None:
        return ALWAYS_OPEN
    return BusinessCalendar.from_model(calendar_row)
