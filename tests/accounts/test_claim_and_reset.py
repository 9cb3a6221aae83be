"""Claiming an account created by e-mail, sign-up with address
confirmation and password reset, end to end: the real e-mails are read
from the outbox, parsed, and their links followed with the test client."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.utils import timezone

from accounts.models import User
from tests.accounts.conftest import links_in, only_mail_to, outbox, parsed, path_of
from tests.factories import CustomerFactory, ticket_make
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

SUBJECT = "Router keeps rebooting"


def _link(message, fragment: str) -> str:
    """The path of the one link in `message` containing `fragment`."""
    _msg, text = parsed(message)
    found = [url for url in links_in(message) if fragment in url]
    assert len(found) == 1, text
    return path_of(found[0])


def test_customer_who_wrote_by_email_claims_with_a_sign_in_link(client, email_customer):
    """The inactive e-mail customer asks for a sign-in link, follows it and
    sees the ticket; the account is active and confirmed; the link is spent."""
    response = client.post("/accounts/magic-link/", {"email": "Erin@Customer.example"})
    assert response.status_code == 200
    message = only_mail_to("erin@customer.example")
    link = _link(message, "/accounts/magic-link/")

    assert client.get(link).status_code == 200  # a prefetch changes nothing
    email_customer.refresh_from_db()
    assert not email_customer.is_active
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert client.session[SESSION_KEY] == str(email_customer.pk)
    assert SUBJECT in client.get("/portal/").content.decode()

    email_customer.refresh_from_db()
    assert email_customer.is_active and email_customer.email_confirmed_at is not None
    client.logout()
    assert client.post(link).status_code == 400  # single use


def test_customer_who_wrote_by_email_claims_by_setting_a_password(client, email_customer):
    response = client.post("/accounts/password-reset/", {"email": "erin@customer.example"})
    assert response.status_code == 200 and b"Check your email" in response.content
    link = _link(only_mail_to("erin@customer.example"), "/accounts/password-reset/")

    page = client.get(link)
    assert page.status_code == 200 and b"erin@customer.example" in page.content
    assert page["Referrer-Policy"] == "same-origin"  # the token never leaves the site
    weak = client.post(link, {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200 and "new_password2" in weak.context["form"].errors
    response = client.post(link, {"new_password1": "erin-new-pass-77", "new_password2": "erin-new-pass-77"})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert SUBJECT in client.get("/portal/").content.decode()

    client.logout()
    again = client.post(link, {"new_password1": "other-pass-778", "new_password2": "other-pass-778"})
    assert again.status_code == 400  # single use: the password moved on
    login = client.post("/accounts/login/", {"email": "erin@customer.example", "password": "erin-new-pass-77"})
    assert login.status_code == 302 and client.session[SESSION_KEY] == str(email_customer.pk)


def test_signup_with_an_address_that_has_tickets_offers_the_claim(client, email_customer):
    """Sign-up does not refuse the e-mail customer ("already exists"); it
    mails them a sign-in link and a set-password link, and the password
    typed in the form is not stored (it could be anyone's)."""
    response = client.post(
        "/accounts/signup/",
        {
            "name": "Erin",
            "email": "erin@customer.example",
            "password1": "typed-pass-123",
            "password2": "typed-pass-123",
        },
    )
    assert response.status_code == 200 and b"Check your email" in response.content
    message = only_mail_to("erin@customer.example")
    email_customer.refresh_from_db()
    assert not email_customer.is_active and not email_customer.has_usable_password()

    reset = _link(message, "/accounts/password-reset/")
    response = client.post(reset, {"new_password1": "erin-new-pass-77", "new_password2": "erin-new-pass-77"})
    assert response.status_code == 302
    assert SUBJECT in client.get("/portal/").content.decode()


def test_signup_confirms_the_address_before_the_portal_shows_tickets(client, queue):
    """A new sign-up is unusable until the e-mailed link is followed; then
    it signs in with the chosen password and the portal shows tickets an
    agent had opened for that address meanwhile."""
    response = client.post(
        "/accounts/signup/",
        {"name": "Dana", "email": "dana@example.com", "password1": "dana-pass-123", "password2": "dana-pass-123"},
    )
    assert response.status_code == 200
    user = User.objects.get(email="dana@example.com")
    ticket_make(queue=queue, requester=user, subject="Opened by an agent")
    assert client.get("/portal/").status_code == 302  # not signed in
    refused = client.post("/accounts/login/", {"email": "dana@example.com", "password": "dana-pass-123"})
    assert refused.status_code == 200 and SESSION_KEY not in client.session

    link = _link(only_mail_to("dana@example.com"), "/accounts/signup/confirm/")
    assert client.get(link).status_code == 200
    assert not User.objects.get(pk=user.pk).is_active  # GET (a scanner) confirms nothing
    response = client.post(link)
    assert response.status_code == 302 and client.session[SESSION_KEY] == str(user.pk)
    assert "Opened by an agent" in client.get("/portal/").content.decode()
    client.logout()
    assert client.post(link).status_code == 400  # single use
    ok = client.post("/accounts/login/", {"email": "dana@example.com", "password": "dana-pass-123"})
    assert ok.status_code == 302


def test_a_strangers_signup_password_does_not_survive_the_owners_claim(client):
    """Someone signs up with an address that is not theirs and never
    confirms; the real owner later signs in with a link. The stranger's
    password no longer opens the account."""
    client.post(
        "/accounts/signup/",
        {"name": "Eve", "email": "owner@example.com", "password1": "eves-pass-123", "password2": "eves-pass-123"},
    )
    outbox().clear()
    owner = User.objects.get(email="owner@example.com")
    client.post("/accounts/magic-link/", {"email": "owner@example.com"})
    client.post(_link(only_mail_to("owner@example.com"), "/accounts/magic-link/"))
    owner.refresh_from_db()
    assert owner.is_active and not owner.check_password("eves-pass-123")


def _answers(path: str, data_for) -> list[tuple[int, bytes]]:
    from django.test import Client

    answers = []
    for i, email in enumerate(ADDRESSES):
        response = Client(REMOTE_ADDR=f"10.1.0.{i}").post(path, data_for(email))
        answers.append((response.status_code, response.content))
    return answers


ADDRESSES = ["active@example.com", "erin@customer.example", "nobody@example.com", "gone@example.com"]


@pytest.mark.parametrize(
    ("path", "data_for"),
    [
        ("/accounts/magic-link/", lambda e: {"email": e}),
        ("/accounts/password-reset/", lambda e: {"email": e}),
        (
            "/accounts/signup/",
            lambda e: {"name": "Sam", "email": e, "password1": "same-pass-123", "password2": "same-pass-123"},
        ),
    ],
    ids=["magic-link", "password-reset", "signup"],
)
def test_every_address_gets_the_identical_answer(path, data_for, email_customer):
    """A usable account, an unclaimed e-mail customer, an unknown address
    and a deactivated account get byte-identical bodies and the same
    status: the answer reveals nothing about the address."""
    CustomerFactory(email="active@example.com")
    CustomerFactory(email="gone@example.com", is_active=False, last_login=timezone.now())
    answers = _answers(path, data_for)
    assert answers[0][0] == 200
    assert all(a == answers[0] for a in answers), [a[0] for a in answers]
    assert b"Check your email" in answers[0][1] or b"on its way" in answers[0][1]


def test_reset_link_expires_after_an_hour_and_forgeries_fail(client):
    CustomerFactory(email="kim@example.com")
    client.post("/accounts/password-reset/", {"email": "kim@example.com"})
    link = _link(only_mail_to("kim@example.com"), "/accounts/password-reset/")
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert client.get(link).status_code == 400
    assert client.get(link[:-4] + "xx/").status_code == 400
    assert client.get(link).status_code == 200


def test_signup_link_expires_after_48_hours(client):
    client.post(
        "/accounts/signup/",
        {"name": "Lu", "email": "lu@example.com", "password1": "lu-pass-1234", "password2": "lu-pass-1234"},
    )
    link = _link(only_mail_to("lu@example.com"), "/accounts/signup/confirm/")
    with time_machine.travel(timezone.now() + timedelta(hours=49)):
        assert client.post(link).status_code == 400
    assert not User.objects.get(email="lu@example.com").is_active


def test_a_used_then_deactivated_account_cannot_be_claimed_back(client):
    """Staff deactivation is final: no reset link, and an older link stops
    working."""
    user = CustomerFactory(email="banned@example.com")
    client.post("/accounts/password-reset/", {"email": "banned@example.com"})
    link = _link(only_mail_to("banned@example.com"), "/accounts/password-reset/")
    User.objects.filter(pk=user.pk).update(is_active=False, last_login=timezone.now())
    assert client.get(link).status_code == 400
    outbox().clear()
    client.post("/accounts/password-reset/", {"email": "banned@example.com"}, REMOTE_ADDR="10.2.0.1")
    assert outbox() == []


@pytest.mark.parametrize("path", ["/accounts/password-reset/", "/accounts/signup/"])
def test_mail_sending_forms_are_throttled(client, path):
    """5 requests per address and IP in 15 minutes, then a field error; no
    more mail goes out."""
    CustomerFactory(email="spam@example.com")
    data = {"email": "spam@example.com", "name": "S", "password1": "spam-pass-123", "password2": "spam-pass-123"}
    for _ in range(5):
        assert client.post(path, data).status_code == 200
    sent = len(outbox())
    response = client.post(path, data)
    assert "Try again in 15 minutes" in response.content.decode()
    assert len(outbox()) == sent


@pytest.mark.parametrize(
    ("next_value", "expected"),
    [
        ("/portal/tickets/{pk}/", "/portal/tickets/{pk}/"),
        ("https://evil.example/phish", "/portal/"),
        ("//evil.example/phish", "/portal/"),
        ("/\\evil.example", "/portal/"),
        ("javascript:alert(1)", "/portal/"),
    ],
)
def test_sign_in_link_honours_only_a_local_next(client, email_customer, next_value, expected):
    """`next` travels from the login page through the e-mailed link; only a
    path on this site is followed (no open redirect)."""
    pk = Ticket.objects.get(requester=email_customer).pk
    client.post(f"/accounts/magic-link/?next={next_value.format(pk=pk)}", {"email": "erin@customer.example"})
    message = only_mail_to("erin@customer.example")
    link = _link(message, "/accounts/magic-link/")
    response = client.post(link)
    assert response.status_code == 302
    assert response["Location"] == expected.format(pk=pk)


def test_mail_server_down_gives_the_same_answer_and_keeps_the_mail(client, settings, email_customer):
    """A real SMTP connection to a closed port: the visitor still gets the
    neutral page, without waiting for SMTP (the mail is an outbox row); the
    delivery attempt fails, the row stays pending with its error and the
    next attempt, once the server is back, sends it."""
    from mail.models import Notification
    from mail.services import notification_deliver

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 6519, 2
    known = client.post("/accounts/password-reset/", {"email": "erin@customer.example"})
    unknown = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    assert known.status_code == 200
    row = Notification.objects.get(kind="account")
    assert (row.to_email, row.status, row.attempts) == ("erin@customer.example", "pending", 0)
    with pytest.raises(OSError):
        notification_deliver(notification_id=row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1) and row.last_error and row.next_attempt_at
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notification_deliver(notification_id=row.pk) == "sent"
    [message] = mail.outbox
    assert message.to == ["erin@customer.example"] and "/accounts/password-reset/" in message.body


def test_a_hanging_mail_server_does_not_slow_the_page(client, settings, email_customer):
    """A mail server that accepts the connection and never answers: the
    request only writes the outbox row, so it answers at once (sending in
    the request waited EMAIL_TIMEOUT here); the answer stays neutral."""
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", listener.getsockname()[1], 4
        timings = {}
        for address in ("erin@customer.example", "nobody@example.com"):
            started = time.monotonic()
            response = client.post("/accounts/password-reset/", {"email": address})
            timings[address] = (time.monotonic() - started, response.status_code, response.content)
    finally:
        listener.close()
    known, unknown = timings["erin@customer.example"], timings["nobody@example.com"]
    assert known[1:] == unknown[1:]
    assert known[0] < 1.5 and unknown[0] < 1.5, timings


@pytest.mark.parametrize(
    ("path", "data_for"),
    [
        ("/accounts/magic-link/", lambda e: {"email": e}),
        ("/accounts/password-reset/", lambda e: {"email": e}),
        (
            "/accounts/signup/",
            lambda e: {"name": "Sam", "email": e, "password1": "same-pass-123", "password2": "same-pass-123"},
        ),
    ],
    ids=["magic-link", "password-reset", "signup"],
)
def test_every_address_gets_the_answer_after_the_same_time(path, data_for, email_customer):
    """Timing tells nothing either: a known address costs a token, a mail,
    an outbox INSERT and a broker push (10-20 ms more than an unknown one
    on a loaded machine), so every neutral answer waits for the same floor
    (accounts.views.NEUTRAL_ANSWER_FLOOR_S). Interleaved rounds; the medians
    of the usable, unclaimed and unknown addresses are within 10 % of the
    floor, and no answer comes sooner than the floor."""
    import statistics
    import time

    from django.test import Client

    from accounts.views import NEUTRAL_ANSWER_FLOOR_S as FLOOR

    CustomerFactory(email="active@example.com")
    addresses = ["active@example.com", "erin@customer.example", "nobody@example.com"]
    took: dict[str, list[float]] = {a: [] for a in addresses}
    for i in range(4):
        for j, address in enumerate(addresses):
            client = Client(REMOTE_ADDR=f"10.3.{i}.{j}")
            started = time.monotonic()
            assert client.post(path, data_for(address)).status_code == 200
            took[address].append(time.monotonic() - started)
    assert min(min(t) for t in took.values()) >= FLOOR, took
    medians = [statistics.median(t) for t in took.values()]
    assert max(medians) - min(medians) < 0.1 * FLOOR, took
