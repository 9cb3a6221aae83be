"""The health indicator of a customer account (docs/customer-success.md).

Pure: inputs in, a score with every deduction spelled out. No black box: each
rule is a line a manager can read on the page, and the score is 100 minus
the sum of the deductions (never below 0).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

HEALTHY_FROM = 80
WATCH_FROM = 50
SILENCE_DAYS = 90
STALE_OPEN_DAYS = 7
CSAT_MIN_RESPONSES = 3


@dataclass
class Inputs:
    """What one account's tickets say over the period (and right now)."""

    created: int = 0
    created_before: int = 0  # the period of the same length just before
    open_now: int = 0
    stale_open: int = 0  # open now and created more than STALE_OPEN_DAYS ago
    reopens: int = 0
    escalations: int = 0
    sla_breaches: int = 0
    csat_responses: int = 0
    csat_satisfied: int = 0
    nps_responses: int = 0
    nps: float | None = None
    ces_responses: int = 0
    ces_mean: float | None = None
    last_contact_at: datetime | None = None


@dataclass
class Deduction:
    key: str
    label: str
    value: Any
    rule: str
    points: int


@dataclass
class Health:
    score: int
    band: str  # healthy / watch / at_risk
    deductions: list[Deduction] = field(default_factory=list)

    @property
    def band_label(self) -> str:
        return {"healthy": _("Healthy"), "watch": _("Watch"), "at_risk": _("At risk")}[self.band]

    @property
    def reasons(self) -> list[Deduction]:
        return [d for d in self.deductions if d.points]


def _capped(count: int, each: int, cap: int) -> int:
    return min(count * each, cap)


def _csat_points(inputs: Inputs) -> tuple[Any, int]:
    if inputs.csat_responses < CSAT_MIN_RESPONSES:
        n = inputs.csat_responses
        return (ngettext("%(n)d response", "%(n)d responses", n) % {"n": n}, 0)
    pct = 100.0 * inputs.csat_satisfied / inputs.csat_responses
    points = 25 if pct < 60 else 15 if pct < 80 else 0
    return (_("%(pct).0f%% satisfied of %(n)d") % {"pct": pct, "n": inputs.csat_responses}, points)


def _nps_points(inputs: Inputs) -> tuple[Any, int]:
    if not inputs.nps_responses or inputs.nps is None:
        return (_("no responses"), 0)
    points = 20 if inputs.nps < 0 else 10 if inputs.nps < 30 else 0
    return (_("%(nps)+.0f from %(n)d") % {"nps": inputs.nps, "n": inputs.nps_responses}, points)


def _volume_points(inputs: Inputs) -> tuple[Any, int]:
    rising = inputs.created >= 5 and inputs.created >= 1.5 * max(inputs.created_before, 1)
    value = _("%(now)d vs %(before)d before") % {"now": inputs.created, "before": inputs.created_before}
    return (value, 10 if rising else 0)


def _silence_points(inputs: Inputs, now: datetime) -> tuple[Any, int]:
    if inputs.last_contact_at is None:
        return (_("never"), 10)
    days = (now - inputs.last_contact_at).days
    return (ngettext("%(n)d day ago", "%(n)d days ago", days) % {"n": days}, 10 if days > SILENCE_DAYS else 0)


def health(inputs: Inputs, *, now: datetime) -> Health:
    """Score 0-100: 100 minus the deductions below (docs/customer-success.md)."""
    csat_value, csat_points = _csat_points(inputs)
    nps_value, nps_points = _nps_points(inputs)
    volume_value, volume_points = _volume_points(inputs)
    silence_value, silence_points = _silence_points(inputs, now)
    deductions = [
        Deduction(
            "sla_breaches",
            _("SLA breaches"),
            inputs.sla_breaches,
            _("10 per breached ticket, at most 30"),
            _capped(inputs.sla_breaches, 10, 30),
        ),
        Deduction(
            "reopens", _("Reopens"), inputs.reopens, _("5 per reopen, at most 15"), _capped(inputs.reopens, 5, 15)
        ),
        Deduction(
            "csat",
            _("CSAT"),
            csat_value,
            _("15 below 80% satisfied, 25 below 60% (3 responses or more)"),
            csat_points,
        ),
        Deduction("nps", _("NPS"), nps_value, _("10 below +30, 20 below 0"), nps_points),
        Deduction(
            "escalations",
            _("Escalations support ↔ service"),
            inputs.escalations,
            _("5 each, at most 10"),
            _capped(inputs.escalations, 5, 10),
        ),
        Deduction(
            "stale_open",
            _("Open longer than %(days)d days") % {"days": STALE_OPEN_DAYS},
            inputs.stale_open,
            _("5 each, at most 15"),
            _capped(inputs.stale_open, 5, 15),
        ),
        Deduction(
            "volume",
            _("Ticket volume"),
            volume_value,
            _("10 when at least 5 and 1.5× the period before"),
            volume_points,
        ),
        Deduction(
            "silence",
            _("Last contact"),
            silence_value,
            _("10 when more than %(days)d days ago") % {"days": SILENCE_DAYS},
            silence_points,
        ),
    ]
    score = max(0, 100 - sum(d.points for d in deductions))
    band = "healthy" if score >= HEALTHY_FROM else "watch" if score >= WATCH_FROM else "at_risk"
    return Health(score=score, band=band, deductions=deductions)
