"""Emailed magic-link login: signed, single use, expiring, no enumeration."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tests.accounts.conftest import outbox
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _request_link(client, email):
    return client.post("/accounts/magic-link/", {"email": email})


def _link_from_mail():
    assert len(outbox()) == 1
    match = re.search(r"https://help\.acme\.test(/accounts/magic-link/[^/\s]+/)", outbox()[0].body)
    assert match, outbox()[0].body
    return match.group(1)


def test_link_logs_in_once(client):
    user = CustomerFactory(email="ana@example.com")
    response = _request_link(client, "ANA@example.com")
    assert response.status_code == 200 and b"on its way" in response.content
    assert outbox()[0].to == ["ana@example.com"]
    link = _link_from_mail()

    # GET only confirms (mail scanners prefetch links); it does not log in.
    page = client.get(link)
    assert page.status_code == 200 and b"Log in as ana@example.com" in page.content
    assert "_auth_user_id" not in client.session

    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert client.session["_auth_user_id"] == str(user.pk)

    client.logout()
    assert client.post(link).status_code == 400  # single use
    assert "_auth_user_id" not in client.session


def test_unknown_email_gets_the_same_answer_and_no_mail(client):
    response = _request_link(client, "nobody@example.com")
    assert response.status_code == 200 and b"on its way" in response.content
    assert outbox() == []


def test_expired_and_forged_links_refused(client):
    CustomerFactory(email="bo@example.com")
    _request_link(client, "bo@example.com")
    link = _link_from_mail()
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert client.post(link).status_code == 400
    forged = link[:-3] + "xx/"
    assert client.post(forged).status_code == 400
    assert client.get("/accounts/magic-link/not-a-token/").status_code == 400


def test_deactivated_account_gets_no_link(client):
    """An account that was used and then deactivated by staff stays shut:
    no link (claiming is only for accounts never used)."""
    from django.utils import timezone

    CustomerFactory(email="gone@example.com", is_active=False, last_login=timezone.now())
    _request_link(client, "gone@example.com")
    assert outbox() == []


def test_requests_are_throttled(client):
    CustomerFactory(email="spam@example.com")
    for _ in range(5):
        _request_link(client, "spam@example.com")
    response = _request_link(client, "spam@example.com")
    assert b"Too many links requested" in response.content
    assert len(outbox()) == 5


def test_invalid_email_is_a_form_error(client):
    response = _request_link(client, "not an email")
    assert response.status_code == 200 and b"Enter a valid email address" in response.content
