"""Account tests: links in e-mails are built on a configured base URL."""

import re

import pytest
from django.core import mail

BASE_URL = "https://help.acme.test"


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.HELPDESK_BASE_URL = BASE_URL
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def links_in(message) -> list[str]:
    """Every http(s) URL in a sent message (text body and HTML parts)."""
    texts = [message.body] + [content for content, _type in getattr(message, "alternatives", [])]
    return [url for text in texts for url in re.findall(r"https?://[^\s\"'<>]+", text)]


def path_of(url: str) -> str:
    """The path (and query) of an e-mailed link, to follow with the test client."""
    assert url.startswith(BASE_URL + "/"), url
    return url[len(BASE_URL) :]


def outbox() -> list:
    """The messages sent so far, after delivering every pending outbox row
    with the worker's own function (account e-mails are outbox rows since
    docs/accounts.md "Account e-mails go through the outbox"; a test's
    transaction never commits, so no worker would see them)."""
    from mail.models import Notification
    from mail.services import notification_deliver

    for pk in Notification.objects.filter(status="pending").order_by("id").values_list("pk", flat=True):
        notification_deliver(notification_id=pk)
    return mail.outbox


def only_mail_to(address: str):
    """The one message sent, checked to be addressed to `address`."""
    sent = outbox()
    assert len(sent) == 1, [m.subject for m in sent]
    assert sent[0].to == [address]
    return sent[0]


def parsed(message):
    """The sent message as the recipient's mail client reads it (real MIME
    bytes parsed back), and its text body."""
    from email import policy
    from email.parser import BytesParser

    msg = BytesParser(policy=policy.default).parsebytes(message.message().as_bytes())
    return msg, msg.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def email_customer(settings, queue):
    """A customer who first wrote by e-mail: the inbound pipeline created
    their ticket and stored them as an inactive user (real MIME)."""
    from accounts.models import User
    from mail import services as mail_services
    from tests.mail.conftest import mime

    queue.inbound_email = "support@acme.test"
    queue.save(update_fields=["inbound_email"])
    settings.DEFAULT_FROM_EMAIL = "helpdesk@acme.test"
    settings.HELPDESK_MAIL_REPLY_ADDRESS = "support@acme.test"
    settings.HELPDESK_MAIL_DEFAULT_QUEUE = queue.slug
    settings.HELPDESK_INBOUND_PROCESS = "inline"
    raw = mime(sender="Erin Example <erin@customer.example>", subject="Router keeps rebooting")
    inbound = mail_services.inbound_receive(raw, source="http")
    assert inbound.ticket_id, inbound.reason
    user = User.objects.get(email="erin@customer.example")
    assert not user.is_active and not user.has_usable_password()
    mail.outbox.clear()
    return user
