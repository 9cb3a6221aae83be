"""Issue 15: account e-mails go through the notifications outbox
(docs/accounts.md). With the real Celery worker (tests/conftest.py), the
row written by the request is delivered by the worker; the delivered
message is rebuilt from the row and parsed as real MIME and its link works."""

import time
from email import policy
from email.parser import BytesParser

import pytest

from mail.models import Notification
from mail.services.outbox import _email_for
from tests.accounts.conftest import BASE_URL, path_of

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_reset_mail_is_written_by_the_request_and_delivered_by_the_worker(celery_worker, client, customer):
    unknown = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    known = client.post("/accounts/password-reset/", {"email": customer.email})
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    row = Notification.objects.get(kind="account")
    assert row.to_email == customer.email and row.recipient_id == customer.pk
    assert wait_for(lambda: Notification.objects.get(pk=row.pk).status == "sent")
    row.refresh_from_db()
    assert row.attempts == 1 and row.sent_at is not None and row.message_id
    msg = BytesParser(policy=policy.default).parsebytes(_email_for(row).message().as_bytes())
    assert msg["To"] == customer.email and msg["Subject"] == "Set your password"
    assert msg["Message-ID"] == row.message_id and msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    link = next(word for word in text.split() if word.startswith(BASE_URL + "/accounts/password-reset/"))
    page = client.get(path_of(link))
    assert page.status_code == 200 and "password" in page.content.decode().lower()
    # Only the known address got a row.
    assert Notification.objects.filter(kind="account").count() == 1
