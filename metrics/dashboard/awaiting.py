"""Tickets awaiting their first reply now: live, not a cohort (docs/metrics.md#awaiting-first-reply-now).

Read from the tickets themselves (`tickets.first_reply`, partial index `ticket_awaiting_first_reply`),
so the number is current even while the metrics worker catches up. The page's filters map to the
ticket's columns: queue, kind, priority, channel, and agent = the current assignee (as the backlog).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from metrics.dashboard.db import fmt_duration
from metrics.dashboard.kpis import KINDS, SIDES
from metrics.dashboard.period import Scope

AWAITING_DRILL_COLUMNS = ("ticket_id", "kind", "queue_id", "agent_id", "instant", "age_s")


def _ticket_filters(scope: Scope) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, column in (("queue_id", "queue_id"), ("kind", "kind"), ("priority", "priority"), ("channel", "channel")):
        value = getattr(scope, key)
        if value not in (None, ""):
            out[column] = value
    if scope.agent_id is not None:
        out["assignee_id"] = scope.agent_id
    return out


def awaiting_tiles(scope: Scope, now: datetime) -> dict[str, dict[str, dict[str, Any]]]:
    """{"awaiting_first_reply": {side: {"now": {n, oldest_since, oldest_age_s, oldest_fmt}}}} (one query)."""
    from tickets.first_reply import awaiting_first_reply

    found = awaiting_first_reply(queue_ids=None, filters=_ticket_filters(scope), now=now)
    out: dict[str, dict[str, Any]] = {}
    for side in SIDES:
        a = found.get(side)
        age = a.oldest_age_s if a else None
        out[side] = {
            "now": {
                "n": a.count if a else 0,
                "oldest_since": a.oldest_since if a else None,
                "oldest_age_s": age,
                "oldest_fmt": fmt_duration(age),
            }
        }
    return {"awaiting_first_reply": out}


def awaiting_drill_rows(scope: Scope, side: str, now: datetime) -> list[dict[str, Any]]:
    """The tickets behind the count, oldest first (ticket, kind, queue, assignee, since, age)."""
    from tickets.first_reply import AWAITING_Q
    from tickets.models import Ticket

    qs = Ticket.objects.filter(AWAITING_Q, **_ticket_filters(scope))
    if side in KINDS:
        qs = qs.filter(kind=side)
    rows = qs.order_by("awaiting_first_reply_since", "pk").values(
        "pk", "kind", "queue_id", "assignee_id", "awaiting_first_reply_since"
    )
    return [_drill_row(r, now) for r in rows]


def _drill_row(r: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    since: datetime = r["awaiting_first_reply_since"]  # never NULL here (AWAITING_Q)
    return {
        "ticket_id": r["pk"],
        "kind": r["kind"],
        "queue_id": r["queue_id"],
        "agent_id": r["assignee_id"],
        "instant": since,
        "age_s": (now - since).total_seconds(),
    }
