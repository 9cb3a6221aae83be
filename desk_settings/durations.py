"""Durations as people write them, for SLA targets (docs/settings.md).

Grammar (case-insensitive, spaces optional between number and unit):

    duration := ["business"]? term+        e.g. "4h", "1h 30m", "2 business days"
    term     := NUMBER ["business"]? UNIT   NUMBER: whole or decimal (1.5h)
    UNIT     := m | min | mins | minute(s) | h | hr | hrs | hour(s) | d | day(s) | w | week(s)

The word "business" anywhere makes the duration count business time (the
queue calendar's open hours); without it the clock runs round the clock.
A business day is 8 business hours and a business week 5 business days; a
plain day is 24 hours. The result is whole seconds (at least one minute).
"""

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MINUTE, HOUR = 60, 3600
BUSINESS_DAY = 8 * HOUR
_UNITS = {
    "m": MINUTE, "min": MINUTE, "mins": MINUTE, "minute": MINUTE, "minutes": MINUTE,
    "h": HOUR, "hr": HOUR, "hrs": HOUR, "hour": HOUR, "hours": HOUR,
    "d": 24 * HOUR, "day": 24 * HOUR, "days": 24 * HOUR,
    "w": 7 * 24 * HOUR, "week": 7 * 24 * HOUR, "weeks": 7 * 24 * HOUR,
}  # fmt: skip
_BUSINESS_UNITS = {"d": BUSINESS_DAY, "day": BUSINESS_DAY, "days": BUSINESS_DAY}
_BUSINESS_UNITS |= {"w": 5 * BUSINESS_DAY, "week": 5 * BUSINESS_DAY, "weeks": 5 * BUSINESS_DAY}
# The units above stay English in every language (docs/languages.md); the messages are translated.
EXPECTED = gettext_lazy("a duration such as 30m, 4h, 1h 30m, 3 days or 2 business days")


class DurationError(ValueError):
    pass


@dataclass(frozen=True)
class Duration:
    seconds: int
    business: bool


def duration_parse(text: str) -> Duration:
    """Parse `text`; raises DurationError saying what is expected."""
    s = " ".join(text.lower().replace(",", " ").split())
    business = "business" in s
    rest = s.replace("business", " ") if business else s
    rest = " ".join(rest.split())
    pos, total = 0, 0.0
    table = {**_UNITS, **_BUSINESS_UNITS} if business else _UNITS
    if not rest:
        raise DurationError(_("enter %(expected)s") % {"expected": EXPECTED})
    for m in re.finditer(r"(\d+(?:\.\d+)?)\s*([a-z]+)", rest):
        if rest[pos : m.start()].strip():
            break
        unit = m.group(2)
        if unit not in table:
            message = _("unknown unit '%(unit)s': use m, h, days or weeks (%(expected)s)")
            raise DurationError(message % {"unit": unit, "expected": EXPECTED})
        total += float(m.group(1)) * table[unit]
        pos = m.end()
    if pos == 0 or rest[pos:].strip():
        raise DurationError(_("'%(text)s' is not %(expected)s") % {"text": text.strip(), "expected": EXPECTED})
    seconds = round(total)
    if seconds < MINUTE:
        raise DurationError(_("must be at least one minute"))
    return Duration(seconds=seconds, business=business)


def duration_format(seconds: int, business: bool) -> str:
    """The shortest text that parses back to the same value."""
    prefix = "business " if business else ""
    day = BUSINESS_DAY if business else 24 * HOUR
    if seconds % day == 0:
        n = seconds // day
        return f"{n} {prefix}day{'s' if n != 1 else ''}"
    parts = []
    hours, rem = divmod(seconds, HOUR)
    minutes, secs = divmod(rem, MINUTE)
    if hours:
        parts.append(f"{hours}h")
    if minutes or secs:
        parts.append(f"{minutes + secs / 60:g}m")
    text = " ".join(parts)
    return f"{text} business" if business else text
