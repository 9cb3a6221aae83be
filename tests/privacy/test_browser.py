"""Real Chromium: an admin finds a customer, downloads the export, is
refused with a wrong confirmation, then erases the customer."""

import json

import pytest
from django.test import Client

from accounts.models import User
from privacy.models import PrivacyAuditEvent
from tests.factories import CustomerFactory, UserFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_exports_and_erases_in_the_browser(live_server, page):
    admin = UserFactory(role=User.Role.ADMIN)
    person = CustomerFactory(email="browser.person@example.org", name="Bruno Browserman")
    client = Client()
    client.force_login(admin)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )

    page.goto(f"{live_server.url}/agent/tickets/")
    page.locator("details.nav-more summary").click()  # the one menu's "More" (docs/workspace-list.md)
    page.get_by_role("link", name="Privacy").click()
    page.get_by_label("E-mail or name").fill("bruno")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name="browser.person@example.org").click()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download export (JSON)").click()
    data = json.loads(open(download.value.path(), encoding="utf-8").read())  # noqa: SIM115
    assert data["account"]["email"] == "browser.person@example.org"

    page.get_by_label("Type the person's e-mail address to confirm").fill("someone.else@example.org")
    page.get_by_role("button", name="Erase this person").click()
    page.get_by_text("exactly").wait_for(timeout=5000)
    assert User.objects.get(pk=person.pk).email == "browser.person@example.org"

    page.get_by_label("Type the person's e-mail address to confirm").fill("browser.person@example.org")
    page.get_by_role("button", name="Erase this person").click()
    page.get_by_text("has been erased").wait_for(timeout=5000)
    assert User.objects.get(pk=person.pk).email == f"erased-{person.pk}@invalid"
    assert PrivacyAuditEvent.objects.filter(kind="person.erased", actor=admin, via="page").exists()
