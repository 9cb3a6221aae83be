"""Writing the event log. The one place TicketEvent rows are created."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.utils import timezone

from helpdesk.lib.batching import ids_collected
from tickets import subscribers
from tickets.models import Ticket, TicketEvent


def actor_role_of(user: Any) -> str:
    """The role an actor acts in, frozen into the event (docs/metrics.md §1.1)."""
    if user is None:
        return TicketEvent.ActorRole.SYSTEM
    return TicketEvent.ActorRole.AGENT if user.is_staff_role else TicketEvent.ActorRole.CUSTOMER


def event_record(
    ticket: Ticket,
    kind: str,
    *,
    actor: Any = None,
    actor_role: str | None = None,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
    visibility: str = "",
    is_automated: bool = False,
) -> TicketEvent:
    """Append one event. Call inside the service's transaction."""
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor,
        actor_role=actor_role or actor_role_of(actor),
        data=data or {},
        occurred_at=occurred_at or timezone.now(),
        visibility=visibility,
        is_automated=is_automated,
    )
    _hold(ticket.pk, event)
    events_committed([ticket.pk])
    # Then the per-event subscribers, in this same transaction: the
    # notifications outbox (mail) and outbound webhooks' outbox (webhooks).
    # Each returns before any query for kinds that concern it not.
    subscribers.publish(subscribers.EVENT_RECORDED, event, kind=event.kind)
    return event


# Ticket ids whose side work (events_committed) is held back while an
# events_batched() block runs; None outside one.
_batched: ContextVar[set[int] | None] = ContextVar("tickets_events_batched", default=None)
# The events recorded in the outermost events_batched() block, by ticket,
# until its side work has run (events_in_hand), with the block's savepoint
# depth. A ticket whose events were recorded in a deeper savepoint maps to
# None: a rolled-back savepoint may have taken one of them back.
_in_hand: ContextVar[tuple[int, dict[int, list[TicketEvent] | None]] | None] = ContextVar(
    "tickets_events_in_hand", default=None
)


def _savepoint_depth() -> int:
    from django.db import connection

    return len(connection.savepoint_ids)


def _hold(ticket_id: int, event: TicketEvent) -> None:
    held = _in_hand.get()
    if held is None:
        return
    depth, by_ticket = held
    events = by_ticket.setdefault(ticket_id, [])
    if events is None or _savepoint_depth() != depth:
        by_ticket[ticket_id] = None
    else:
        events.append(event)


@contextmanager
def events_batched() -> Iterator[None]:
    """Run the side work of events_committed once, at the end of the block,
    for every ticket that got events in it, instead of once per event.

    For composite operations that call several services on the same ticket
    in one transaction (the properties panel: up to six events). The dirty
    mark and the SLA refresh read the whole history, so one run after the
    last event gives what one run per event gave. Use inside the writing
    transaction (outside one it batches nothing); if the block raises,
    nothing is run (the transaction rolls back anyway). Nested blocks join
    the outermost one.
    """
    from django.db import connection

    # Outside a transaction each service commits on its own: nothing to
    # batch (a held-back mark could be lost).
    if not connection.in_atomic_block or _in_hand.get() is not None:
        yield  # nothing to batch, or joining the outermost block
        return
    token = _in_hand.set((_savepoint_depth(), {}))
    try:
        with ids_collected(_batched, events_committed):
            yield
    finally:
        _in_hand.reset(token)


def events_in_hand(ticket_id: int) -> list[TicketEvent] | None:
    """The whole event history of a ticket created in the running
    events_batched() block, in log order, from the rows its recorder holds:
    None for any other ticket (its history is in the table). For the side
    work of a new ticket, which then reads nothing back (docs/architecture.md)."""
    held = _in_hand.get()
    events = held[1].get(ticket_id) if held is not None else None
    if not events or not any(e.kind == TicketEvent.Kind.CREATED for e in events):
        return None
    return sorted(events, key=lambda e: (e.occurred_at, e.pk))


def events_committed(ticket_ids: Iterable[int]) -> None:
    """Run in the writing transaction for every batch of new events.

    Publishes TICKETS_CHANGED (tickets.subscribers): the metrics dirty mark
    (a transactional outbox: the dirty row is the truth, the Celery wake-up
    only a hint), the stored SLA due instants (tickets.sla_services) and,
    after the commit, the live page's version bump (tickets.live). Inside
    events_batched() the ids are only collected.
    """
    ticket_ids = list(ticket_ids)
    pending = _batched.get()
    if pending is not None:
        pending.update(ticket_ids)
        return
    subscribers.publish(subscribers.TICKETS_CHANGED, ticket_ids)
