"""Real Chromium: a manager creates a macro (watching its live preview) and
a routing rule through the Settings pages; a customer's new portal request
is routed by the rule; an agent applies the macro on that ticket."""

import re
from pathlib import Path

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import QueueFactory
from tickets.models import Macro, Message, RequestType, RoutingRule, Ticket

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "pw-Secret-123"


def _as(page, base, user):
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_manager_sets_up_macro_and_rule_agent_applies_it(live_server, page):
    base = live_server.url
    general = QueueFactory(slug="general", name="General", kind="support")
    billing = QueueFactory(slug="billing", name="Billing", kind="service")
    RequestType.objects.create(slug="question", name="A question", queue=general)
    manager = User.objects.create_user(email="mia@acme.test", password=PASSWORD, role="manager", name="Mia Manager")
    agent = User.objects.create_user(email="ben@acme.test", password=PASSWORD, role="agent", name="Ben Agent")
    billing.members.add(agent)
    customer = User.objects.create_user(
        email="carl@globex.com", password=PASSWORD, role="customer", name="Carl <b>Customer</b>", first_name="Carl"
    )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    # A manager writes a macro and previews it live against an existing ticket.
    _as(page, base, customer)
    page.goto(f"{base}/portal/new/")
    page.get_by_label("Subject").fill("Hello there")
    page.get_by_label("Description").fill("Just saying hi")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_load_state()
    first = Ticket.objects.get(subject="Hello there")

    _as(page, base, manager)
    page.goto(f"{base}/settings/macros/new/")
    page.get_by_label("Name").fill("Invoice reply")
    page.get_by_label("Reply text").fill("Hi {{ requester.name }}, we are on ticket #{{ ticket.number }}.")
    page.get_by_label("Set status").select_option("pending")
    page.get_by_label("Add tags").fill("invoice")
    page.get_by_label("Preview with ticket #").fill(str(first.pk))
    preview = page.locator("#macro-preview [data-preview=ok]")
    preview.wait_for(timeout=5000)
    # As the posted reply will read: the name's markup through the sanitiser.
    assert preview.inner_text().strip() == f"Hi Carl Customer, we are on ticket #{first.pk}."
    preview_html = preview.inner_html().replace(str(first.pk), "N")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "settings-macro-form.png"), full_page=True)
    # Leave the ticket box first (its change event refreshes the preview once more).
    page.locator("h1").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Save macro").click()
    page.wait_for_url(re.compile(r"/settings/macros/$"))
    macro = Macro.objects.get(name="Invoice reply")
    assert macro.owner_id is None and macro.actions == {"status": "pending", "add_tags": ["invoice"]}

    # A routing rule with form controls; a bad domain is refused at its field first.
    page.goto(f"{base}/settings/routing/new/")
    page.get_by_label("Name").fill("Invoices to billing")
    page.get_by_label("Portal").check()
    page.get_by_label("Requester's email domain is one of").fill("globex")
    page.get_by_label("Subject or text contains one of").fill("invoice, receipt")
    page.get_by_label("Move to queue").select_option(str(billing.pk))
    page.get_by_role("button", name="Save rule").click()
    page.locator("#id_requester_domains-errors").wait_for()
    assert "Not a domain name: globex" in page.locator("#id_requester_domains-errors").inner_text()
    page.get_by_label("Requester's email domain is one of").fill("globex.com")
    page.get_by_role("button", name="Save rule").click()
    page.wait_for_url(re.compile(r"/settings/routing/$"))
    assert RoutingRule.objects.get().set_queue == billing
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "settings-routing.png"), full_page=True)

    # The customer's new request is routed by the rule.
    _as(page, base, customer)
    page.goto(f"{base}/portal/new/")
    page.get_by_label("Subject").fill("Invoice is wrong")
    page.get_by_label("Description").fill("The amount is double.")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_load_state()
    routed = Ticket.objects.get(subject="Invoice is wrong")
    assert routed.queue_id == billing.pk

    # The manager's test-against-ticket agrees and says why.
    _as(page, base, manager)
    page.goto(f"{base}/settings/routing/?ticket={routed.pk}")
    result = page.locator("#rule-test-result")
    assert "rule Invoices to billing would match first" in result.inner_text()
    assert result.locator("[data-holds=true]").count() == 3

    # The agent applies the macro on the routed ticket.
    _as(page, base, agent)
    page.goto(f"{base}/agent/tickets/{routed.pk}/")
    page.select_option("#macro-select", label="Invoice reply")
    page.get_by_role("button", name="Insert").click()
    page.wait_for_url(re.compile(r"macro="))
    inserted = page.locator("#reply-form textarea[name=body]").input_value()
    assert inserted == f"Hi Carl <b>Customer</b>, we are on ticket #{routed.pk}.", inserted
    page.locator("#reply-form button[type=submit]").click()
    page.wait_for_selector("text=Reply sent.")
    routed.refresh_from_db()
    assert routed.status == "pending"
    assert list(routed.tags.values_list("name", flat=True)) == ["invoice"]
    assert Message.objects.filter(ticket=routed, author=agent, body__contains=f"ticket #{routed.pk}").exists()
    # The posted reply shows what the preview showed.
    shown = page.locator(".msg-body", has_text=f"ticket #{routed.pk}").last
    assert shown.inner_html().replace(str(routed.pk), "N") == preview_html
    page.screenshot(path=str(ARTIFACTS / "settings-macro-applied.png"), full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
