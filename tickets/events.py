"""Writing the event log. The one place TicketEvent rows are created."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from tickets import subscribers
from tickets.models import Ticket, TicketEvent


def actor_role_of(user: Any) -> str:
    """The role an actor acts in, frozen into the event (METRICS 1.1)."""
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
    events_committed([ticket.pk])
    # Then the per-event subscribers, in this same transaction: the
    # notifications outbox (mail) and outbound webhooks' outbox (webhooks).
    # Each returns before any query for kinds that concern it not.
    subscribers.publish(subscribers.EVENT_RECORDED, event, kind=event.kind)
    return event


def events_committed(ticket_ids: Iterable[int]) -> None:
    """Run in the writing transaction for every batch of new events.

    Publishes TICKETS_CHANGED (tickets.subscribers): the metrics dirty mark
    (a transactional outbox: the dirty row is the truth, the Celery wake-up
    only a hint), the stored SLA due instants (tickets.sla_services) and,
    after the commit, the live page's version bump (tickets.live).
    """
    subscribers.publish(subscribers.TICKETS_CHANGED, list(ticket_ids))
