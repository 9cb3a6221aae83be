"""The latest CSAT comments of the period (shown under the tiles)."""

from __future__ import annotations

from typing import Any

from metrics.dashboard.db import _filters_sql, _orm_filters, _run, _use_sql
from metrics.dashboard.period import Scope


def csat_comments(*, scope: Scope, limit: int = 10) -> list[dict[str, Any]]:
    """Latest CSAT comments in the period: newest csat.responded events with a comment that are
    the ticket's latest rating (m.csat_at), walking the partial index event_csat_comment
    (occurred_at DESC, id DESC) backwards and probing each event's metrics row.

    The metrics row is a LATERAL probe behind OFFSET 0: as a plain join, `m.csat_at =
    e.occurred_at` made the two one equivalence class, the join was estimated at one row and
    the planner read and sorted every commented rating of the range (Parallel Bitmap Heap Scan +
    hash join: 140-940 ms for 365 days with a queue filter at 100k tickets, bench/DASHBOARD.md
    "Third round"); now it stops after the first `limit` matches."""
    if not _use_sql():
        return _csat_comments_py(scope=scope, limit=limit)
    where, params = _filters_sql(scope, "csat_agent_id")
    sql = f"""
        SELECT e.ticket_id, m.csat_value, m.csat_satisfied, m.csat_at, e.data->>'comment' AS comment
        FROM tickets_ticketevent e
        CROSS JOIN LATERAL (
            SELECT m.csat_value, m.csat_satisfied, m.csat_at FROM metrics_ticketmetrics m
            WHERE m.ticket_id = e.ticket_id AND NOT m.excluded AND m.csat_at = e.occurred_at {where} OFFSET 0
        ) m
        WHERE e.kind = 'csat.responded' AND e.occurred_at >= %s AND e.occurred_at < %s
          AND COALESCE(e.data->>'comment', '') <> ''
        ORDER BY e.occurred_at DESC, e.id DESC LIMIT %s
    """  # noqa: S608
    return _run(sql, [*params, scope.period.start, scope.period.end, limit])


def _csat_comments_py(*, scope: Scope, limit: int) -> list[dict[str, Any]]:
    from metrics.models import TicketMetrics
    from tickets.models import TicketEvent

    out: list[dict[str, Any]] = []
    events = TicketEvent.objects.filter(
        kind="csat.responded", occurred_at__gte=scope.period.start, occurred_at__lt=scope.period.end
    ).order_by("-occurred_at", "-id")
    for e in events.values("ticket_id", "occurred_at", "data").iterator():
        comment = (e["data"] or {}).get("comment") or ""
        if not comment:
            continue
        m = (
            TicketMetrics.objects.filter(
                ticket_id=e["ticket_id"],
                excluded=False,
                csat_at=e["occurred_at"],
                **_orm_filters(scope, "csat_agent_id"),
            )
            .values("csat_value", "csat_satisfied", "csat_at")
            .first()
        )
        if m:
            out.append({"ticket_id": e["ticket_id"], **m, "comment": comment})
            if len(out) >= limit:
                break
    return out
