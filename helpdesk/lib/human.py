"""Durations and decimals as people read them, in the active language
(docs/languages.md, Dates, numbers, durations). The one formatter for every
duration shown to a user: dashboard, weekly report, SLA badge, customer
success; unit letters come from the catalogues, decimal separators from
django.utils.formats."""

import math

from django.utils import formats
from django.utils.translation import gettext


def fmt_duration(seconds: float | None, *, coarse: bool = False) -> str:
    """2550 -> '42m 30s'; 178740 -> '2d 1h 39m'; None or NaN -> '—'.

    `coarse` (badges): one unit less, '2d 1h', '3h 5m', '42m'."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    s = int(abs(float(seconds))) if coarse else round(float(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    values = {"d": d, "h": h, "m": m, "s": sec}
    if coarse:
        if d:
            return gettext("%(d)sd %(h)sh") % values
        if h:
            return gettext("%(h)sh %(m)sm") % values
        return gettext("%(m)sm") % values
    if d:
        return gettext("%(d)sd %(h)sh %(m)sm") % values
    if h:
        return gettext("%(h)sh %(m)sm") % values
    if m:
        return gettext("%(m)sm %(s)ss") % values
    return gettext("%(s)ss") % values


def fmt_decimal(value: float, digits: int) -> str:
    """`value` with `digits` decimals and the active language's separator
    (English 33.33, German 33,33)."""
    return formats.number_format(round(value, digits), digits)


def fmt_pct(value: float | None, digits: int = 2) -> str:
    """33.333 -> '33.33%' (German '33,33%'); None -> '—'."""
    return "—" if value is None else f"{fmt_decimal(value, digits)}%"
