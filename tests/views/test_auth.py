"""Login (with throttling), logout and customer sign-up through the pages."""

import pytest
from django.contrib.auth import SESSION_KEY

from accounts.forms import INVALID_MESSAGE, THROTTLED_MESSAGE
from accounts.models import User
from tests.accounts.conftest import outbox
from tests.factories import AgentFactory, CustomerFactory

PASSWORD = "pw-Secret-123"  # tests/factories.py


def _login(client, email, password, ip="10.0.0.1", **extra):
    return client.post("/accounts/login/", {"email": email, "password": password, **extra}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_login_page_renders_with_csrf(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in response.content
    assert b'name="email"' in response.content and b'name="password"' in response.content


@pytest.mark.django_db
def test_customer_login_lands_on_my_requests(client):
    user = CustomerFactory(email="carol@example.com")
    response = _login(client, "carol@example.com", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.session[SESSION_KEY] == str(user.pk)
    page = client.get("/portal/")
    assert "Customer" in page.content.decode()
    assert user.display_name in page.content.decode()


@pytest.mark.django_db
def test_agent_login_lands_on_ticket_list_and_is_case_insensitive(client):
    AgentFactory(email="ann@acme.test")
    response = _login(client, "ANN@acme.test", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/agent/tickets/"


@pytest.mark.django_db
def test_login_honours_safe_next_only(client):
    CustomerFactory(email="n@example.com")
    ok = _login(client, "n@example.com", PASSWORD, next="/portal/new/")
    assert ok["Location"] == "/portal/new/"
    client.logout()
    evil = _login(client, "n@example.com", PASSWORD, next="https://evil.example/phish")
    assert evil["Location"] == "/portal/"


@pytest.mark.django_db
def test_wrong_password_shows_form_error(client):
    CustomerFactory(email="w@example.com")
    response = _login(client, "w@example.com", "nope")
    assert response.status_code == 200
    assert str(INVALID_MESSAGE) in response.content.decode()
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_throttle_after_five_failures_refuses_even_the_right_password(client):
    """5 failures per email+IP in 15 minutes block that pair; another IP or
    another account from the same IP is not blocked."""
    CustomerFactory(email="t@example.com")
    CustomerFactory(email="u@example.com")
    for _ in range(5):
        response = _login(client, "t@example.com", "wrong")
        assert str(INVALID_MESSAGE) in response.content.decode()
    blocked = _login(client, "t@example.com", PASSWORD)
    assert blocked.status_code == 200
    assert str(THROTTLED_MESSAGE) in blocked.content.decode()
    assert SESSION_KEY not in client.session
    # Case variations of the email hit the same counter.
    assert str(THROTTLED_MESSAGE) in _login(client, "T@Example.com", PASSWORD).content.decode()

    other_ip = _login(client, "t@example.com", PASSWORD, ip="10.0.0.2")
    assert other_ip.status_code == 302
    client.logout()
    other_account = _login(client, "u@example.com", PASSWORD)
    assert other_account.status_code == 302


@pytest.mark.django_db
def test_throttle_window_expires(client, time_machine):
    """After 15 minutes the pair may try again."""
    import datetime as dt

    time_machine.move_to(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC), tick=False)
    CustomerFactory(email="x@example.com")
    for _ in range(5):
        _login(client, "x@example.com", "wrong")
    assert str(THROTTLED_MESSAGE) in _login(client, "x@example.com", PASSWORD).content.decode()
    time_machine.move_to(dt.datetime(2026, 1, 5, 9, 16, tzinfo=dt.UTC), tick=False)
    assert _login(client, "x@example.com", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_logout_is_post_only(client):
    user = CustomerFactory()
    client.force_login(user)
    assert client.get("/accounts/logout/").status_code == 405
    assert SESSION_KEY in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert SESSION_KEY not in client.session
    assert client.get("/portal/").status_code == 302


@pytest.mark.django_db
def test_csrf_is_enforced_on_login():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    CustomerFactory(email="c@example.com")
    response = strict.post("/accounts/login/", {"email": "c@example.com", "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.django_db
def test_signup_creates_an_inactive_customer_until_the_address_is_confirmed(client):
    """Sign-up no longer logs straight in: the account exists, inactive,
    with the chosen password, and a confirmation mail goes out."""

    response = client.post(
        "/accounts/signup/",
        {"name": "Dana Doe", "email": "dana@example.com", "password1": "a-long-pass-99", "password2": "a-long-pass-99"},
    )
    assert response.status_code == 200 and b"Check your email" in response.content
    user = User.objects.get(email="dana@example.com")
    assert user.role == User.Role.CUSTOMER
    assert user.organisation_id is None
    assert not user.is_active and user.email_confirmed_at is None
    assert user.check_password("a-long-pass-99")
    assert SESSION_KEY not in client.session
    assert [m.to for m in outbox()] == [["dana@example.com"]]
    # The password does not open the account before the link is followed.
    assert _login(client, "dana@example.com", "a-long-pass-99").status_code == 200
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_signup_errors_sit_next_to_their_fields(client):
    weak = client.post(
        "/accounts/signup/", {"name": "Y", "email": "y@example.com", "password1": "123", "password2": "123"}
    )
    assert "password1" in weak.context["form"].errors
    mismatch = client.post(
        "/accounts/signup/",
        {"name": "Z", "email": "z@example.com", "password1": "a-long-pass-99", "password2": "a-long-pass-98"},
    )
    assert "password2" in mismatch.context["form"].errors
    assert not User.objects.filter(email__in=["y@example.com", "z@example.com"]).exists()


@pytest.mark.django_db
def test_one_ip_spraying_many_accounts_is_throttled(client):
    """50 failures from one IP over many accounts block that IP (15 min)."""
    CustomerFactory(email="victim@example.com")
    for i in range(50):
        _login(client, f"nobody{i}@example.com", "wrong", ip="10.9.9.9")
    assert str(THROTTLED_MESSAGE) in _login(client, "victim@example.com", PASSWORD, ip="10.9.9.9").content.decode()
    assert _login(client, "victim@example.com", PASSWORD, ip="10.9.9.10").status_code == 302
