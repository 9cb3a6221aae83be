"""`{% sla_badge ticket %}`: due in X / breached Y ago, coloured (issue 7)."""

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext

from helpdesk.lib.human import fmt_duration

register = template.Library()

AT_RISK_S = 3600
SLA_STATUSES = frozenset({"new", "open", "pending", "on_hold"})  # the clock runs (Ticket.UNSOLVED)


def _human(seconds: float) -> str:
    # The product's one duration formatter (docs/languages.md), badge precision.
    return fmt_duration(seconds, coarse=True)


def sla_badge_context(ticket: Any, now: datetime | None = None) -> dict[str, Any]:
    """What the badge shows: state ok|at_risk|breached|none, text, due instant."""
    due = getattr(ticket, "sla_due_at", None)
    if due is None or getattr(ticket, "status", None) not in SLA_STATUSES:
        return {"sla_state": "none", "sla_text": "", "sla_due": None}
    delta = (due - (now or timezone.now())).total_seconds()
    if delta <= 0:
        return {
            "sla_state": "breached",
            "sla_text": gettext("breached %(time)s ago") % {"time": _human(delta)},
            "sla_due": due,
        }
    state = "at_risk" if delta <= AT_RISK_S else "ok"
    return {"sla_state": state, "sla_text": gettext("due in %(time)s") % {"time": _human(delta)}, "sla_due": due}


@register.inclusion_tag("components/sla_badge.html")
def sla_badge(ticket: Any, now: datetime | None = None) -> dict[str, Any]:
    return sla_badge_context(ticket, now)


@register.simple_tag
def sla_problem(ticket: Any) -> str:
    """Why this ticket has no SLA although its queue has a policy ('' otherwise):
    the queue's calendar or policy cannot be used (docs/resilience-config.md)."""
    from tickets.clock_context import clock_context

    queue = ticket.queue
    if not queue.sla_policy_id or getattr(ticket, "sla_due_at", None) is not None:
        return ""
    # The clock's own verdict: every calendar the queue used (docs/metrics.md#calendar-assignments)
    # and its versions, and the policy.
    problem = clock_context().unusable.get(queue.pk, "")
    return f"SLA not computable: {problem}" if problem else ""
