"""A person with a rich history, built through the real paths: portal
pages, the inbound mail service, ticket services, KB and API-token
services, a real session."""

from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import User
from apikeys import services as apikey_services
from knowledge_base import services as kb_services
from mail import services as mail_services
from mail.models import InboundMessage
from tests.factories import CustomerFactory, OrganisationFactory, UserFactory, ticket_make
from tests.mail.conftest import mail_settings, mime  # noqa: F401 - fixture re-export
from tickets import services as ticket_services
from tickets.models import Message, RequestType, Ticket
from webhooks import services as webhook_services

NAME = "Zelda Quartermaine"
EMAIL = "zelda.quartermaine@privacy-test.example"
MARKER = "Xyzzymarker4417"  # in everything she writes
NEEDLES = [EMAIL, "Zelda", "Quartermaine", MARKER]


@dataclass
class History:
    person: User
    other: User
    agent: User
    admin: User
    portal_ticket: Ticket
    email_ticket: Ticket
    other_ticket: Ticket
    unrelated_ticket: Ticket
    other_marker: str = "Otherperson5521"
    ticket_ids: list[int] = field(default_factory=list)


@pytest.fixture
def admin_user(db):
    return UserFactory(role=User.Role.ADMIN, email="root@acme.test", name="Ada Admin")


@pytest.fixture
def history(db, client, mail_settings, queue, agent, manager, admin_user, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    org = OrganisationFactory(name="Quartermaine Holdings Ltd", domain="privacy-test.example")
    person = CustomerFactory(email=EMAIL, name=NAME, first_name="Zelda", last_name="Quartermaine", organisation=org)
    other = CustomerFactory(email="olga.other@elsewhere.example", name="Olga Other")
    rt = RequestType.objects.create(slug="tech-help", name="Tech help", queue=queue)
    webhook_services.subscription_create(url="http://127.0.0.1:9/hook", events=["*"], actor=admin_user)

    # Portal: a new request with an attachment, then a reply with another.
    client.force_login(person)
    response = client.post(
        reverse("tickets:customer-ticket-create"),
        {
            "request_type": rt.pk,
            "subject": f"Invoice for {NAME} {MARKER}",
            "description": f"Hello, I am {NAME} ({EMAIL}). {MARKER} my account is broken.",
            "attachments": [SimpleUploadedFile("zelda-passport.txt", f"passport of {NAME} {MARKER}".encode())],
        },
    )
    assert response.status_code == 302, response.content[:500]
    portal_ticket = Ticket.objects.filter(requester=person).latest("pk")
    client.post(
        reverse("tickets:customer-ticket-reply", args=[portal_ticket.pk]),
        {"body": f"More details {MARKER}", "attachments": [SimpleUploadedFile("log.txt", f"log {MARKER}".encode())]},
    )

    # Staff work on her ticket: a reply naming her, an internal note with
    # her name and address, an assignment reason and a status note.
    ticket_services.ticket_assign(ticket_id=portal_ticket.pk, assignee=agent, actor=manager, reason=f"{NAME} is a VIP")
    ticket_services.message_post(ticket_id=portal_ticket.pk, author=agent, body=f"Hi Zelda, we are on it ({EMAIL}).")
    ticket_services.message_post(
        ticket_id=portal_ticket.pk,
        author=agent,
        body=f"Internal: {NAME} called from {EMAIL}; she seems upset.",
        visibility=Message.Visibility.INTERNAL,
    )
    ticket_services.ticket_transition(
        ticket_id=portal_ticket.pk, target="solved", actor=agent, note=f"Zelda confirmed by phone {MARKER}"
    )
    ticket_services.survey_respond(
        ticket_id=portal_ticket.pk, survey="csat", value=5, comment=f"Great help for Zelda {MARKER}", actor=person
    )

    # E-mail: a new ticket through the real inbound path, with a file.
    raw = mime(
        sender=f"{NAME} <{EMAIL}>",
        subject=f"Mail from Zelda {MARKER}",
        body=f"Sent by {NAME}. {MARKER}\n\n--\n{NAME}\n{EMAIL}",
        attachments=[("scan.pdf", f"%PDF-1.4 {MARKER}".encode(), "application/pdf")],
    )
    inbound = mail_services.inbound_receive(raw, source="http")
    assert inbound.status == InboundMessage.Status.PROCESSED, inbound.reason
    email_ticket = Ticket.objects.get(pk=inbound.ticket_id)

    # CC'd on another customer's ticket, where she also replies.
    other_ticket = ticket_make(queue=queue, requester=other, subject="Olga's printer", body="Otherperson5521 text")
    ticket_services.ticket_set_ccs(ticket_id=other_ticket.pk, ccs=[person], actor=agent)
    ticket_services.message_post(ticket_id=other_ticket.pk, author=person, body=f"Me too! {MARKER}")
    ticket_services.message_post(
        ticket_id=other_ticket.pk,
        author=agent,
        body="Internal for Olga: Otherperson5521 secret",
        visibility=Message.Visibility.INTERNAL,
    )

    # An unrelated ticket whose internal note mentions her address.
    unrelated_ticket = ticket_make(queue=queue, requester=other, subject="Unrelated", body="Nothing about her")
    ticket_services.message_post(
        ticket_id=unrelated_ticket.pk,
        author=agent,
        body=f"Check with {EMAIL} too",
        visibility=Message.Visibility.INTERNAL,
    )

    # Knowledge base: feedback with a comment, a logged search.
    article = kb_services.article_create(title="Resetting passwords", body="Steps.", actor=manager)
    kb_services.article_publish(article_id=article.pk, actor=manager)
    kb_services.article_feedback_record(
        article_id=article.pk, user=person, session_key="", helpful=False, comment=f"Zelda says no {MARKER}"
    )
    kb_services.search_log_record(query=f"zelda {MARKER}", result_count=0, user=person)

    # Settings, tokens, a session (the client's login above).
    mail_services.notification_preference_set(user=person, kind="agent_reply", enabled=False)
    apikey_services.api_token_create(user=person, name=f"{NAME}'s laptop")

    return History(
        person=person,
        other=other,
        agent=agent,
        admin=admin_user,
        portal_ticket=portal_ticket,
        email_ticket=email_ticket,
        other_ticket=other_ticket,
        unrelated_ticket=unrelated_ticket,
    )
