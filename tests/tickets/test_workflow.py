"""The state machine: every allowed and every refused move, through the service."""

import itertools

import pytest
from django.db import connection

from tests.factories import ticket_make
from tickets import services, workflow
from tickets.models import Ticket, TicketEvent

S = Ticket.Status
ALL_PAIRS = list(itertools.product(S.values, S.values))


def test_every_status_is_a_key_of_the_table():
    assert set(workflow.TRANSITIONS) == set(S.values)


def test_closed_is_terminal():
    assert workflow.TRANSITIONS[S.CLOSED] == frozenset()


def _ticket_in(status: str, agent) -> Ticket:
    ticket = ticket_make(queue=agent.queues.first(), status=status)
    assert ticket.status == status
    return ticket


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), ALL_PAIRS)
def test_transition_allowed_or_refused(source, target, agent, django_capture_on_commit_callbacks):
    """Each (from, to) pair either moves and writes one status event, or raises
    InvalidTransition and writes nothing."""
    ticket = _ticket_in(source, agent)
    before = TicketEvent.objects.filter(ticket=ticket).count()
    allowed = target in workflow.TRANSITIONS[source]
    if allowed:
        services.ticket_transition(ticket_id=ticket.pk, target=target, actor=agent)
        ticket.refresh_from_db()
        assert ticket.status == target
        event = TicketEvent.objects.filter(ticket=ticket).latest("id")
        assert event.kind == TicketEvent.Kind.STATUS
        assert event.data == {"from": source, "to": target}
        assert event.actor == agent and event.actor_role == "agent"
        assert TicketEvent.objects.filter(ticket=ticket).count() == before + 1
    else:
        with pytest.raises(workflow.InvalidTransition) as exc:
            services.ticket_transition(ticket_id=ticket.pk, target=target, actor=agent)
        assert exc.value.status_code == 409
        assert source in exc.value.message
        ticket.refresh_from_db()
        assert ticket.status == source
        assert TicketEvent.objects.filter(ticket=ticket).count() == before


@pytest.mark.django_db
@pytest.mark.parametrize("target", [S.PENDING, S.ON_HOLD, S.CLOSED])
def test_customer_may_not_use_agent_moves(target, customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    with pytest.raises(workflow.InvalidTransition):
        services.ticket_transition(ticket_id=ticket.pk, target=target, actor=customer)


@pytest.mark.django_db
def test_customer_may_mark_solved(customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    services.ticket_transition(ticket_id=ticket.pk, target=S.SOLVED, actor=customer)
    ticket.refresh_from_db()
    assert ticket.status == S.SOLVED and ticket.solved_at is not None


@pytest.mark.django_db
def test_unknown_status_refused(agent):
    ticket = _ticket_in(S.NEW, agent)
    with pytest.raises(workflow.InvalidTransition):
        services.ticket_transition(ticket_id=ticket.pk, target="archived", actor=agent)


@pytest.mark.django_db
def test_database_refuses_unknown_status(agent):
    from django.db import IntegrityError, transaction

    ticket = _ticket_in(S.NEW, agent)
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(status="archived")
    assert connection.vendor == "postgresql"


def test_resolution_and_reopen_predicates():
    assert workflow.is_resolution("open", "solved")
    assert workflow.is_resolution("pending", "closed")
    assert not workflow.is_resolution("solved", "closed")
    assert workflow.is_reopen("solved", "open")
    assert not workflow.is_reopen("open", "pending")
