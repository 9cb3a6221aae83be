"""Real Chromium: an agent finds a held mail on the ticket page, reads why it
was held and releases it; it then appears in the conversation."""

import pytest
from django.test import Client

from mail import services
from mail.models import InboundMessage
from tests.factories import ticket_make
from tests.mail.conftest import mime


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agent_releases_held_mail_from_the_ticket_page(live_server, page, mail_settings, queue, agent, customer):
    ticket = ticket_make(queue=queue, requester=customer, subject="Printer jam")
    raw = mime(sender=customer.email, subject=f"Re: [#{ticket.pk}] Printer jam", body="Tray 2 is empty now.")
    inbound = services.inbound_receive(raw, source="http")
    assert inbound.status == InboundMessage.Status.HELD
    client = Client()
    client.force_login(agent)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )

    page.goto(f"{live_server.url}/agent/tickets/{ticket.pk}/")
    panel = page.locator("#held-mail-panel")
    assert "is not authenticated" in panel.inner_text()
    assert "Tray 2 is empty now." in panel.inner_text()
    assert "Tray 2 is empty now." not in page.locator(".ticket-main").inner_text().replace(panel.inner_text(), "")
    panel.get_by_role("button", name="Release").click()
    page.wait_for_load_state()
    assert page.locator("#held-mail-panel").count() == 0
    assert "Tray 2 is empty now." in page.locator(".ticket-main").inner_text()
    inbound.refresh_from_db()
    assert inbound.status == InboundMessage.Status.PROCESSED and inbound.resolved_by == agent
