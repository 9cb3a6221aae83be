"""Issue 15: New -> Open on the first public agent reply (one rule), and the
customer-facing status labels on the portal, in e-mails and in the API."""

import pytest
from rest_framework.test import APIClient

from mail.models import Notification
from tests.factories import ticket_make
from tickets import services, workflow
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db
K = TicketEvent.Kind


def _status_events(ticket):
    return list(
        TicketEvent.objects.filter(ticket=ticket, kind=K.STATUS).order_by("id").values_list("data", "actor_role")
    )


def test_first_public_agent_reply_moves_new_to_open_with_event(queue, customer, agent):
    ticket = ticket_make(queue=queue, requester=customer)
    services.message_post(ticket_id=ticket.pk, author=agent, body="Looking into it")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert _status_events(ticket) == [({"from": "new", "to": "open", "note": "agent replied"}, "agent")]
    # The status change comes after the reply in the log (same instant, later seq).
    kinds = list(TicketEvent.objects.filter(ticket=ticket).order_by("occurred_at", "id").values_list("kind", flat=True))
    assert kinds[-2:] == [K.MESSAGE, K.STATUS]
    # A second reply changes nothing more.
    services.message_post(ticket_id=ticket.pk, author=agent, body="Still on it")
    assert len(_status_events(ticket)) == 1


@pytest.mark.parametrize(
    ("visibility", "automated"),
    [("internal", False), ("public", True)],
    ids=["internal-note", "automated"],
)
def test_notes_and_automated_messages_leave_the_ticket_new(queue, customer, agent, visibility, automated):
    ticket = ticket_make(queue=queue, requester=customer)
    services.message_post(ticket_id=ticket.pk, author=agent, body="x", visibility=visibility, is_automated=automated)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW
    assert _status_events(ticket) == []


def test_customer_message_leaves_new_and_import_path_replays_as_is(queue, customer, agent):
    ticket = ticket_make(queue=queue, requester=customer)
    services.message_post(ticket_id=ticket.pk, author=customer, body="more")
    services.message_post(ticket_id=ticket.pk, author=agent, body="replayed", apply_rules=False)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW


def test_reply_on_a_pending_ticket_keeps_it_pending(queue, customer, agent):
    ticket = ticket_make(queue=queue, requester=customer)
    services.ticket_transition(ticket_id=ticket.pk, target="pending", actor=agent)
    services.message_post(ticket_id=ticket.pk, author=agent, body="Any news?")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING


def test_agent_reply_through_the_api_opens_the_ticket(queue, customer, agent):
    ticket = ticket_make(queue=queue, requester=customer)
    api = APIClient()
    api.force_authenticate(agent)
    response = api.post(f"/api/v1/tickets/{ticket.pk}/reply/", {"body": "Hi"}, format="json")
    assert response.status_code == 201, response.content
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_every_status_has_a_customer_label():
    assert set(workflow.CUSTOMER_STATUS_LABELS) == set(Ticket.Status.values)
    assert workflow.customer_status_label("pending") == "Awaiting your reply"
    assert workflow.customer_status_label("on_hold") == "In progress"
    assert workflow.customer_status_label("solved") == "Solved"


def test_portal_pages_show_customer_labels(client, queue, customer, agent):
    ticket = ticket_make(queue=queue, requester=customer, subject="Broken")
    services.message_post(ticket_id=ticket.pk, author=agent, body="Which model?")
    services.ticket_transition(ticket_id=ticket.pk, target="pending", actor=agent)
    client.force_login(customer)
    detail = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert '<span class="status status-pending">Awaiting your reply</span>' in detail
    # The timeline speaks the customer's words too.
    assert "from In progress to Awaiting your reply" in detail
    listing = client.get("/portal/").content.decode()
    assert "Awaiting your reply" in listing
    # Agents keep the internal names.
    client.force_login(agent)
    assert (
        '<span class="status status-pending">Pending</span>'
        in client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    )


def test_api_gives_the_customer_label(queue, customer, agent):
    ticket = ticket_make(queue=queue, requester=customer)
    services.ticket_transition(ticket_id=ticket.pk, target="on_hold", actor=agent)
    api = APIClient()
    api.force_authenticate(customer)
    body = api.get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert (body["status"], body["customer_status"]) == ("on_hold", "In progress")


def test_solved_email_carries_the_customer_label(settings, queue, customer, agent):
    settings.HELPDESK_BASE_URL = "https://help.acme.test"
    ticket = ticket_make(queue=queue, requester=customer)
    services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    row = Notification.objects.get(ticket=ticket, kind="solved")
    assert "(status: Solved)" in row.body
