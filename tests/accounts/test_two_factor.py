"""Two-factor sign-in for staff through the pages (docs/sign-in.md):
enrolment, the code after the password, recovery codes, enforcement per
role, the lock-out, the admin site and the API."""

import datetime as dt

import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from accounts.models import User
from apikeys import services as token_services
from tests.accounts.otp import recovery_codes_in, secret_in, totp
from tests.factories import UserFactory

PASSWORD = "pw-Secret-123"
ENROL = "/accounts/2fa/enrol/"
VERIFY = "/accounts/2fa/verify/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def required(settings):
    """Production's default: managers and admins must use two-factor."""
    settings.HELPDESK_2FA_REQUIRED_ROLES = ["manager", "admin"]


def enrol(client, next_path: str = "") -> tuple[str, list[str]]:
    """Set up the authenticator through the page; the secret and codes."""
    page = client.get(ENROL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'class="segno"' in html  # the QR code, drawn on the server
    secret = secret_in(html)
    done = client.post(ENROL, {"code": totp(secret), "next": next_path})
    assert done.status_code == 200, done.content.decode()[:2000]
    codes = recovery_codes_in(done.content.decode())
    assert len(codes) == 10
    return secret, codes


def password_login(client, user):
    return client.post(reverse("accounts:login"), {"email": user.email, "password": PASSWORD})


def test_manager_without_device_is_sent_to_enrolment_and_reaches_nothing_else(client, required, manager):
    client.force_login(manager)
    for path in ("/settings/", "/agent/tickets/", "/accounts/2fa/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(ENROL), (path, response["Location"])
    api = client.get("/api/v1/tickets/")
    assert api.status_code == 403 and api.json()["code"] == "two_factor_required"
    # Not the code page either: there is no device to ask a code of.
    assert client.get(VERIFY)["Location"].startswith(ENROL)

    _secret, _codes = enrol(client, next_path="/settings/")
    assert TOTPDevice.objects.get(user=manager).confirmed
    assert client.get("/settings/").status_code == 302  # settings home -> queues
    assert client.get("/settings/queues/").status_code == 200
    assert client.get("/api/v1/tickets/").status_code == 200


def test_wrong_first_code_does_not_confirm(client, required, manager):
    client.force_login(manager)
    secret = secret_in(client.get(ENROL).content.decode())
    bad = client.post(ENROL, {"code": "000000" if totp(secret) != "000000" else "111111"})
    assert bad.status_code == 400 and "does not match" in bad.content.decode()
    assert not TOTPDevice.objects.filter(user=manager, confirmed=True).exists()
    # Reloading keeps the same secret (the phone already scanned it).
    assert secret_in(client.get(ENROL).content.decode()) == secret


def test_login_asks_for_the_code_after_the_password(client, required, manager, django_user_model):
    client.force_login(manager)
    secret, _codes = enrol(client)
    client.logout()

    response = password_login(client, manager)
    assert response.status_code == 302
    assert client.get(response["Location"])["Location"].startswith(VERIFY)
    assert client.get("/agent/tickets/")["Location"].startswith(VERIFY)
    page = client.get(VERIFY + "?next=/settings/queues/")
    assert "Enter your code" in page.content.decode()

    wrong = client.post(VERIFY, {"code": "12345x"})
    assert wrong.status_code == 400 and "not valid" in wrong.content.decode()
    # The enrolment used this step's code: the next step's (allowed drift) signs in.
    ok = client.post(VERIFY, {"code": totp(secret, step_offset=1), "next": "/settings/queues/"})
    assert ok.status_code == 302 and ok["Location"] == "/settings/queues/"
    assert client.get("/settings/queues/").status_code == 200


def test_a_used_code_cannot_be_replayed(client, required, manager):
    client.force_login(manager)
    secret, _ = enrol(client)
    client.logout()
    password_login(client, manager)
    code = totp(secret, step_offset=1)
    assert client.post(VERIFY, {"code": code}).status_code == 302
    client.logout()
    password_login(client, manager)
    assert client.post(VERIFY, {"code": code}).status_code == 400


def test_recovery_code_works_once_and_regenerating_replaces_them(client, required, manager):
    client.force_login(manager)
    _secret, codes = enrol(client)
    client.logout()

    password_login(client, manager)
    assert client.post(VERIFY, {"code": codes[0].upper()}).status_code == 302
    assert client.get("/agent/tickets/").status_code == 200
    assert two_factor.recovery_codes_left(manager) == 9
    client.logout()

    password_login(client, manager)
    again = client.post(VERIFY, {"code": codes[0]})
    assert again.status_code == 400
    assert client.post(VERIFY, {"code": codes[1]}).status_code == 302

    fresh = client.post(reverse("accounts:two-factor-recovery-codes"))
    new_codes = recovery_codes_in(fresh.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    client.logout()
    password_login(client, manager)
    assert client.post(VERIFY, {"code": codes[2]}).status_code == 400  # old ones are gone
    assert client.post(VERIFY, {"code": new_codes[0]}).status_code == 302


def test_enforcement_follows_the_role_and_the_setting(client, settings, required, agent, customer):
    # Agents are not required by default: they work without a device.
    client.force_login(agent)
    assert client.get("/agent/tickets/").status_code == 200
    # An admin makes agents required on the Settings page.
    admin = UserFactory(role=User.Role.ADMIN, email="admin@acme.test")
    admin_client = type(client)()
    admin_client.force_login(admin)
    _secret, _ = enrol(admin_client)
    saved = admin_client.post("/settings/sign-in/", {"required_roles": ["agent"], "oidc_satisfies_2fa": "on"})
    assert saved.status_code == 302
    policy = two_factor.policy_get()
    assert policy.required_roles == {"agent", "manager", "admin"}  # the environment's floor stays
    assert policy.page_roles == {"agent"}
    entry = LogEntry.objects.filter(object_repr=two_factor.POLICY_KEY).latest("id")
    assert entry.actor_email == admin.email and entry.additional_data["via"] == "page"

    assert client.get("/agent/tickets/")["Location"].startswith(ENROL)
    # Customers never are, whatever the setting; they have no two-factor pages.
    client.force_login(customer)
    assert client.get("/portal/").status_code == 200
    assert client.get(ENROL).status_code == 404


def test_environment_floor_cannot_be_removed_and_managers_only_read(client, required, manager):
    admin = UserFactory(role=User.Role.ADMIN, email="admin2@acme.test")
    client.force_login(admin)
    enrol(client)
    assert client.post("/settings/sign-in/", {"required_roles": []}).status_code == 302
    assert two_factor.policy_get().required_roles == {"manager", "admin"}

    other = type(client)()
    other.force_login(manager)
    enrol(other)
    page = other.get("/settings/sign-in/")
    assert page.status_code == 200 and "Only an admin can change these." in page.content.decode()
    assert other.post("/settings/sign-in/", {"required_roles": ["agent"]}).status_code == 403
    assert "agent" not in two_factor.policy_get().required_roles


def test_optional_role_may_turn_it_on_and_off(client, required, agent):
    client.force_login(agent)
    secret, _ = enrol(client)
    client.logout()
    password_login(client, agent)
    assert client.get("/agent/tickets/")["Location"].startswith(VERIFY)  # on: asked like anyone
    client.post(VERIFY, {"code": totp(secret, step_offset=1)})
    assert client.post(reverse("accounts:two-factor-remove")).status_code == 302
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert client.get("/agent/tickets/").status_code == 200


def test_required_role_cannot_turn_it_off(client, required, manager):
    client.force_login(manager)
    enrol(client)
    client.post(reverse("accounts:two-factor-remove"))
    assert TOTPDevice.objects.filter(user=manager, confirmed=True).exists()


def test_lock_out_after_five_wrong_codes(client, required, manager):
    client.force_login(manager)
    secret, codes = enrol(client)
    client.logout()
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1), tick=True) as traveller:
        password_login(client, manager)
        for attempt in range(4):
            assert client.post(VERIFY, {"code": "000001"}).status_code == 400, attempt
        fifth = client.post(VERIFY, {"code": "000001"})
        assert fifth.status_code == 429
        assert "locked for 15 minutes" in fifth.content.decode()
        # Locked: the right code and a recovery code are refused too.
        assert client.post(VERIFY, {"code": totp(secret)}).status_code == 429
        assert client.post(VERIFY, {"code": codes[0]}).status_code == 429
        assert "locked for 15 minutes" in client.get(VERIFY).content.decode()
        assert client.get("/agent/tickets/")["Location"].startswith(VERIFY)
        # The lock is on the shared store, not the session: a new sign-in is locked as well.
        other = type(client)()
        password_login(other, manager)
        assert other.post(VERIFY, {"code": totp(secret)}).status_code == 429

        traveller.shift(dt.timedelta(minutes=16))
        assert client.post(VERIFY, {"code": totp(secret)}).status_code == 302
        assert client.get("/agent/tickets/").status_code == 200


def test_admin_site_is_behind_the_second_factor(client, required):
    admin = UserFactory(role=User.Role.ADMIN, email="root@acme.test", is_staff=True, is_superuser=True)
    client.force_login(admin)
    secret, _ = enrol(client)
    client.logout()
    login = client.post("/admin/login/?next=/admin/", {"username": admin.email, "password": PASSWORD})
    assert login.status_code == 302
    assert client.get("/admin/")["Location"].startswith(VERIFY)
    assert client.get("/admin/accounts/user/")["Location"].startswith(VERIFY)
    client.post(VERIFY, {"code": totp(secret, step_offset=1)})
    assert client.get("/admin/").status_code == 200
    # An admin resets a person who lost their phone: their devices are listed there.
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 200


def test_api_tokens_are_unchanged(required, manager):
    from rest_framework.test import APIClient

    assert not two_factor.has_device(manager)
    created = token_services.api_token_create(user=manager, name="script")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {created.key}")
    assert api.get("/api/v1/tickets/").status_code == 200


def test_session_api_call_needs_the_code(client, required, manager):
    client.force_login(manager)
    _secret, _ = enrol(client)
    client.logout()
    password_login(client, manager)
    response = client.get("/api/v1/tickets/")
    assert response.status_code == 403 and response.json()["code"] == "two_factor_required"


def test_email_link_sign_in_also_asks_for_the_code(client, required, manager):
    """Every way in ends at the code page: here a password-reset link."""
    from accounts import services

    client.force_login(manager)
    enrol(client)
    client.logout()
    from tests.accounts.conftest import outbox  # account mail goes through the outbox

    services.password_reset_send(email=manager.email)
    link = next(line for line in outbox()[-1].body.split() if "/accounts/password-reset/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.post("/" + path, {"new_password1": "An0ther-long-pass", "new_password2": "An0ther-long-pass"})
    assert response.status_code == 302
    assert client.get("/agent/tickets/")["Location"].startswith(VERIFY)


def test_agents_factory_is_not_required_by_default_settings(client, manager):
    """The test settings require nobody, so other tests' staff sign in as before."""
    client.force_login(manager)
    assert client.get("/agent/tickets/").status_code == 200


def test_policy_api_admin_changes_it_audited_and_validated(required, manager):
    from rest_framework.test import APIClient

    admin = UserFactory(role=User.Role.ADMIN, email="api-admin@acme.test")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_services.api_token_create(user=admin, name='t').key}")
    body = api.get("/api/v1/config/sign-in/").json()
    assert body["environment_roles"] == ["manager", "admin"] and body["required_roles"] == []

    bad = api.put(
        "/api/v1/config/sign-in/", {"required_roles": ["customer"], "oidc_satisfies_2fa": True}, format="json"
    )
    assert bad.status_code == 400 and "required_roles" in str(bad.json())
    ok = api.put("/api/v1/config/sign-in/", {"required_roles": ["agent"], "oidc_satisfies_2fa": False}, format="json")
    assert ok.status_code == 200
    assert ok.json()["effective_required_roles"] == ["agent", "manager", "admin"]
    assert ok.json()["effective_oidc_satisfies_2fa"] is False
    entry = LogEntry.objects.filter(object_repr=two_factor.POLICY_KEY).latest("id")
    assert entry.additional_data["via"] == "api" and entry.actor_email == admin.email

    as_manager = APIClient()
    as_manager.credentials(HTTP_AUTHORIZATION=f"Bearer {token_services.api_token_create(user=manager, name='t').key}")
    assert as_manager.get("/api/v1/config/sign-in/").status_code == 200
    refused = as_manager.put(
        "/api/v1/config/sign-in/", {"required_roles": [], "oidc_satisfies_2fa": True}, format="json"
    )
    assert refused.status_code == 403
    assert two_factor.policy_get().page_roles == {"agent"}
