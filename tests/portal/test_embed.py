"""Issue 15: the embeddable request form. No login; framing allowed only
for the configured origins on that view; throttled; nothing is created
until the address is confirmed (a GET of the link creates nothing)."""

import re

import pytest
from django.core import mail as django_mail
from django.core.cache import cache

from mail.models import Notification
from tests.factories import QueueFactory
from tickets.models import RequestType, Ticket

pytestmark = pytest.mark.django_db

FORM = {"name": "Ann Lee", "email": "Ann@Example.org", "subject": "Order 55 missing", "description": "Never came."}


@pytest.fixture
def embed_settings(settings):
    settings.HELPDESK_BASE_URL = "https://help.acme.test"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.HELPDESK_EMBED_ALLOWED_ORIGINS = ["https://www.shop.example", "not an origin"]
    settings.HELPDESK_EMBED_MAX_PER_HOUR = 3
    cache.clear()
    return settings


@pytest.fixture
def rtype(embed_settings):
    queue = QueueFactory(slug="orders", kind="service", send_acknowledgement=True)
    return RequestType.objects.create(slug="order", name="An order", queue=queue)


def _confirm_path(body):
    return re.search(r"https://help\.acme\.test(/portal/embed/confirm/[^/\s]+/)", body).group(1)


def test_form_is_framable_only_by_configured_origins(client, rtype):
    response = client.get("/portal/embed/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors https://www.shop.example" in csp
    assert "not an origin" not in csp
    assert "X-Frame-Options" not in response
    # Every other page still refuses framing.
    other = client.get("/accounts/login/")
    assert "frame-ancestors 'none'" in other["Content-Security-Policy"] and other["X-Frame-Options"] == "DENY"


def test_without_origins_nobody_may_frame_it(client, rtype, settings):
    settings.HELPDESK_EMBED_ALLOWED_ORIGINS = []
    response = client.get("/portal/embed/")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_submit_sends_confirmation_and_creates_nothing_until_confirmed(client, rtype):
    response = client.post("/portal/embed/", {**FORM, "request_type": rtype.pk})
    assert response.status_code == 200
    assert b"Check your e-mail" in response.content
    assert not Ticket.objects.exists()
    message = django_mail.outbox[-1]
    assert message.to == ["ann@example.org"]
    path = _confirm_path(message.body)
    # A scanner's GET/HEAD of the link creates nothing.
    assert client.get(path).status_code == 200
    assert client.head(path).status_code == 200
    assert not Ticket.objects.exists()
    # The person's click.
    done = client.post(path)
    assert done.status_code == 200
    ticket = Ticket.objects.get()
    assert f"#{ticket.pk}".encode() in done.content
    assert (ticket.subject, ticket.queue, ticket.channel) == ("Order 55 missing", rtype.queue, "portal")
    assert ticket.requester.email == "ann@example.org" and ticket.requester.is_active is False
    # Acknowledged through the outbox like every portal request.
    assert Notification.objects.get(ticket=ticket).kind == "received"
    # Confirming again returns the same ticket.
    client.post(path)
    assert Ticket.objects.count() == 1


def test_existing_customer_becomes_the_requester(client, rtype, customer):
    client.post("/portal/embed/", {**FORM, "email": customer.email.upper(), "request_type": rtype.pk})
    client.post(_confirm_path(django_mail.outbox[-1].body))
    assert Ticket.objects.get().requester == customer


def test_bad_input_is_shown_next_to_fields(client, rtype):
    response = client.post("/portal/embed/", {**FORM, "email": "nope", "request_type": rtype.pk})
    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    assert django_mail.outbox == []


def test_throttled_after_the_hourly_limit(client, rtype):
    for _ in range(3):
        assert client.post("/portal/embed/", {**FORM, "request_type": rtype.pk}).status_code == 200
    response = client.post("/portal/embed/", {**FORM, "request_type": rtype.pk})
    assert response.status_code == 429
    assert b"Too many requests" in response.content
    assert len(django_mail.outbox) == 3


@pytest.mark.parametrize("token", ["garbage", "x" * 300])
def test_bad_confirmation_links_are_400(client, rtype, token):
    assert client.get(f"/portal/embed/confirm/{token}/").status_code == 400
    assert client.post(f"/portal/embed/confirm/{token}/").status_code == 400
    assert not Ticket.objects.exists()
