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


def only_mail_to(address: str):
    """The one message sent, checked to be addressed to `address`."""
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    assert mail.outbox[0].to == [address]
    return mail.outbox[0]
