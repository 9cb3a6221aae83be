"""The bulk bar's error, as an agent sees it in Chromium (issue #14)."""

import re
from pathlib import Path

import pytest

from accounts.models import User
from tests.factories import CustomerFactory, QueueFactory, ticket_make

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "pw-Secret-123"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_bulk_error_shows_on_the_list_in_chromium(live_server, page):
    """Choosing a priority while the action is still "Assign": the list
    comes back with the message by the bulk bar and the ticket still
    selected; picking "Set priority" then applies it."""
    support = QueueFactory(slug="tech", name="Tech support", kind="support")
    alice = User.objects.create_user(email="alice@acme.test", password=PASSWORD, role="agent", name="Alice")
    support.members.add(alice)
    ticket = ticket_make(queue=support, requester=CustomerFactory(), subject="Printer jam")
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/agent/tickets/"))
    page.goto(f"{base}/agent/tickets/?view=all")
    page.get_by_label(f"Select #{ticket.pk}").check()
    # "Update properties" is the default action now (#14); the hint is for
    # an explicit single-property action with another field filled in.
    page.select_option("#bulk-form select[name=action]", "assign")
    page.select_option("#bulk-form select[name=priority]", "high")
    page.get_by_role("button", name="Apply to tickets").click()
    errors = page.locator("#bulk-errors")
    errors.wait_for()
    assert "Choose who to assign." in errors.inner_text()
    assert "pick “Set priority” as the action" in errors.inner_text()
    assert page.get_by_label(f"Select #{ticket.pk}").is_checked()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bulk-error.png"), full_page=True)
    page.select_option("#bulk-form select[name=action]", "priority")
    page.get_by_role("button", name="Apply to tickets").click()
    page.wait_for_selector("#bulk-summary")
    assert "1 of 1 ticket updated" in page.locator("#bulk-summary").inner_text()
