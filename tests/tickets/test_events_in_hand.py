"""A new ticket's side work reads nothing back (issue 22, fourth round): the
first-reply clock of a ticket created in the running write is folded from the
events its recorder holds (tickets.events.events_in_hand), and gives what a
fold of the stored history gives."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ticket_make
from tickets import services
from tickets.clock_context import clock_events_by_ticket
from tickets.events import event_record, events_batched
from tickets.first_reply import awaiting_since
from tickets.models import RoutingRule, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _from_the_table(ticket: Ticket):
    """The value a fold of the stored history gives (the path before this change)."""
    ticket.refresh_from_db()
    return awaiting_since(clock_events_by_ticket([ticket.pk])[ticket.pk], timezone.now())


def _event_reads(ctx) -> list[str]:
    return [
        q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT") and "tickets_ticketevent" in q["sql"]
    ]


def test_a_new_ticket_s_clock_comes_from_the_events_in_hand_without_a_read(queue, customer):
    with CaptureQueriesContext(connection) as ctx:
        ticket = ticket_make(queue=queue, requester=customer)
    assert _event_reads(ctx) == []  # one read of the ticket's events before
    ticket.refresh_from_db()
    assert ticket.awaiting_first_reply_since == ticket.created_at == _from_the_table(ticket)


@pytest.mark.parametrize("case", ["customer", "agent on behalf", "split from a customer", "routed"])
def test_the_clock_in_hand_equals_the_clock_from_the_table(case, queue, customer, agent):
    kwargs = {}
    if case == "agent on behalf":
        kwargs = {"actor": agent}
    elif case == "split from a customer":
        kwargs = {"actor": agent, "description_author": customer}
    elif case == "routed":  # routing's events come from nested services (a savepoint: read from the table)
        RoutingRule.objects.create(name="vip", keywords=["broke"], add_tags=["routed"], set_priority="urgent")
    ticket = ticket_make(queue=queue, requester=customer, **kwargs)
    ticket.refresh_from_db()
    assert ticket.awaiting_first_reply_since == _from_the_table(ticket)
    if case == "routed":
        assert ticket.priority == "urgent"


def test_an_event_in_a_savepoint_is_never_taken_from_the_hand(queue, customer, agent):
    """A savepoint rolled back may take an event back: a ticket with an event
    recorded below the block's savepoint is read from the table."""
    from tickets.events import events_in_hand

    ticket = Ticket.objects.create(subject="x", queue=queue, requester=customer, kind=queue.kind)
    with transaction.atomic(), events_batched():
        data = {"created_by_role": "customer", "creation_message_author_role": "customer"}
        event_record(ticket, TicketEvent.Kind.CREATED, actor=customer, data=data)
        assert [e.kind for e in events_in_hand(ticket.pk)] == [TicketEvent.Kind.CREATED]
        try:
            with transaction.atomic():
                event_record(ticket, TicketEvent.Kind.MESSAGE, actor=agent, visibility="public", data={})
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert events_in_hand(ticket.pk) is None
    ticket.refresh_from_db()
    assert ticket.awaiting_first_reply_since == _from_the_table(ticket) is not None


def test_an_existing_ticket_is_not_in_hand(queue, customer, agent):
    from tickets.events import events_in_hand

    ticket = ticket_make(queue=queue, requester=customer)
    with transaction.atomic(), events_batched():
        services.message_post(ticket_id=ticket.pk, author=agent, body="On it.")
        assert events_in_hand(ticket.pk) is None  # its history is in the table
    ticket.refresh_from_db()
    assert ticket.awaiting_first_reply_since is None
