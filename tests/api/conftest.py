"""API fixtures: a small world with two queues, two customers' tickets, an
internal note and attachments, and clients authenticated per role."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import ticket_make
from tickets import services
from tickets.models import Message, RequestType

SECRET_NOTE = "INTERNAL-NOTE-SECRET-7f3a"
SECRET_FILE = "internal-secret-file.txt"


@pytest.fixture(autouse=True)
def _api_settings(settings):
    """No throttling surprises and no settle delay on the event feed, unless
    a test sets its own rates."""
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_read": "100000/min", "api_write": "100000/min", "api_anon": "100000/min"},
    }
    settings.HELPDESK_API_EVENTS_SETTLE_SECONDS = 0
    yield
    cache.clear()


@pytest.fixture
def api_client_for():
    """An APIClient logged in as `user` (None: anonymous)."""

    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def request_type(queue):
    return RequestType.objects.create(slug="broken", name="Something is broken", queue=queue)


@pytest.fixture
def world(db, queue, service_queue, agent, other_agent, manager, customer, other_customer, request_type):
    """`own`: the customer's ticket in the agent's queue, with a public reply
    carrying a file, an internal note carrying a file; `foreign`: the other
    customer's ticket in the other agent's queue."""
    from tickets.services import IncomingFile

    own = ticket_make(queue=queue, requester=customer, subject="Printer on fire")
    # Opened before the reply: a first public agent reply opens a New ticket
    # itself (issue 15), and opening an open ticket is refused.
    services.ticket_transition(ticket_id=own.pk, target="open", actor=agent, note=SECRET_NOTE)
    services.message_post(
        ticket_id=own.pk,
        author=agent,
        body="Public answer",
        attachments=[IncomingFile(filename="public.txt", content=b"public bytes", content_type="text/plain")],
    )
    services.message_post(
        ticket_id=own.pk,
        author=agent,
        body=SECRET_NOTE,
        visibility=Message.Visibility.INTERNAL,
        attachments=[IncomingFile(filename=SECRET_FILE, content=b"secret bytes")],
    )
    foreign = ticket_make(queue=service_queue, requester=other_customer, subject="Refund please")
    webhook, webhook_delivery = _webhook_world(manager, own)
    article = _published_article(manager)
    public_attachment = own.messages.get(body="Public answer").attachments.get()
    internal_attachment = own.messages.get(body=SECRET_NOTE).attachments.get()
    return {
        "own": own,
        "foreign": foreign,
        "public_attachment": public_attachment,
        "internal_attachment": internal_attachment,
        "webhook": webhook,
        "webhook_delivery": webhook_delivery,
        "article": article,
        "users": {
            "anonymous": None,
            "customer": customer,
            "other_customer": other_customer,
            "agent": agent,
            "other_agent": other_agent,
            "manager": manager,
        },
    }


def _webhook_world(manager, ticket):
    """A subscription with one delivery row (of an event on `ticket`)."""
    from webhooks import services as webhook_services
    from webhooks.models import WebhookDelivery

    sub = webhook_services.subscription_create(url="https://example.com/hook", events=["*"], actor=manager)
    (row,) = webhook_services.webhooks_for_event(ticket.events.order_by("id").first())
    return sub, WebhookDelivery.objects.get(pk=row.pk)


def _published_article(manager):
    from knowledge_base import services as kb_services

    article = kb_services.article_create(
        title="Printer troubleshooting", body="Turn the printer off and on again.", actor=manager
    )
    return kb_services.article_publish(article_id=article.pk, actor=manager)
