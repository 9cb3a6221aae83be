"""Tickets awaiting their first reply now (docs/metrics.md#awaiting-first-reply-now).

`Ticket.awaiting_first_reply_since` holds the first-response clock's start (M1: creation for
customer-authored tickets, else the customer's first public message) while no public human agent
reply has followed it, else NULL. It is the `tickets.clock` definition (the one FRT is computed
with), refreshed in every event-writing transaction (an in-transaction TICKETS_CHANGED
subscriber, tickets.apps), so the import and the embedded default follow too.

Read: unsolved, not spam / deleted, `awaiting_first_reply_since IS NOT NULL`, counted per queue
on the partial index `ticket_awaiting_first_reply` (queue, since) whose condition is exactly
that predicate: a count and the oldest start are an index-only range per queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Min, Q
from django.utils import timezone

from helpdesk.lib.business_hours import from_ts
from tickets.clock import Derived, Ev, calendar_clock, first_reply_fields, fold
from tickets.clock_context import clock_events_by_ticket
from tickets.models import Ticket

REFRESH_BATCH = 500

# Tickets whose value the running writer stored itself (first_reply_stored).
_stored: ContextVar[frozenset[int]] = ContextVar("tickets_first_reply_stored", default=frozenset())


def awaiting_since(events: list[Ev], as_of: datetime) -> datetime | None:
    """The FRT start of a ticket still without its first reply (None: replied, or no clock)."""
    if not any(e.kind == "ticket.created" for e in events):
        return None
    tl = fold(events, as_of)
    d = Derived()
    first_reply_fields({}, tl, d, calendar_clock)
    if d.frt_start is None or d.first_reply is not None:
        return None
    return from_ts(d.frt_start)


def tickets_first_reply_refresh(*, ticket_ids: Iterable[int], now: datetime | None = None) -> int:
    """Recompute and store `awaiting_first_reply_since` of `ticket_ids` (call inside the writing
    transaction). Two statements per batch: the events, and one UPDATE of the changed rows."""
    ids = sorted(set(ticket_ids))
    now = now or timezone.now()
    changed = 0
    for i in range(0, len(ids), REFRESH_BATCH):
        chunk = ids[i : i + REFRESH_BATCH]
        events = _events_in_hand(chunk)
        if missing := [tid for tid in chunk if tid not in events]:
            events.update(clock_events_by_ticket(missing))
        values = {tid: awaiting_since(events.get(tid, []), now) for tid in chunk}
        changed += _store(values)
    return changed


def _events_in_hand(ticket_ids: list[int]) -> dict[int, list[Ev]]:
    """The clock events of the tickets created in the running write, from the
    rows their recorder holds (tickets.events.events_in_hand): a new ticket's
    clock needs no read of its history."""
    from tickets.events import events_in_hand

    out: dict[int, list[Ev]] = {}
    for tid in ticket_ids:
        held = events_in_hand(tid)
        if held is not None:
            out[tid] = [Ev.from_model(e) for e in held]
    return out


def _store(values: dict[int, datetime | None]) -> int:
    """One UPDATE … FROM (VALUES …) writing only rows whose value differs."""
    from django.db import connection

    if not values:
        return 0
    if connection.vendor != "postgresql":  # the embedded default: one small UPDATE per ticket
        return sum(
            Ticket.objects.filter(pk=tid)
            .exclude(awaiting_first_reply_since=since)
            .update(awaiting_first_reply_since=since)
            for tid, since in values.items()
        )
    rows = ", ".join("(%s, %s::timestamptz)" for _ in values)
    params: list[Any] = [p for tid, since in values.items() for p in (tid, since)]
    with connection.cursor() as cur:
        cur.execute(
            f"""UPDATE tickets_ticket t SET awaiting_first_reply_since = v.since
                FROM (VALUES {rows}) AS v(id, since)
                WHERE t.id = v.id AND t.awaiting_first_reply_since IS DISTINCT FROM v.since""",  # noqa: S608
            params,
        )
        return int(cur.rowcount)


@contextmanager
def first_reply_stored(ticket_ids: Iterable[int]) -> Iterator[None]:
    """In the block, the refresh skips these tickets: their writer stored
    `awaiting_since` of their whole history itself, with their rows (the
    import's new tickets, docs/import.md), so reading it back would only
    compute the same value again."""
    token = _stored.set(_stored.get() | frozenset(ticket_ids))
    try:
        yield
    finally:
        _stored.reset(token)


def first_reply_refresh_subscriber(ticket_ids: list[int]) -> None:
    """tickets.subscribers TICKETS_CHANGED handler (tickets.apps)."""
    stored = _stored.get()
    tickets_first_reply_refresh(ticket_ids=[t for t in ticket_ids if t not in stored] if stored else ticket_ids)


# --- reads ---------------------------------------------------------------------

AWAITING_Q = Q(
    awaiting_first_reply_since__isnull=False,
    status__in=list(Ticket.UNSOLVED),
    is_spam=False,
    is_deleted=False,
)


@dataclass(frozen=True)
class Awaiting:
    """Tickets awaiting their first reply at `at`: how many and the oldest clock start."""

    count: int
    oldest_since: datetime | None
    at: datetime

    @property
    def oldest_age_s(self) -> float | None:
        return None if self.oldest_since is None else max((self.at - self.oldest_since).total_seconds(), 0.0)


def awaiting_first_reply(
    *, queue_ids: list[int] | None, filters: dict[str, Any] | None = None, now: datetime | None = None
) -> dict[str, Awaiting]:
    """Count and oldest per kind and overall ("all"), over `queue_ids` (None: every queue) and the
    equality `filters` on Ticket columns (kind, priority, channel, assignee_id, queue_id). One
    statement grouped by kind on the partial index."""
    now = now or timezone.now()
    qs = Ticket.objects.filter(AWAITING_Q, **(filters or {}))
    if queue_ids is not None:
        qs = qs.filter(queue_id__in=queue_ids)
    # COUNT of the indexed column (never NULL here), not of the id: an index-only scan.
    since = "awaiting_first_reply_since"
    rows = qs.values("kind").annotate(n=Count(since), oldest=Min(since)).order_by()
    out = {r["kind"]: Awaiting(r["n"], r["oldest"], now) for r in rows}
    olds = [a.oldest_since for a in out.values() if a.oldest_since is not None]
    out["all"] = Awaiting(sum(a.count for a in out.values()), min(olds) if olds else None, now)
    return out
