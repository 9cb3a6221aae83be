"""Real Chromium: a manager, whose role must use two-factor sign-in, is
sent to enrolment after the password, scans (reads) the key, confirms with
a code, keeps the recovery codes, then signs in again with a code
(docs/sign-in.md). No Content-Security-Policy violation on the way."""

import pytest

from tests.accounts.otp import totp
from tests.factories import ManagerFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_manager_enrols_and_signs_in_with_a_code(live_server, page, settings):
    settings.HELPDESK_2FA_REQUIRED_ROLES = ["manager", "admin"]
    manager = ManagerFactory(email="mona@acme.test")
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)

    def password_step() -> None:
        page.goto(f"{live_server.url}/accounts/login/?next=/settings/queues/")
        page.get_by_label("Email").fill(manager.email)
        page.get_by_label("Password").fill("pw-Secret-123")
        page.get_by_role("button", name="Log in").click()

    password_step()
    page.wait_for_url("**/accounts/2fa/enrol/**")
    assert "Your role must use a second factor" in page.locator("main").inner_text()
    assert page.locator(".qr svg").is_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    # Nothing else is reachable before enrolling.
    page.goto(f"{live_server.url}/agent/tickets/")
    page.wait_for_url("**/accounts/2fa/enrol/**")

    page.get_by_label("Code").fill(totp(secret))
    page.get_by_role("button", name="Confirm").click()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="I saved them, continue").click()
    page.wait_for_url("**/agent/tickets/")  # where the detour above was going

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")
    password_step()
    page.wait_for_url("**/accounts/2fa/verify/**")
    page.get_by_label("Code").fill(totp(secret, step_offset=1))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/settings/queues/")
    assert "Queues" in page.locator("main").inner_text()
    assert problems == []
