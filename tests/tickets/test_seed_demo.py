"""seed_demo: realistic demo data through the import path (docs/import.md)."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Organisation, User
from tickets.importing import demo
from tickets.models import Queue, Ticket, TicketEvent

pytestmark = pytest.mark.django_db
K = TicketEvent.Kind


def seed(n, seed=3):
    out = StringIO()
    call_command("seed_demo", tickets=n, seed=seed, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_seed_demo_builds_a_working_demo_and_is_idempotent():
    """Queues of both kinds, demo logins with the documented password, tickets with history; twice = no change."""
    out = seed(60)
    assert "60 lines: 60 imported, 0 updated, 0 unchanged, 0 rejected; 0 events refused" in out
    assert f"password: {demo.DEMO_PASSWORD}" in out
    for email, _, role in demo.DEMO_LOGINS:
        user = User.objects.get(email=email)
        assert user.role == role and user.is_active and user.check_password(demo.DEMO_PASSWORD)
        assert email in out
    assert User.objects.get(email="admin@example.com").is_superuser
    assert set(Queue.objects.values_list("kind", flat=True)) == {"support", "service"}
    assert Queue.objects.get(slug="tech-support").members.filter(email="agent@example.com").exists()
    assert Organisation.objects.filter(shares_tickets=True).exists()
    tickets = Ticket.objects.filter(external_id__startswith="DEMO-")
    assert tickets.count() == 60
    assert tickets.filter(requester__email="customer@example.com").exists()
    statuses = set(tickets.values_list("status", flat=True))
    assert {"solved", "closed"} <= statuses
    kinds = set(TicketEvent.objects.values_list("kind", flat=True))
    assert {K.CREATED, K.MESSAGE, K.STATUS, K.ASSIGNEE, K.WORK_SESSION} <= kinds
    assert TicketEvent.objects.count() > 60 * 5
    events, messages, users = TicketEvent.objects.count(), Ticket.objects.count(), User.objects.count()

    again = seed(60)
    assert "60 lines: 0 imported, 0 updated, 60 unchanged" in again
    assert (TicketEvent.objects.count(), Ticket.objects.count(), User.objects.count()) == (events, messages, users)


def test_demo_history_respects_the_state_machine_and_spans_months():
    """Generated lines never ask for a move the state machine refuses; history spans months."""
    out = seed(200, seed=11)
    assert "200 imported, 0 updated, 0 unchanged, 0 rejected; 0 events refused" in out
    created = Ticket.objects.filter(external_id__startswith="DEMO-").values_list("created_at", flat=True)
    assert (max(created) - min(created)).days > 60
    assert TicketEvent.objects.filter(kind=K.QUEUE, data__escalation=True).exists()
    assert TicketEvent.objects.filter(kind=K.CSAT).exists()
    reopens = TicketEvent.objects.filter(kind=K.STATUS, data__from="solved", data__to="open")
    assert reopens.exists()


def test_demo_lines_are_deterministic_and_stream():
    anchor = demo.default_anchor()
    first = list(demo.demo_lines(5, seed=1, anchor=anchor))
    assert first == list(demo.demo_lines(5, seed=1, anchor=anchor))
    assert first != list(demo.demo_lines(5, seed=2, anchor=anchor))
    # A larger N starts with the same tickets (so growing a demo only adds).
    assert list(demo.demo_lines(500, seed=1, anchor=anchor))[:5] == first
