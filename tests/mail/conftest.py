"""Fixtures of the email channel tests."""

from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def eml(name: str, **replace: str) -> bytes:
    """A fixture's bytes with __PLACEHOLDER__ values filled in."""
    raw = (FIXTURES / name).read_bytes()
    for key, value in replace.items():
        raw = raw.replace(f"__{key.upper()}__".encode(), value.encode())
    return raw


def mime(
    *,
    sender: str = "ann@customer.example",
    to: str = "support@acme.test",
    subject: str = "Hello",
    body: str = "Body text.",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes, str]] = (),
) -> bytes:
    """A real MIME message built with the stdlib email package."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="customer.example")
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(body)
    for filename, content, ctype in attachments:
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


TRUSTED_AUTHSERV_ID = "mx.acme.test"


def authenticated(raw: bytes, *, results: str = "", authserv_id: str = TRUSTED_AUTHSERV_ID) -> bytes:
    """`raw` as our receiving server would hand it on: its
    Authentication-Results header on top (by default a DMARC pass for the
    From domain) above its Received line."""
    if not results:
        from mail.parsing import mail_parse

        domain = mail_parse(raw).from_email.rpartition("@")[2]
        results = f"dkim=pass header.d={domain}; spf=pass smtp.mailfrom={domain}; dmarc=pass header.from={domain}"
    stamp = (
        f"Authentication-Results: {authserv_id};\r\n {results}\r\n"
        f"Received: from sender.example by {authserv_id} with ESMTPS; Mon, 1 Dec 2025 10:00:00 +0000\r\n"
    )
    return stamp.encode() + raw


@pytest.fixture
def mail_settings(settings, queue):
    """The queue `tech` receives support@acme.test; replies go to support+token@."""
    queue.inbound_email = "support@acme.test"
    queue.save(update_fields=["inbound_email"])
    settings.DEFAULT_FROM_EMAIL = "helpdesk@acme.test"
    settings.HELPDESK_MAIL_REPLY_ADDRESS = "support@acme.test"
    settings.HELPDESK_MAIL_DEFAULT_QUEUE = queue.slug
    settings.HELPDESK_INBOUND_SECRET = "s3cret-inbound"
    settings.HELPDESK_INBOUND_PROCESS = "inline"
    settings.HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS = [TRUSTED_AUTHSERV_ID]
    settings.HELPDESK_BASE_URL = "https://help.acme.test"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings
