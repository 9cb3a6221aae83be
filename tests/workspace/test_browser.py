"""Real Chromium against a live server: an agent filters a queue, moves with
j/k, opens a ticket, replies with a macro, adds an internal note (n),
escalates to service with a reason, solves with s; a second agent sees the
collision notice. Screenshots of the list and the ticket page are saved."""

import re
from pathlib import Path

import pytest

from accounts.models import User
from tests.factories import CustomerFactory, QueueFactory, ticket_make
from tickets.models import Macro, Message, Ticket, TicketEvent

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "pw-Secret-123"


def _login(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/agent/tickets/"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agent_workspace_in_chromium(live_server, page, browser):
    support = QueueFactory(slug="tech", name="Tech support", kind="support")
    service = QueueFactory(slug="billing", name="Billing", kind="service")
    other_q = QueueFactory(slug="hw", name="Hardware", kind="support")
    alice = User.objects.create_user(email="alice@acme.test", password=PASSWORD, role="agent", name="Alice Agent")
    bob = User.objects.create_user(email="bob@acme.test", password=PASSWORD, role="agent", name="Bob Builder")
    for q in (support, service, other_q):
        q.members.add(alice, bob)
    ann = CustomerFactory(name="Ann Lee", first_name="Ann")
    tickets = [ticket_make(queue=support, requester=ann, subject=f"Support case {i}") for i in range(3)]
    ticket_make(queue=other_q, requester=ann, subject="Hardware case")
    Macro.objects.create(
        name="Ask for invoice",
        body="Hello {{ requester.first_name }}, please send the invoice for #{{ ticket.number }}.",
        actions={"priority": "high", "add_tags": ["invoice"]},
    )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = live_server.url

    _login(page, base, "alice@acme.test")
    # Filter a queue: only its tickets are listed.
    page.goto(f"{base}/agent/tickets/?view=all")
    page.select_option("#id_queue", str(support.pk))
    page.get_by_role("button", name="Apply", exact=True).click()
    page.wait_for_url(re.compile(rf"queue={support.pk}"))
    rows = page.locator("tr[data-row]")
    assert rows.count() == 3
    assert "Hardware case" not in page.content()
    # Live counts are in the rail; support and service look different.
    assert page.locator(".ws-rail .kind-dot.kind-service").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "workspace-list.png"), full_page=True)

    # j j k selects the second row (newest first); Enter opens it.
    page.locator("h1").click()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("j")
    assert "is-selected" in (rows.nth(1).get_attribute("class") or "")
    target = int(rows.nth(1).locator("td").nth(1).inner_text().lstrip("#"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/agent/tickets/{target}/$"))
    assert target in {t.pk for t in tickets}

    # A second agent opens the same ticket and sees Alice in the notice.
    bob_ctx = browser.new_context()
    bob_page = bob_ctx.new_page()
    _login(bob_page, base, "bob@acme.test")
    bob_page.goto(f"{base}/agent/tickets/{target}/")
    bob_page.wait_for_selector(".collision-notice", timeout=10_000)
    assert "Alice Agent" in bob_page.locator(".collision-notice").inner_text()

    # ? opens the shortcuts help, Escape closes it.
    page.keyboard.press("?")
    assert page.locator("#shortcut-help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#shortcut-help").is_visible()

    # Reply with a macro: insert, edit, r focuses the reply box, send.
    page.select_option("#macro-select", label="Ask for invoice")
    page.get_by_role("button", name="Insert").click()
    page.wait_for_url(re.compile(r"macro="))
    body = page.locator("#reply-form textarea[name=body]")
    assert body.input_value() == f"Hello Ann, please send the invoice for #{target}."
    page.locator("h1").click()
    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.name") == "body"
    page.keyboard.press("End")
    page.keyboard.type(" Thanks!")
    page.locator("#reply-form button[type=submit]").click()
    page.wait_for_selector("text=Reply sent.")
    t = Ticket.objects.get(pk=target)
    assert t.priority == "high" and list(t.tags.values_list("name", flat=True)) == ["invoice"]
    assert Message.objects.filter(ticket=t, body__endswith="Thanks!", visibility="public").exists()

    # n: an internal note, shown as such.
    page.locator("h1").click()
    page.keyboard.press("n")
    page.keyboard.type("Customer is on the legacy plan")
    page.locator("#reply-form button[type=submit]").click()
    page.wait_for_selector("text=Internal note added.")
    assert page.locator(".msg-internal").filter(has_text="legacy plan").count() == 1

    # Escalate to the service queue in the properties panel (issue #14: one
    # panel instead of six forms): a missing reason is shown by the field.
    page.select_option("#id_prop-queue", str(service.pk))
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("#id_prop-reason-errors")
    page.fill("#id_prop-reason", "Billing question, not a bug")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("#properties-panel .saved")
    assert Ticket.objects.get(pk=target).kind == "service"

    # s solves.
    page.locator("h1").click()
    page.keyboard.press("s")
    page.wait_for_selector("text=Status set to Solved.")
    assert Ticket.objects.get(pk=target).status == "solved"
    page.screenshot(path=str(ARTIFACTS / "workspace.png"), full_page=True)

    kinds = set(TicketEvent.objects.filter(ticket_id=target).values_list("kind", flat=True))
    assert {"message.created", "priority.changed", "tags.changed", "group.changed", "status.changed"} <= kinds
    # Leaving the pages sends the final handle-time beacons; let the live
    # server write them before the database is flushed.
    bob_page.goto("about:blank")
    page.goto("about:blank")
    bob_ctx.close()
    page.wait_for_timeout(1500)
    sessions = TicketEvent.objects.filter(ticket_id=target, kind="work_session.recorded")
    assert sessions.filter(actor__email="alice@acme.test").exists()
    assert not errors, errors
