"""Real Chromium: a manager sets up business hours and an SLA in the Settings
pages, puts them on a queue and offers it on the portal; a customer's new
request to that queue gets the due time of those hours and that target."""

import re
from zoneinfo import ZoneInfo

import pytest

from accounts.models import User
from helpdesk.lib.business_hours import BusinessCalendar
from tests.factories import QueueFactory
from tickets.models import Ticket

PASSWORD = "pw-Secret-123"


def _login(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_manager_sets_up_hours_and_sla_and_a_portal_request_gets_the_due_time(live_server, page, browser):
    queue = QueueFactory(slug="tech", name="Tech support", kind="support")
    User.objects.create_user(email="mia@acme.test", password=PASSWORD, role="manager", name="Mia Manager")
    User.objects.create_user(email="ann@example.com", password=PASSWORD, role="customer", name="Ann Lee")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # CSP violations ("Refused to ..."); a form answered 400 also logs a failed load, which is expected.
    page.on("console", lambda msg: errors.append(msg.text) if "Refused" in msg.text else None)
    base = live_server.url

    _login(page, base, "mia@acme.test")
    page.get_by_role("link", name="Settings", exact=True).click()
    nav = page.get_by_role("navigation", name="Settings sections")

    # A calendar: Paris, weekdays 09:00-17:00, typed in the hours grid.
    nav.get_by_role("link", name="Calendars").click()
    page.get_by_role("link", name="New calendar").click()
    page.get_by_label("Name").fill("Paris office")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        page.get_by_label(day).fill("09:00-17:00")
    page.get_by_role("button", name="Save calendar").click()
    page.wait_for_selector("text=Calendar 'Paris office' saved")
    assert page.locator(".preview tbody tr").count() == 14

    # An SLA policy: normal tickets get a first response in 4 business hours.
    nav.get_by_role("link", name="SLA policies").click()
    page.get_by_role("link", name="New SLA policy").click()
    page.get_by_label("Name").fill("Gold")
    page.get_by_label("Normal: First response").fill("4 business hourz")
    page.get_by_role("button", name="Save policy").click()
    assert "unknown unit 'hourz'" in page.locator("#id_target_normal_first_response-errors").inner_text()
    page.get_by_label("Normal: First response").fill("4 business hours")
    page.get_by_role("button", name="Save policy").click()
    page.wait_for_selector("text=SLA policy 'Gold' saved")

    # Both on the queue.
    nav.get_by_role("link", name="Queues").click()
    page.get_by_role("link", name="Tech support").click()
    page.get_by_label("Calendar").select_option(label="Paris office")
    page.get_by_label("SLA policy").select_option(label="Gold")
    page.get_by_role("button", name="Save queue").click()
    page.wait_for_selector("text=Queue 'Tech support' saved")

    # Offered on the portal.
    nav.get_by_role("link", name="Request types").click()
    page.get_by_role("link", name="New request type").click()
    page.get_by_label("Slug").fill("broken")
    page.get_by_label("Name").fill("Something is broken")
    page.get_by_label("Queue").select_option(label="Tech support")
    page.get_by_role("button", name="Save request type").click()
    page.wait_for_selector("text=Request type 'Something is broken' saved")

    # The history shows the page edits.
    nav.get_by_role("link", name="History").click()
    assert page.locator("tr.history-row[data-via='page']").count() >= 4

    # A customer's new request.
    customer_ctx = browser.new_context()
    cpage = customer_ctx.new_page()
    cpage.on("pageerror", lambda exc: errors.append(str(exc)))
    _login(cpage, base, "ann@example.com")
    cpage.goto(f"{base}/portal/new/")
    cpage.get_by_label("What do you need help with?").select_option(label="Something is broken")
    cpage.get_by_label("Subject").fill("The printer is on fire")
    cpage.get_by_label("Description").fill("Smoke everywhere.")
    cpage.get_by_role("button", name=re.compile("Send|Submit|Create", re.I)).click()
    cpage.wait_for_url(re.compile(r"/portal/tickets/\d+/"))
    customer_ctx.close()

    ticket = Ticket.objects.get(subject="The printer is on fire")
    assert ticket.queue_id == queue.pk and ticket.priority == "normal"
    hours = BusinessCalendar(
        timezone="Europe/Paris", hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    expected = hours.add(ticket.created_at, 4 * 3600)
    assert ticket.first_response_due_at is not None
    assert abs((ticket.first_response_due_at - expected).total_seconds()) < 1
    local = ticket.first_response_due_at.astimezone(ZoneInfo("Europe/Paris"))
    assert local.weekday() < 5 and 9 <= local.hour + local.minute / 60 <= 17
    assert not errors, errors


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_manager_schedules_a_calendar_change_and_sees_its_versions(live_server, page):
    """A past "Takes effect" is refused on its input; a later one schedules a
    version, listed with who made it (docs/settings.md#calendars)."""
    from datetime import timedelta

    from django.utils import timezone

    from tickets.config import config_apply

    User.objects.create_user(email="mia@acme.test", password=PASSWORD, role="manager", name="Mia Manager")
    config_apply(
        {"calendars": [{"name": "Paris office", "timezone": "Europe/Paris", "hours": {"mon": [["09:00", "17:00"]]}}]}
    )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if "Refused" in msg.text else None)
    _login(page, live_server.url, "mia@acme.test")
    page.goto(f"{live_server.url}/settings/calendars/")
    page.get_by_role("link", name="Paris office").click()
    assert page.locator("#calendar-versions tbody tr").count() == 1

    page.get_by_label("Monday").fill("10:00-18:00")
    page.get_by_label("Takes effect").fill("2020-01-06T09:00")
    page.get_by_role("button", name="Save calendar").click()
    assert "must not be in the past" in page.locator("#id_effective_from-errors").inner_text()

    later = (timezone.now() + timedelta(days=3)).astimezone(ZoneInfo("Europe/Paris"))
    page.get_by_label("Takes effect").fill(later.strftime("%Y-%m-%dT09:00"))
    page.get_by_role("button", name="Save calendar").click()
    page.wait_for_selector("text=Calendar 'Paris office' saved")
    rows = page.locator("#calendar-versions tbody tr")
    assert rows.count() == 2
    assert rows.first.get_attribute("data-state") == "scheduled" and "mia@acme.test" in rows.first.inner_text()
    assert later.strftime("%Y-%m-%d") in rows.first.inner_text()
    assert errors == []
