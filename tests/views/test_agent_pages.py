"""Agent ticket page: reply, internal note, status, assignment, priority via
POST create the right events; refused moves are shown, never a 500."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.factories import AgentFactory, ticket_make
from tickets import services
from tickets.models import Message, Ticket, TicketEvent

K = TicketEvent.Kind


def _url(name, ticket):
    return reverse(f"tickets:{name}", args=[ticket.pk])


@pytest.fixture
def ticket(queue, customer):
    return ticket_make(queue=queue, requester=customer, subject="VPN drops every hour")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.mark.django_db
def test_ticket_page_shows_fields_and_timeline(agent_client, ticket, agent):
    services.ticket_tag(ticket_id=ticket.pk, actor=agent, add=["vpn"])
    services.ticket_assign(ticket_id=ticket.pk, assignee=agent, actor=agent)
    response = agent_client.get(_url("agent-ticket-detail", ticket))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("VPN drops every hour", "Tech support", "Support", ticket.requester.email, "vpn", "It broke."):
        assert text in html, text
    assert f"assigned the ticket to {agent.display_name}" in html
    assert "created this request via portal" in html
    assert "added tags vpn" in html


@pytest.mark.django_db
def test_public_reply_records_public_message_event(agent_client, ticket, agent):
    upload = SimpleUploadedFile("steps.txt", b"1. reboot", content_type="text/plain")
    response = agent_client.post(
        _url("agent-ticket-reply", ticket), {"body": "Try **rebooting**", "visibility": "public", "attachments": upload}
    )
    assert response.status_code == 302
    message = Message.objects.get(ticket=ticket, is_description=False)
    assert message.visibility == "public" and message.author == agent and message.body == "Try **rebooting**"
    assert [a.filename for a in message.attachments.all()] == ["steps.txt"]
    event = ticket.events.get(kind=K.MESSAGE)
    assert event.visibility == "public" and event.actor == agent and event.data["message_id"] == message.pk
    page = agent_client.get(_url("agent-ticket-detail", ticket)).content.decode()
    assert "<strong>rebooting</strong>" in page


@pytest.mark.django_db
def test_internal_note_records_internal_event(agent_client, ticket, agent):
    response = agent_client.post(_url("agent-ticket-reply", ticket), {"body": "Check logs", "visibility": "internal"})
    assert response.status_code == 302
    event = ticket.events.get(kind=K.MESSAGE)
    assert event.visibility == "internal"
    assert Message.objects.get(pk=event.data["message_id"]).visibility == "internal"


@pytest.mark.django_db
def test_empty_reply_and_blocked_attachment_are_field_errors(agent_client, ticket):
    empty = agent_client.post(_url("agent-ticket-reply", ticket), {"body": "  ", "visibility": "public"})
    assert empty.status_code == 200
    assert "body" in empty.context["reply_form"].errors
    bad = SimpleUploadedFile("evil.html", b"<script>", content_type="text/html")
    blocked = agent_client.post(
        _url("agent-ticket-reply", ticket), {"body": "see file", "visibility": "public", "attachments": bad}
    )
    assert blocked.status_code == 200
    assert ".html are not accepted" in blocked.context["reply_form"].errors["attachments"][0]
    assert not ticket.events.filter(kind=K.MESSAGE).exists()


@pytest.mark.django_db
def test_attachment_size_limit_enforced(agent_client, ticket, settings):
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 10
    big = SimpleUploadedFile("big.txt", b"x" * 11, content_type="text/plain")
    response = agent_client.post(
        _url("agent-ticket-reply", ticket), {"body": "file", "visibility": "public", "attachments": big}
    )
    assert response.status_code == 200
    assert "limit" in response.context["reply_form"].errors["attachments"][0]


@pytest.mark.django_db
def test_status_change_records_event(agent_client, ticket, agent):
    response = agent_client.post(_url("agent-ticket-transition", ticket), {"target": "pending", "note": "asked"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "pending"
    event = ticket.events.get(kind=K.STATUS)
    assert event.data == {"from": "new", "to": "pending", "note": "asked"} and event.actor == agent


@pytest.mark.django_db
def test_refused_transition_shows_message_next_to_field(agent_client, ticket, agent):
    services.ticket_transition(ticket_id=ticket.pk, target="closed", actor=agent)
    response = agent_client.post(_url("agent-ticket-transition", ticket), {"target": "open"})
    assert response.status_code == 200
    errors = response.context["transition_form"].errors["target"]
    assert errors == ["A ticket cannot move from 'closed' to 'open'. Allowed from 'closed': none (closed is final)."]
    assert "none (closed is final)" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert ticket.events.filter(kind=K.STATUS).count() == 1


@pytest.mark.django_db
def test_unknown_status_is_a_field_error(agent_client, ticket):
    response = agent_client.post(_url("agent-ticket-transition", ticket), {"target": "exploded"})
    assert response.status_code == 200
    assert "target" in response.context["transition_form"].errors


@pytest.mark.django_db
def test_assign_to_me_and_to_a_queue_member(agent_client, ticket, agent, queue):
    response = agent_client.post(_url("agent-ticket-assign", ticket), {"assignee": "me"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    colleague = AgentFactory()
    queue.members.add(colleague)
    agent_client.post(_url("agent-ticket-assign", ticket), {"assignee": str(colleague.pk)})
    ticket.refresh_from_db()
    assert ticket.assignee == colleague
    events = list(ticket.events.filter(kind=K.ASSIGNEE).order_by("id"))
    assert [(e.data["from"], e.data["to"]) for e in events] == [(None, agent.pk), (agent.pk, colleague.pk)]
    agent_client.post(_url("agent-ticket-assign", ticket), {"assignee": ""})
    ticket.refresh_from_db()
    assert ticket.assignee is None


@pytest.mark.django_db
def test_assign_refuses_non_member(agent_client, ticket, other_agent):
    response = agent_client.post(_url("agent-ticket-assign", ticket), {"assignee": str(other_agent.pk)})
    assert response.status_code == 200
    assert "assignee" in response.context["assign_form"].errors
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert not ticket.events.filter(kind=K.ASSIGNEE).exists()


@pytest.mark.django_db
def test_priority_change_records_event(agent_client, ticket):
    response = agent_client.post(_url("agent-ticket-priority", ticket), {"priority": "urgent"})
    assert response.status_code == 302
    assert ticket.events.get(kind=K.PRIORITY).data == {"from": "normal", "to": "urgent"}


@pytest.mark.django_db
def test_reply_on_closed_ticket_is_a_field_error(agent_client, ticket, agent):
    services.ticket_transition(ticket_id=ticket.pk, target="closed", actor=agent)
    response = agent_client.post(_url("agent-ticket-reply", ticket), {"body": "late", "visibility": "public"})
    assert response.status_code == 200
    assert "closed" in response.context["reply_form"].errors["body"][0]


@pytest.mark.django_db
def test_agent_page_escapes_and_sanitises_user_text(agent_client, queue, customer):
    ticket = ticket_make(
        queue=queue,
        requester=customer,
        subject="<script>alert('s')</script>",
        body="<img src=x onerror=alert(1)> [click](javascript:alert(2)) <b>bold</b>",
    )
    html = agent_client.get(_url("agent-ticket-detail", ticket)).content.decode()
    assert "<script>alert('s')</script>" not in html
    assert "&lt;script&gt;alert(&#x27;s&#x27;)&lt;/script&gt;" in html
    assert "onerror" not in html and "javascript:" not in html
    assert "<b>bold</b>" in html
    listing = agent_client.get("/agent/tickets/").content.decode()
    assert "<script>alert('s')</script>" not in listing


@pytest.mark.django_db
def test_closed_ticket_list_status_filter(agent_client, ticket, agent, queue, customer):
    other = ticket_make(queue=queue, requester=customer, subject="Still broken")
    services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    unsolved = agent_client.get("/agent/tickets/?status=unsolved").content.decode()
    assert other.subject in unsolved and ticket.subject not in unsolved
    solved = agent_client.get("/agent/tickets/?status=solved").content.decode()
    assert ticket.subject in solved and other.subject not in solved
    services.ticket_assign(ticket_id=other.pk, assignee=agent, actor=agent)
    mine = agent_client.get("/agent/tickets/?view=mine").content.decode()
    assert other.subject in mine and ticket.subject not in mine
    third = ticket_make(queue=queue, requester=customer, subject="Nobody has this one")
    # "Unassigned in my queues" is a work view: unsolved and unassigned.
    unassigned = agent_client.get("/agent/tickets/?view=unassigned").content.decode()
    assert third.subject in unassigned
    assert ticket.subject not in unassigned and other.subject not in unassigned
    assert Ticket.objects.count() == 3


@pytest.mark.django_db
def test_every_post_form_carries_a_csrf_token(agent_client, client, ticket, customer):
    """Agent and customer ticket pages: one CSRF token per POST form
    (including the logout form in the header)."""
    pages = [(agent_client, _url("agent-ticket-detail", ticket)), (agent_client, "/agent/tickets/")]
    for c, url in pages:
        html = c.get(url).content.decode()
        assert html.count('method="post"') == html.count('name="csrfmiddlewaretoken"') > 0, url
    client.force_login(customer)
    for url in (_url("customer-ticket-detail", ticket), "/portal/new/", "/portal/"):
        html = client.get(url).content.decode()
        assert html.count('method="post"') == html.count('name="csrfmiddlewaretoken"') > 0, url
