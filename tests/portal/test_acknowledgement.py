"""Issue 15: every new customer request (portal, API, e-mail) gets a
"we received your request" e-mail with the number and a link, unless its
queue turns acknowledgements off (admin, config file/API)."""

import json

import pytest
from django.core import mail as django_mail
from django.core.management import call_command
from rest_framework.test import APIClient

from mail import services as mail_services
from mail.models import Notification
from tests.factories import QueueFactory, ticket_make
from tickets import config
from tickets.models import Queue, RequestType, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ack_queue(settings):
    settings.HELPDESK_BASE_URL = "https://help.acme.test"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return QueueFactory(slug="desk", kind="support", send_acknowledgement=True)


@pytest.fixture
def request_type(ack_queue):
    return RequestType.objects.create(slug="question", name="A question", queue=ack_queue)


def test_model_default_is_on():
    assert Queue._meta.get_field("send_acknowledgement").default is True
    assert Queue.objects.create(slug="fresh", name="Fresh", kind="service").send_acknowledgement is True


def test_portal_request_is_acknowledged_with_number_and_link(client, customer, request_type):
    client.force_login(customer)
    response = client.post("/portal/new/", {"request_type": request_type.pk, "subject": "Wifi", "description": "Down"})
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Wifi")
    row = Notification.objects.get(ticket=ticket)
    assert (row.kind, row.recipient_id, row.to_email) == ("received", customer.pk, customer.email)
    assert f"#{ticket.pk}" in row.body
    assert f"https://help.acme.test/portal/tickets/{ticket.pk}/" in row.body
    assert "Status: Received" in row.body
    # Delivered as a real message.
    mail_services.notification_deliver(notification_id=row.pk)
    sent = django_mail.outbox[-1]
    assert sent.to == [customer.email] and f"[#{ticket.pk}]" in sent.subject
    assert f"https://help.acme.test/portal/tickets/{ticket.pk}/" in sent.body


def test_api_request_is_acknowledged(customer, request_type):
    api = APIClient()
    api.force_authenticate(customer)
    response = api.post(
        "/api/v1/tickets/", {"subject": "By API", "body": "x", "request_type": "question"}, format="json"
    )
    assert response.status_code == 201, response.content
    row = Notification.objects.get(ticket_id=response.json()["id"])
    assert row.kind == "received"


def test_queue_switched_off_sends_nothing(client, customer, request_type, ack_queue):
    ack_queue.send_acknowledgement = False
    ack_queue.save(update_fields=["send_acknowledgement"])
    client.force_login(customer)
    client.post("/portal/new/", {"request_type": request_type.pk, "subject": "Quiet", "description": "x"})
    assert not Notification.objects.filter(ticket__subject="Quiet").exists()


def test_agent_logged_ticket_is_not_acknowledged(ack_queue, customer, agent):
    ticket = ticket_make(queue=ack_queue, requester=customer, actor=agent, channel=Ticket.Channel.PHONE)
    assert not Notification.objects.filter(ticket=ticket).exists()


def test_admin_form_edits_the_switch(client, ack_queue):
    from tests.factories import UserFactory

    client.force_login(UserFactory(role="admin", is_staff=True, is_superuser=True))
    page = client.get(f"/admin/tickets/queue/{ack_queue.pk}/change/").content.decode()
    assert 'name="send_acknowledgement"' in page


def test_config_validates_applies_and_dumps_the_switch(tmp_path):
    doc = {"queues": [{"slug": "q1", "name": "Q1", "kind": "support", "send_acknowledgement": "yes"}]}
    errors = config.config_validate(doc)
    assert any("send_acknowledgement" in e.path and "true or false" in e.message for e in errors)
    doc["queues"][0]["send_acknowledgement"] = False
    assert config.config_validate(doc) == []
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    call_command("helpdesk_config", "apply", str(path))
    assert Queue.objects.get(slug="q1").send_acknowledgement is False
    dumped = config.config_dump()
    assert next(q for q in dumped["queues"] if q["slug"] == "q1")["send_acknowledgement"] is False
