"""Solved tickets auto-close after the configured number of days."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ticket_make
from tickets import services
from tickets.models import Ticket, TicketEvent


@pytest.mark.django_db
def test_auto_close_only_old_solved(agent, customer, queue, settings):
    settings.HELPDESK_AUTO_CLOSE_DAYS = 4
    now = timezone.now()
    old = ticket_make(queue=queue, requester=customer, subject="old")
    services.ticket_transition(ticket_id=old.pk, target="solved", actor=agent, occurred_at=now - timedelta(days=5))
    recent = ticket_make(queue=queue, requester=customer, subject="recent")
    services.ticket_transition(ticket_id=recent.pk, target="solved", actor=agent, occurred_at=now - timedelta(days=3))
    unsolved = ticket_make(queue=queue, requester=customer, subject="open")

    assert services.tickets_auto_close_solved(now=now) == 1
    statuses = dict(Ticket.objects.values_list("subject", "status"))
    assert statuses == {"old": "closed", "recent": "solved", "open": unsolved.status}
    event = old.events.latest("id")
    assert event.kind == TicketEvent.Kind.STATUS and event.actor is None and event.actor_role == "system"
    assert event.data == {"from": "solved", "to": "closed", "note": "auto-closed after solve"}
    # Running again changes nothing (idempotent).
    assert services.tickets_auto_close_solved(now=now) == 0
