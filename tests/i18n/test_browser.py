"""Real Chromium: a customer switches the portal to German, then Spanish,
and the choice stays after signing out and in again, on another browser
too (it is saved to the profile, docs/languages.md). No CSP violations."""

import pytest

from tests.factories import ticket_make

CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) { window.__csp.push(e.violatedDirective); });
"""


def _sign_in(page, base, email, button):
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_email").fill(email)
    page.locator("#id_password").fill("pw-Secret-123")
    page.locator("main").get_by_role("button", name=button).click()
    page.wait_for_load_state()


def _switch(page, language):
    page.locator("#language-select").select_option(language)
    page.locator("#language-submit").click()
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_customer_switches_the_portal_language_and_keeps_it(live_server, page, browser, queue, customer):
    ticket_make(queue=queue, requester=customer, subject="Printer jam")
    page.add_init_script(CSP_LISTENER)
    _sign_in(page, live_server.url, customer.email, "Log in")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="My requests").is_visible()

    _switch(page, "de")
    assert page.url.endswith("/portal/")  # back on the same page
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.get_by_role("heading", name="Meine Anfragen").is_visible()
    assert "Eingegangen" in page.locator("table.tickets").inner_text()  # the status, too

    _switch(page, "es")
    assert page.get_by_role("heading", name="Mis solicitudes").is_visible()
    customer.refresh_from_db()
    assert customer.language == "es"

    page.get_by_role("button", name="Cerrar sesión").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Iniciar sesión").is_visible()  # the login page, still Spanish
    assert page.evaluate("window.__csp") == []

    # Another browser: no language cookie, an English Accept-Language. The
    # profile decides once signed in.
    context = browser.new_context(locale="en-US")
    other = context.new_page()
    other.goto(f"{live_server.url}/accounts/login/")
    assert other.locator("html").get_attribute("lang") == "en"
    _sign_in(other, live_server.url, customer.email, "Log in")
    assert other.get_by_role("heading", name="Mis solicitudes").is_visible()
    context.close()
