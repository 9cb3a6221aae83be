"""The agent's pages come out in German for an agent who reads German: the
ticket list, a ticket, the macro list and the held-mail page, from the
shipped catalogue (docs/languages.md, "Agent vocabulary").

The language is chosen with the language cookie: the middleware honouring
User.language is separate work; the agent's preference is set too."""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils.translation import trans_real

from mail import services as mail_services
from mail.models import InboundMessage
from tests.factories import AgentFactory, ticket_make
from tests.mail.conftest import mail_settings, mime  # noqa: F401 (mail_settings: the fixture, used by name)
from tickets.models import Macro

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def compiled_catalogues():
    """locale/*/django.mo from the .po files (the .mo files are not committed)."""
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        call_command("compilemessages", ignore_patterns=[".venv", "node_modules", ".venv-load"], verbosity=0)
    finally:
        os.chdir(here)
    # A catalogue loaded before the compile (empty) must not stay cached.
    trans_real._translations = {}
    trans_real._default = None


@pytest.fixture
def german_agent(db, client, queue, compiled_catalogues):
    user = AgentFactory(name="Anna Agentin")
    if hasattr(user, "language"):
        user.language = "de"
        user.save(update_fields=["language"])
    queue.members.add(user)
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    return user


@pytest.fixture
def ticket(request, queue, customer):
    request.getfixturevalue("mail_settings")
    return ticket_make(queue=queue, requester=customer, subject="Drucker klemmt")


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "de"
    return response.content.decode()


def _check(page: str, german: list[str], english: list[str]) -> None:
    assert [s for s in german if s not in page] == []
    assert [s for s in english if s in page] == []


def test_ticket_list_in_german(client, german_agent, ticket):
    page = _page(client, reverse("tickets:agent-ticket-list") + "?view=all")
    _check(
        page,
        german=["Alle Tickets", "Warteschlange", "Bearbeiter", "Massenaktion", "Betreff", "Anfragender", "Neu"],
        english=["Bulk action", "Apply to tickets", "Requester", "Saved views", "My open tickets", ">Subject<"],
    )


def test_ticket_page_in_german(client, german_agent, ticket):
    page = _page(client, reverse("tickets:agent-ticket-detail", args=[ticket.pk]))
    _check(
        page,
        german=["Antworten oder interne Notiz hinzufügen", "Interne Notiz", "Schnellaktionen", "Verknüpfte Tickets"],
        english=["Reply or add an internal note", "Quick actions", "Linked tickets", "Log time", "created this"],
    )


def test_macro_list_in_german(client, german_agent):
    Macro.objects.create(name="Begrüßung", body="Guten Tag", owner=german_agent)
    page = _page(client, reverse("automation:macro-list"))
    _check(page, german=["Makros", "Neues Makro", "Persönlich", "Aktiviert"], english=["New macro", "Personal"])


def test_held_mail_page_in_german(client, german_agent, ticket, customer):
    raw = mime(sender=customer.email, subject=f"Re: [#{ticket.pk}] x", body="Immer noch.")
    assert mail_services.inbound_receive(raw, source="http").status == InboundMessage.Status.HELD
    page = _page(client, reverse("mail:agent-held-list"))
    _check(
        page,
        german=["Zurückgehaltene E-Mails", "Freigeben", "Verwerfen", "Grund der Zurückhaltung"],
        english=["Held email", "Release", "Discard", "Why held"],
    )
