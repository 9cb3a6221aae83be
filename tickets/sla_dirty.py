"""Stored SLA due instants follow events after the commit (issue 22).

The request's transaction writes only a dirty mark (`SLADirty`, one upsert);
the refresh (`tickets_sla_refresh`: reload the history, run the clock, store
the due instants and the scan's next check) runs in a worker after the
commit, and the breach scan drains the marks first, so a lost wake-up only
delays the refresh by one scan (20 s). Nothing is lost: the mark commits or
rolls back with the event, and a claim deletes it in the transaction that
stores the refresh (docs/delivery.md, "SLA due instants").

`HELPDESK_SLA_REFRESH = "inline"` keeps the refresh in the event's
transaction (the rules' tests use it; docs/delivery.md says why).

Pages that show SLA state read `sla_fresh(tickets)`: a ticket with a pending
mark gets its due instants computed on read, so nobody sees a stale value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tickets.models import SLADirty, Ticket
from tickets.sla_services import SCAN_BATCH, SLA_FIELDS, _deferred, ticket_sla_states, tickets_sla_refresh

logger = logging.getLogger(__name__)

WORKER, INLINE = "worker", "inline"


def sla_refresh_mode() -> str:
    """ "worker" (default: a dirty mark in the transaction) or "inline"."""
    return INLINE if getattr(settings, "HELPDESK_SLA_REFRESH", WORKER) == INLINE else WORKER


def sla_refresh_subscriber(ticket_ids: Sequence[int]) -> None:
    """tickets.subscribers TICKETS_CHANGED handler (tickets.apps), in the
    writing transaction: the dirty mark (or, inline, the refresh itself)."""
    ids = sorted(set(ticket_ids) - _deferred.get())  # the scan refreshes its own batch
    if not ids:
        return
    if sla_refresh_mode() == INLINE:
        tickets_sla_refresh(ticket_ids=ids)
        return
    sla_mark_dirty(ticket_ids=ids)


def sla_mark_dirty(*, ticket_ids: Sequence[int]) -> None:
    """Upsert the marks in the caller's transaction and wake the worker on
    commit. ON CONFLICT DO UPDATE (not DO NOTHING) locks an existing row
    until the caller commits, so a claimer cannot delete it and refresh
    without this transaction's events (the protocol of
    docs/metrics-dirty-protocol.md); sorted ids lock in one order."""
    SLADirty.objects.bulk_create(
        [SLADirty(ticket_id=pk) for pk in sorted(set(ticket_ids))],
        update_conflicts=True,
        unique_fields=["ticket_id"],
        update_fields=["marked_at"],
        batch_size=5000,
    )
    _wake_on_commit()


def _wake_on_commit() -> None:
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(entry[1] is _wake for entry in conn.run_on_commit):
        return  # one wake-up per transaction
    transaction.on_commit(_wake)


def _wake() -> None:
    from helpdesk.lib.tasks import enqueue_coalesced
    from tickets.tasks import sla_refresh_dirty

    # Coalesced across writers (one pending wake-up drains every mark); never
    # raises: the scan drains what a lost wake-up leaves.
    enqueue_coalesced(sla_refresh_dirty)


# _claim's three reads and its delete as one statement (docs/delivery.md,
# "Delivery written out"): the marks (SKIP LOCKED: another run's), their
# tickets (SKIP LOCKED: a writer's, whose mark stays), the marks of those
# tickets and of deleted tickets deleted.
_CLAIM_SQL = """
WITH marked AS (
  SELECT ticket_id FROM tickets_sladirty ORDER BY ticket_id LIMIT %s FOR UPDATE SKIP LOCKED
), locked AS (
  SELECT t.id FROM tickets_ticket t WHERE t.id IN (SELECT ticket_id FROM marked)
  ORDER BY t.id FOR NO KEY UPDATE SKIP LOCKED
), done AS (
  DELETE FROM tickets_sladirty d WHERE d.ticket_id IN (
    SELECT id FROM locked
    UNION ALL
    SELECT m.ticket_id FROM marked m WHERE NOT EXISTS (SELECT 1 FROM tickets_ticket t WHERE t.id = m.ticket_id)
  )
)
SELECT id FROM locked ORDER BY id
"""


def _claim(batch: int) -> list[int]:
    """Claim up to `batch` marks whose tickets are not locked by a writer
    (inside the caller's transaction); the marks are deleted, the tickets
    locked until the caller commits. A mark whose ticket is being written
    stays for the next run (that writer may be about to mark it again)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(_CLAIM_SQL, [batch])
            return [row[0] for row in cur.fetchall()]
    marked = list(
        SLADirty.objects.select_for_update(skip_locked=True)
        .order_by("ticket_id")
        .values_list("ticket_id", flat=True)[:batch]
    )
    if not marked:
        return []
    locked = list(
        Ticket.objects.select_for_update(skip_locked=True, no_key=True)
        .filter(pk__in=marked)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    existing = set(Ticket.objects.filter(pk__in=marked).values_list("pk", flat=True))
    done = sorted(set(locked) | (set(marked) - existing))  # marks of deleted tickets go too
    SLADirty.objects.filter(ticket_id__in=done).delete()
    return locked


def sla_dirty_drain(*, batch: int = SCAN_BATCH, max_batches: int = 100, now: datetime | None = None) -> int:
    """Refresh the marked tickets, a batch per transaction; returns how many
    tickets were refreshed. Safe to run concurrently (SKIP LOCKED). A crash
    rolls the claim back: the marks come back."""
    refreshed = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = _claim(batch)
            if ids:
                tickets_sla_refresh(ticket_ids=ids, now=now)
        refreshed += len(ids)
        if len(ids) < batch:
            break
    return refreshed


def sla_pending(ticket_ids: Iterable[int]) -> set[int]:
    """The tickets among `ticket_ids` whose stored SLA state awaits a refresh."""
    ids = list(ticket_ids)
    if not ids:
        return set()
    return set(SLADirty.objects.filter(ticket_id__in=ids).values_list("ticket_id", flat=True))


def sla_fresh(tickets: Sequence[Any], *, now: datetime | None = None) -> Sequence[Any]:
    """Overlay computed due instants on the tickets whose stored ones are
    stale (a pending mark): one query when none is, else a read-only
    computation of those few. Returns `tickets` (changed in memory only)."""
    if sla_refresh_mode() == INLINE:
        return tickets  # stored values are fresh when the transaction refreshes them
    stale = sla_pending(t.pk for t in tickets)
    if not stale:
        return tickets
    states = ticket_sla_states(sorted(stale), now=now or timezone.now())
    for t in tickets:
        if t.pk in states:
            state, _policy = states[t.pk]
            for name, value in state.fields().items():
                setattr(t, name, value)
    return tickets


__all__ = [
    "SLA_FIELDS",
    "sla_dirty_drain",
    "sla_fresh",
    "sla_mark_dirty",
    "sla_pending",
    "sla_refresh_mode",
    "sla_refresh_subscriber",
]
