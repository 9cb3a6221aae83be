"""Durations and decimals as people read them, in the active language
(docs/languages.md, Dates, numbers, durations). The one formatter for every
duration shown to a user: dashboard, weekly report, SLA badge, customer
success; unit letters come from the catalogues, decimal separators from
django.utils.formats."""

import math
from collections.abc import Callable

from django.utils import formats
from django.utils.translation import gettext


def fmt_duration(seconds: float | None, *, coarse: bool = False) -> str:
    """2550 -> '42m 30s'; 178740 -> '2d 1h 39m'; None or NaN -> '—'.

    `coarse` (badges): one unit less, '2d 1h', '3h 5m', '42m'."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    if coarse:
        return coarse_duration_formatter()(seconds)
    s = round(float(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    values = {"d": d, "h": h, "m": m, "s": sec}
    if d:
        return gettext("%(d)sd %(h)sh %(m)sm") % values
    if h:
        return gettext("%(h)sh %(m)sm") % values
    if m:
        return gettext("%(m)sm %(s)ss") % values
    return gettext("%(s)ss") % values


def coarse_duration_formatter() -> Callable[[float], str]:
    """`fmt_duration(seconds, coarse=True)` for a number, with its three
    formats translated once in the active language: a list page formats
    one per row."""
    days, hours, minutes = gettext("%(d)sd %(h)sh"), gettext("%(h)sh %(m)sm"), gettext("%(m)sm")

    def fmt(seconds: float) -> str:
        d, rem = divmod(int(abs(float(seconds))), 86400)
        h, rem = divmod(rem, 3600)
        m, sec = divmod(rem, 60)
        values = {"d": d, "h": h, "m": m, "s": sec}
        return (days if d else hours if h else minutes) % values

    return fmt


def fmt_decimal(value: float, digits: int) -> str:
    """`value` with `digits` decimals and the active language's separator
    (English 33.33, German 33,33)."""
    return formats.number_format(round(value, digits), digits)


def fmt_pct(value: float | None, digits: int = 2) -> str:
    """33.333 -> '33.33%' (German '33,33%'); None -> '—'."""
    return "—" if value is None else f"{fmt_decimal(value, digits)}%"
