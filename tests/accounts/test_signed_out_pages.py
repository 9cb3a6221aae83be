"""The signed-out pages are cheap and stay secure (issue #22: the sign-in
page must not be slower than django-helpdesk's). Load-independent bounds:
no database query and no session for an anonymous visitor, the markup that
is the same for everyone kept per process ({% memo %}), Python calls per
request; what varies (CSRF token, `next`, a bound form's values and errors)
never comes from the kept markup. docs/accounts.md, "Cost of the signed-out
pages"."""

import cProfile
import pstats
import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import User
from tests.workspace.costs import count_nodes

# Python calls of one repeated anonymous GET /accounts/login/ through the
# test client under pytest (cProfile's count, deterministic): 10,210 before
# the page's fixed markup was kept and the CSP header built once, 5,609 after.
CALLS_LOGIN = 7_000
SIGNED_OUT = ["/accounts/login/", "/accounts/password-reset/", "/accounts/magic-link/", "/accounts/signup/"]


def _token(html: bytes) -> str:
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None
    return found.group(1).decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", SIGNED_OUT)
def test_signed_out_page_reads_nothing_and_starts_no_session(path, django_assert_num_queries):
    """An anonymous GET makes no query, writes no session row and sets no
    session cookie; it sets the CSRF cookie and every security header."""
    client = Client()
    with django_assert_num_queries(0):
        response = client.get(path, secure=True)
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert settings.CSRF_COOKIE_NAME in response.cookies
    assert not Session.objects.exists()
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response["Permissions-Policy"]
    if settings.SECURE_HSTS_SECONDS:
        assert response["Strict-Transport-Security"].startswith(f"max-age={settings.SECURE_HSTS_SECONDS}")


@pytest.mark.django_db
def test_repeated_login_page_renders_few_template_nodes(monkeypatch):
    """The heading, the unbound fields, the links, the anonymous header and
    the language form are kept per language: a repeated sign-in page renders
    the CSRF token, `next` and a handful of tags (it rendered ~100 nodes)."""
    Client().get("/accounts/login/")
    seen = count_nodes(monkeypatch)
    response = Client().get("/accounts/login/?next=/portal/")
    assert response.status_code == 200 and b'name="next" value="/portal/"' in response.content
    assert seen["components/field.html"] == 0
    assert sum(seen.values()) <= 40, seen.most_common(8)


@pytest.mark.django_db
def test_login_page_python_calls_are_bounded():
    """Python function calls of a repeated anonymous sign-in page."""
    Client().get("/accounts/login/")
    profile = cProfile.Profile()
    client = Client()
    profile.enable()
    response = client.get("/accounts/login/")
    profile.disable()
    assert response.status_code == 200
    calls = pstats.Stats(profile).total_calls
    assert calls < CALLS_LOGIN, calls


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de", "es"])
def test_kept_markup_follows_language_token_next_and_bound_forms(language):
    """Each answer has its own CSRF token and `next`; a failed sign-in shows
    what was typed and the errors, and the next visitor's page shows none of it."""
    User.objects.create_user(email="known@example.com", password="right-pass-123", role="customer")
    first, second = Client(), Client()
    for c in (first, second):
        c.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page1 = first.get("/accounts/login/?next=/portal/new/").content
    page2 = second.get("/accounts/login/?next=/agent/my-stats/").content
    assert _token(page1) != _token(page2)
    assert b'value="/portal/new/"' in page1 and b"/agent/my-stats/" not in page1
    assert b'value="/agent/my-stats/"' in page2 and b"/portal/new/" not in page2
    assert f'<html lang="{language}"'.encode() in page1

    failed = first.post("/accounts/login/", {"email": "typed@example.com", "password": "wrong-pass"}).content
    assert b'value="typed@example.com"' in failed and b'class="errors' in failed
    after = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=language).content
    assert b"typed@example.com" not in after and b'class="errors' not in after
    assert b'id="id_email"' in after and b'id="id_password"' in after

    ok = second.post("/accounts/login/", {"email": "known@example.com", "password": "right-pass-123"})
    assert ok.status_code == 302


@pytest.mark.django_db
def test_login_page_offers_single_sign_on_when_configured(settings):
    """The SSO button is outside the kept markup: configuring it shows at once."""
    settings.OIDC_ISSUER = "https://idp.example.com"
    settings.OIDC_PROVIDER_NAME = "Acme SSO"
    assert b"Sign in with Acme SSO" in Client().get("/accounts/login/?next=/portal/").content
    settings.OIDC_ISSUER = ""
    assert b"Acme SSO" not in Client().get("/accounts/login/").content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/accounts/signup/", {"name": "Typed Name", "email": "not-an-address", "password1": "x", "password2": "y"}),
        ("/accounts/password-reset/", {"email": "not-an-address"}),
        ("/accounts/magic-link/", {"email": "not-an-address"}),
    ],
)
def test_other_signed_out_forms_show_their_errors_to_their_sender_only(path, data):
    """The kept fields of an unbound form never stand in for a bound one."""
    client = Client()
    client.get(path)
    failed = client.post(path, data).content
    assert b"not-an-address" in failed and b'class="errors' in failed
    after = Client().get(path).content
    assert b"not-an-address" not in after and b'class="errors' not in after and b'id="id_email"' in after
