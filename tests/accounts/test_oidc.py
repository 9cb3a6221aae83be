"""OpenID Connect sign-in against a real provider started by the tests, on
its own port, through the real HTTP flow (docs/sign-in.md): discovery,
authorization code, token exchange, ID token validation, group -> role."""

import pytest
import requests

from accounts.models import User
from tests.accounts.oidc_provider import page_heading, provider, proxy, sign_in, user_set
from tests.factories import CustomerFactory

ROLE_MAP = "helpdesk-admins:admin,helpdesk-managers:manager,support:agent"
pytestmark = pytest.mark.django_db(transaction=True)


def configure(settings, issuer: str) -> None:
    settings.OIDC_ISSUER = issuer
    settings.OIDC_CLIENT_ID = "helpdesk"
    settings.OIDC_CLIENT_SECRET = "client-secret"
    settings.OIDC_ROLE_MAP = ROLE_MAP
    settings.OIDC_PROVIDER_NAME = "Acme SSO"


@pytest.fixture
def issuer(settings):
    with provider() as url:
        configure(settings, url)
        yield url


def test_login_page_offers_the_provider_only_when_configured(client, settings, issuer):
    assert "Sign in with Acme SSO" in client.get("/accounts/login/").content.decode()
    settings.OIDC_ISSUER = ""
    assert "Sign in with" not in client.get("/accounts/login/").content.decode()
    assert client.get("/accounts/oidc/login/").status_code == 404


def test_staff_signs_in_and_is_created_with_the_mapped_role(live_server, issuer):
    user_set(issuer, "alice", email="alice@acme.test", name="Alice Agent", groups=["support"])
    response = sign_in(live_server.url, "alice")
    assert response.status_code == 200
    assert response.url == f"{live_server.url}/agent/tickets/"
    alice = User.objects.get(email="alice@acme.test")
    assert alice.role == User.Role.AGENT and alice.name == "Alice Agent"
    assert not alice.has_usable_password()


def test_groups_map_to_the_highest_role_and_are_read_again_at_each_login(live_server, issuer):
    user_set(issuer, "bob", email="Bob@Acme.test", groups=["support", "helpdesk-managers", "sales"])
    assert sign_in(live_server.url, "bob").status_code == 200
    assert User.objects.get(email__iexact="bob@acme.test").role == User.Role.MANAGER

    user_set(issuer, "bob", email="bob@acme.test", groups=["helpdesk-admins"])
    assert sign_in(live_server.url, "bob").status_code == 200
    assert User.objects.get(email__iexact="bob@acme.test").role == User.Role.ADMIN
    assert User.objects.filter(email__iexact="bob@acme.test").count() == 1

    # An existing account (here a customer) is updated, not duplicated.
    carol = CustomerFactory(email="carol@acme.test")
    user_set(issuer, "carol", email="carol@acme.test", groups=["support"])
    assert sign_in(live_server.url, "carol").status_code == 200
    carol.refresh_from_db()
    assert carol.role == User.Role.AGENT


def test_person_in_no_mapped_group_is_refused(live_server, issuer):
    user_set(issuer, "dave", email="dave@acme.test", groups=["sales"])
    response = sign_in(live_server.url, "dave")
    assert response.status_code == 403
    assert "not in a group that may use the help desk" in response.text
    assert page_heading(response.text) == "You cannot sign in with Acme SSO"
    assert not User.objects.filter(email="dave@acme.test").exists()

    user_set(issuer, "erin", email="erin@acme.test")  # no groups claim at all
    assert sign_in(live_server.url, "erin").status_code == 403


def test_sso_counts_as_two_factor_unless_the_setting_says_no(live_server, settings, issuer):
    settings.HELPDESK_2FA_REQUIRED_ROLES = ["manager", "admin"]
    user_set(issuer, "mia", email="mia@acme.test", groups=["helpdesk-managers"])
    session = requests.Session()
    assert sign_in(live_server.url, "mia", session).status_code == 200
    assert session.get(f"{live_server.url}/settings/queues/", timeout=10).url.endswith("/settings/queues/")

    settings.HELPDESK_OIDC_SATISFIES_2FA = False
    page = session.get(f"{live_server.url}/settings/queues/", timeout=10)
    assert "/accounts/2fa/enrol/" in page.url


def test_callback_without_a_started_flow_is_refused(live_server, issuer):
    response = requests.get(f"{live_server.url}/accounts/oidc/callback/?code=abc&state=forged", timeout=10)
    assert response.status_code == 403
    assert "failed" in response.text


def test_token_from_another_issuer_is_refused(live_server, settings, issuer, caplog):
    """The proxy is the issuer the app trusts. It passes everything to the
    real provider; with `foreign` set, the token request reaches it under
    another host name, so the (validly signed) ID token names another
    issuer. The same flow without the switch signs in: the proxy itself
    is not what fails."""
    foreign = {"on": False}

    def route_for(own_url: str):
        own_host = own_url.split("://", 1)[1]

        def route(path: str) -> tuple[str, str]:
            if foreign["on"] and path.startswith("/oauth2/token"):
                return issuer, own_host.replace("localhost", "127.0.0.1")
            return issuer, own_host

        return route

    with proxy(route_for) as proxy_url:
        configure(settings, proxy_url)
        user_set(proxy_url, "fay", email="fay@acme.test", groups=["support"])
        assert sign_in(live_server.url, "fay").url == f"{live_server.url}/agent/tickets/"

        foreign["on"] = True
        User.objects.filter(email="fay@acme.test").delete()
        refused = sign_in(live_server.url, "fay")
        assert refused.status_code == 403
        assert "failed" in refused.text
        assert "Invalid claim: 'iss'" in caplog.text
        assert not User.objects.filter(email="fay@acme.test").exists()


def test_token_signed_by_another_provider_is_refused(live_server, settings, issuer, caplog):
    """A second real provider answers the flow and signs the ID token with
    its own key, under the trusted issuer name; the keys the app checks
    with are the trusted provider's. Refused."""
    with provider() as other:

        def route_for(own_url: str):
            own_host = own_url.split("://", 1)[1]
            return lambda path: (issuer if path.startswith("/jwks") else other, own_host)

        with proxy(route_for) as proxy_url:
            configure(settings, proxy_url)
            user_set(proxy_url, "gus", email="gus@acme.test", groups=["helpdesk-admins"])
            refused = sign_in(live_server.url, "gus")
            assert refused.status_code == 403
            assert "bad_signature" in caplog.text
            assert not User.objects.filter(email="gus@acme.test").exists()
