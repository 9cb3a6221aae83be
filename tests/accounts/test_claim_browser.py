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


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_customer_who_wrote_by_email_sets_a_password_and_rates_on_the_portal(live_server, page, settings, queue, agent):
    """Issue 15's end-to-end case: the e-mail customer's request is answered
    (New -> Open) and solved; the solved e-mail offers CSAT and CES (offer
    events on delivery). In Chromium they follow "View your request", claim
    the account by setting a password from the e-mailed link (real MIME from
    the outbox), see "Solved" and rate CSAT and CES on the portal page. The
    answers are events by the customer and the metrics engine counts them:
    support CSAT 1/1 = 100 %, response rate 1/1; CES mean 6, easy 100 %."""
    from datetime import timedelta

    from django.utils import timezone

    from metrics.surveys import Window, survey_report_load
    from tests.accounts.conftest import parsed
    from tickets import services
    from tickets.models import Ticket, TicketEvent

    K = TicketEvent.Kind
    settings.HELPDESK_BASE_URL = live_server.url
    settings.DEFAULT_FROM_EMAIL = "helpdesk@acme.test"
    settings.HELPDESK_MAIL_DEFAULT_QUEUE = queue.slug
    settings.HELPDESK_INBOUND_PROCESS = "inline"
    queue.send_acknowledgement = True
    queue.save(update_fields=["send_acknowledgement"])
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)

    inbound = mail_services.inbound_receive(
        mime(sender="Erin Example <erin@customer.example>", subject="Router keeps rebooting"), source="http"
    )
    ticket_id = inbound.ticket_id
    erin = User.objects.get(email="erin@customer.example")
    assert not erin.is_active and not erin.has_usable_password()
    [view] = {u for u in links_in(outbox()[-1]) if f"/portal/tickets/{ticket_id}/" in u}
    assert Ticket.objects.get(pk=ticket_id).status == "new"
    services.message_post(ticket_id=ticket_id, author=agent, body="Please update the firmware to 2.4.")
    assert Ticket.objects.get(pk=ticket_id).status == "open"  # the first public agent reply
    services.ticket_transition(ticket_id=ticket_id, target="solved", actor=agent)
    solved_mail = [m for m in outbox() if m.to == ["erin@customer.example"]][-1]
    _msg, text = parsed(solved_mail)
    assert "/surveys/rate/" in text  # CSAT and CES links (a support queue)
    offers = TicketEvent.objects.filter(ticket_id=ticket_id, kind=K.SURVEY_OFFERED)
    assert sorted(offers.values_list("data__survey", flat=True)) == ["ces", "csat"]
    outbox().clear()

    # Signed out, the receipt's link leads to the login page: set a password.
    page.goto(view)
    assert "/accounts/login/" in page.url
    page.get_by_role("link", name="set a new password").click()
    page.get_by_label("Email").fill("erin@customer.example")
    page.get_by_role("button", name="Email me a link").click()
    assert "Check your email" in page.locator("main").inner_text()
    [sent] = outbox()
    message, body = parsed(sent)
    assert message["To"] == "erin@customer.example"
    [link] = [u for u in links_in(sent) if "/accounts/password-reset/" in u]
    assert link.startswith(live_server.url + "/") and link in body
    page.goto(link)
    page.locator("#id_new_password1").fill("erin-new-pass-77")
    page.locator("#id_new_password2").fill("erin-new-pass-77")
    page.get_by_role("button", name="Set password and sign in").click()
    page.wait_for_url(f"{live_server.url}/portal/")
    erin.refresh_from_db()
    assert erin.is_active and erin.email_confirmed_at is not None

    # The ticket page: the customer-facing label and the rating forms.
    page.goto(view)
    assert "Solved" in page.locator(".ticket-head").inner_text()
    csat = page.locator("#survey-csat")
    csat.get_by_label("5 - Great").check()
    csat.get_by_label("Comment (optional)").fill("Fixed it, thanks")
    csat.get_by_role("button", name="Send CSAT rating").click()
    page.wait_for_load_state()
    assert "Thank you for your feedback." in page.content()
    ces = page.locator("#survey-ces")
    ces.get_by_label("6 - Easy", exact=True).check()
    ces.get_by_role("button", name="Send CES rating").click()
    page.wait_for_load_state()
    assert "Your answer: 6" in page.locator("#survey-ces").inner_text()
    assert problems == []

    answers = TicketEvent.objects.filter(ticket_id=ticket_id, kind__in=[K.CSAT, K.CES]).order_by("id")
    assert [(e.kind, e.data["value"], e.actor_id, e.actor_role) for e in answers] == [
        (K.CSAT, 5, erin.pk, "customer"),
        (K.CES, 6, erin.pk, "customer"),
    ]
    now = timezone.now()
    report = survey_report_load(window=Window(start=now - timedelta(hours=1), end=now + timedelta(hours=1)))
    assert report["csat"]["support"] == {
        "n": 1,
        "satisfied": 1,
        "csat_pct": 100.0,
        "mean_score": 5.0,
        "offered": 1,
        "responded": 1,
        "response_rate_pct": 100.0,
    }
    assert report["ces"]["support"] == {
        "n": 1,
        "easy": 1,
        "easy_pct": 100.0,
        "mean_score": 6.0,
        "offered": 1,
        "responded": 1,
        "response_rate_pct": 100.0,
    }
    assert report["csat"]["service"]["n"] == 0
    [comment] = [r.comment for r in report["responses"]["csat"]]
    assert comment == "Fixed it, thanks"

    # The account now works with its password alone.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#id_email").fill("erin@customer.example")
    page.locator("#id_password").fill("erin-new-pass-77")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/portal/")
    assert "Router keeps rebooting" in page.locator("main").inner_text()
