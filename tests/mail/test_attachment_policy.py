"""Inbound e-mail gets the same content check as uploads; a refused file
never loses the message: the mail is kept, the ticket gets a note naming
the file and why, and the inbound row's reason says so too."""

import pytest

from mail import services
from mail.models import InboundMessage
from mail.storage import inbound_raw
from tests.attachments import samples
from tests.factories import ticket_make
from tests.mail.conftest import authenticated, mime
from tickets.models import Attachment

pytestmark = pytest.mark.django_db

ATTACHMENTS = [
    ("report.pdf", samples.PDF, "application/pdf"),
    ("photo.png", samples.HTML, "image/png"),
    ("invoice\u202egnp.hta", samples.HTA, "image/png"),
    ("setup.exe.", samples.EXE, "application/octet-stream"),
]


def _check_refusals(inbound: InboundMessage, raw: bytes) -> None:
    assert inbound.status == InboundMessage.Status.PROCESSED, inbound.reason
    assert inbound_raw(inbound) == raw  # the original, with every file, is kept
    message = inbound.result_message
    stored = [(a.filename, a.content_type) for a in message.attachments.all()]
    assert stored == [("report.pdf", "application/pdf")]
    assert "Attachments not accepted (the original email is kept by the help desk):" in message.body
    assert "- photo.png: photo.png contains web page or script content (text/html)" in message.body
    assert "- invoicegnp.hta: Files of type .hta are not accepted (invoicegnp.hta)." in message.body
    assert "- setup.exe: Files of type .exe are not accepted (setup.exe)." in message.body
    assert "\u202e" not in message.body
    assert "; 3 attachment(s) refused: photo.png: " in inbound.reason


def test_new_ticket_mail_keeps_good_files_and_notes_refused_ones(mail_settings):
    raw = mime(subject="Invoice", body="Please see attached.", attachments=ATTACHMENTS)
    inbound = services.inbound_receive(raw, source="http")
    _check_refusals(inbound, raw)
    assert inbound.reason.startswith(f"new ticket #{inbound.ticket_id}; 3 attachment(s) refused")
    assert inbound.result_message.body.startswith("Please see attached.")


def test_reply_mail_gets_the_same_check(mail_settings, queue, customer):
    ticket = ticket_make(queue=queue, requester=customer)
    raw = authenticated(  # a reply matched by subject must be authenticated (docs/mail-security.md)
        mime(
            sender=customer.email,
            subject=f"Re: [#{ticket.pk}] Help please",
            body="More files.",
            attachments=ATTACHMENTS,
        )
    )
    inbound = services.inbound_receive(raw, source="http")
    _check_refusals(inbound, raw)
    assert inbound.result_message.ticket_id == ticket.pk
    assert Attachment.objects.filter(message__ticket=ticket).count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_applies_the_same_check_over_http(celery_worker, live_server, mail_settings):
    """Intake over real HTTP, processed by the real worker process (its own
    libmagic): refused files noted, good ones stored with the detected type."""
    from tests.mail.test_worker import post_raw, wait_for

    mail_settings.HELPDESK_INBOUND_PROCESS = "task"
    raw = mime(subject="Via worker", body="Files.", attachments=ATTACHMENTS)
    assert post_raw(f"{live_server.url}/mail/inbound/", raw) == 202
    inbound = InboundMessage.objects.latest("id")
    assert wait_for(lambda: InboundMessage.objects.get(pk=inbound.pk).status != InboundMessage.Status.RECEIVED)
    inbound.refresh_from_db()
    _check_refusals(inbound, raw)
