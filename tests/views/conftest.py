"""Fixtures for the HTML view tests: two queues, two customers, two agents,
a manager, and one ticket on each side with public and internal files."""

from dataclasses import dataclass

import pytest
from django.core.cache import cache

from accounts.models import User
from tests.factories import ticket_make
from tickets import services
from tickets.models import Attachment, Message, Ticket

INTERNAL_TOKEN = "INTERNAL-ONLY-7f3a9c"  # must never reach a customer


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _clear_cache():
    """Login throttling is cache-based; every test starts with a clean slate."""
    cache.clear()
    yield
    cache.clear()


@dataclass
class World:
    users: dict[str, User | None]
    tickets: dict[str, Ticket]
    public_file: dict[str, Attachment]
    internal_file: dict[str, Attachment]


@pytest.fixture
def world(queue, service_queue, agent, other_agent, manager, customer, other_customer) -> World:
    """Ticket "a": queue `tech`, requested by `customer` (the owner).
    Ticket "b": queue `billing`, requested by `other_customer`.
    Each has a public attachment on its description and an internal note
    (with an attachment) whose text is INTERNAL_TOKEN."""
    tickets, public_file, internal_file = {}, {}, {}
    for key, q, requester, staff in (("a", queue, customer, agent), ("b", service_queue, other_customer, other_agent)):
        ticket = ticket_make(
            queue=q,
            requester=requester,
            subject=f"Printer on fire {key}",
            body="Public description",
            attachments=[services.IncomingFile(filename="log.txt", content=b"public log", content_type="text/plain")],
        )
        note = services.message_post(
            ticket_id=ticket.pk,
            author=staff,
            body=f"{INTERNAL_TOKEN} do not tell the customer",
            visibility=Message.Visibility.INTERNAL,
            attachments=[services.IncomingFile(filename="secret.txt", content=b"internal", content_type="text/plain")],
        )
        tickets[key] = ticket
        public_file[key] = Attachment.objects.get(message__ticket=ticket, message__is_description=True)
        internal_file[key] = note.attachments.get()
    users = {
        "anonymous": None,
        "owner": customer,
        "other_customer": other_customer,
        "agent_a": agent,
        "agent_b": other_agent,
        "manager": manager,
    }
    return World(users=users, tickets=tickets, public_file=public_file, internal_file=internal_file)


@pytest.fixture
def client_for(client):
    """`client_for(user)`: the test client logged in as `user` (None = anonymous)."""

    def make(user):
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return make
