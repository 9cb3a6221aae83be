"""Real Chromium: a customer who first wrote by e-mail follows "View your
request" from the receipt, asks for a sign-in link on the login page,
follows the e-mailed link and sees their ticket in the portal."""

import pytest

from accounts.models import User
from mail import services as mail_services
from mail.models import Notification
from tests.accounts.conftest import links_in, outbox
from tests.mail.conftest import mime


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_customer_who_first_wrote_by_email_claims_the_account(live_server, page, settings, queue):
    settings.HELPDESK_BASE_URL = live_server.url
    settings.DEFAULT_FROM_EMAIL = "helpdesk@acme.test"
    settings.HELPDESK_MAIL_DEFAULT_QUEUE = queue.slug
    queue.send_acknowledgement = True  # test queues are created with it off (tests/factories.py)
    queue.save(update_fields=["send_acknowledgement"])
    settings.HELPDESK_INBOUND_PROCESS = "inline"
    problems: list[str] = []
    # A Content-Security-Policy violation shows as a console error.
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)

    inbound = mail_services.inbound_receive(
        mime(sender="Erin Example <erin@customer.example>", subject="Router keeps rebooting"), source="http"
    )
    ticket_id = inbound.ticket_id
    assert not User.objects.get(email="erin@customer.example").is_active
    receipt = Notification.objects.get(ticket_id=ticket_id, kind=Notification.Kind.RECEIVED)
    mail_services.notification_deliver(notification_id=receipt.pk)
    [view] = {u for u in links_in(outbox()[-1]) if f"/portal/tickets/{ticket_id}/" in u}
    outbox().clear()

    page.goto(view)  # not signed in: the login page, which offers a link
    assert "/accounts/login/" in page.url
    page.get_by_role("link", name="Email me a login link").click()
    page.get_by_label("Email").fill("erin@customer.example")
    page.get_by_role("button", name="Send link").click()
    assert "on its way" in page.locator("main").inner_text()

    assert [m.to for m in outbox()] == [["erin@customer.example"]]
    [link] = [u for u in links_in(outbox()[0]) if "/accounts/magic-link/" in u]
    assert link.startswith(live_server.url + "/")
    page.goto(link)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/portal/tickets/{ticket_id}/")
    assert "Router keeps rebooting" in page.locator("main").inner_text()
    page.goto(f"{live_server.url}/portal/")
    assert "Router keeps rebooting" in page.locator("main").inner_text()
    assert User.objects.get(email="erin@customer.example").is_active
    assert problems == []
