"""Real Chromium: a customer rates a solved ticket on the portal (CSAT and
CES), and the e-mail rating link's page records a rating only after the
click on Send. No CSP violations on these pages."""

import pytest
from django.test import Client

from surveys import services as surveys
from tests.factories import ticket_make
from tickets import services
from tickets.models import TicketEvent

K = TicketEvent.Kind
CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) { window.__csp.push(e.violatedDirective); });
"""


def _values(ticket, kind):
    return list(
        TicketEvent.objects.filter(ticket=ticket, kind=kind).order_by("id").values_list("data__value", flat=True)
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_customer_rates_on_the_portal_and_through_the_link(live_server, page, queue, agent, customer):
    ticket = ticket_make(queue=queue, requester=customer, subject="Laptop will not boot")
    services.message_post(ticket_id=ticket.pk, author=agent, body="Hold the power button for 30 s.")
    services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    page.add_init_script(CSP_LISTENER)

    # 1. The e-mail link (opened signed out, as from a mail client).
    link = f"{live_server.url}/surveys/rate/{surveys.survey_token_make(ticket_id=ticket.pk, survey='csat', value=5)}/"
    page.goto(link)
    assert page.locator("#survey-rate input[value='5']").is_checked()
    assert _values(ticket, K.CSAT) == []  # opening the page recorded nothing
    page.locator("#survey-rate").get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    assert "Thank you" in page.locator("#survey-rate").inner_text()
    assert _values(ticket, K.CSAT) == [5]
    assert page.evaluate("window.__csp") == []

    # 2. The portal ticket page, signed in: change CSAT to 4, give CES 6.
    client = Client()
    client.force_login(customer)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/portal/tickets/{ticket.pk}/")
    assert "Solved" in page.locator(".ticket-head").inner_text()
    csat = page.locator("#survey-csat")
    assert "Your answer: 5" in csat.inner_text()
    csat.get_by_label("4 - Good").check()
    csat.get_by_label("Comment (optional)").fill("Quick, thanks")
    csat.get_by_role("button", name="Send CSAT rating").click()
    page.wait_for_load_state()
    assert "Thank you for your feedback." in page.content()
    ces = page.locator("#survey-ces")
    ces.get_by_label("6 - Easy", exact=True).check()
    ces.get_by_role("button", name="Send CES rating").click()
    page.wait_for_load_state()
    assert _values(ticket, K.CSAT) == [5, 4]
    assert _values(ticket, K.CES) == [6]
    assert "Your answer: 6" in page.locator("#survey-ces").inner_text()
    assert page.evaluate("window.__csp") == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_nps_link_in_chromium_records_only_the_click(live_server, page, settings, customer):
    """The NPS relationship survey's e-mailed link opened in Chromium (signed
    out): the link's value is selected and nothing is recorded until Send;
    the click records one ticketless nps.responded. No CSP violations."""
    from mail.models import Notification
    from surveys import nps

    settings.HELPDESK_BASE_URL = live_server.url
    row = Notification.objects.create(
        recipient=customer, to_email=customer.email, kind=Notification.Kind.NPS_SURVEY, subject="NPS", body=""
    )
    page.add_init_script(CSP_LISTENER)
    page.goto(nps.nps_url(customer_id=customer.pk, notification_id=row.pk, value=8))
    form = page.locator("#survey-nps")
    assert form.locator("input[value='8']").is_checked()
    assert not TicketEvent.objects.filter(kind=K.NPS).exists()
    form.locator("input[value='9']").check()
    form.locator("textarea").fill("Friendly and quick")
    form.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    assert "Thank you" in form.inner_text()
    [answer] = TicketEvent.objects.filter(kind=K.NPS)
    assert (answer.ticket_id, answer.actor_id, answer.data["value"], answer.data["comment"]) == (
        None,
        customer.pk,
        9,
        "Friendly and quick",
    )
    assert page.evaluate("window.__csp") == []
