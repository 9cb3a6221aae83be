"""Plain values for pages, CSV and the API (one shape for all three)."""

from datetime import datetime
from typing import Any

from helpdesk.lib.human import fmt_duration
from success.selectors import Account


def duration(seconds: float | None) -> str:
    """The product's one duration formatter, in the reader's language."""
    return "–" if seconds is None else fmt_duration(seconds)


def account_row(account: Account, *, now: datetime) -> dict[str, Any]:
    i, h = account.inputs, account.health
    last = i.last_contact_at
    return {
        "kind": account.kind,
        "id": account.pk,
        "name": account.name,
        "email": account.email,
        "health_score": h.score,
        "health_band": h.band,
        "open_now": i.open_now,
        "created": i.created,
        "created_before": i.created_before,
        "reopens": i.reopens,
        "escalations": i.escalations,
        "sla_breaches": i.sla_breaches,
        "csat_responses": i.csat_responses,
        "csat_satisfied_pct": round(100.0 * i.csat_satisfied / i.csat_responses, 1) if i.csat_responses else None,
        "ces_mean": i.ces_mean,
        "ces_responses": i.ces_responses,
        "nps": i.nps,
        "nps_responses": i.nps_responses,
        "last_contact_at": last.isoformat() if last else None,
        "days_since_contact": (now - last).days if last else None,
        "deductions": [
            {"key": d.key, "label": d.label, "value": str(d.value), "rule": d.rule, "points": d.points}
            for d in h.deductions
        ],
    }


CSV_COLUMNS = [
    "kind", "id", "name", "email", "health_score", "health_band", "open_now", "created", "created_before",
    "reopens", "escalations", "sla_breaches", "csat_responses", "csat_satisfied_pct", "ces_mean",
    "ces_responses", "nps", "nps_responses", "last_contact_at", "days_since_contact",
]  # fmt: skip
