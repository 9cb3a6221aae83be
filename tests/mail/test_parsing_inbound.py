"""Issue #21 findings end to end: real MIME bytes through inbound_receive on
PostgreSQL, checking what lands on the ticket (or why nothing does)."""

import pytest

from mail import services
from mail.models import InboundMessage
from mail.storage import inbound_raw
from tests.mail.conftest import eml
from tests.mail.test_parsing import PNG, alternative_with_related, raw_mail, uuencode
from tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.django_db

S = InboundMessage.Status


def receive(raw: bytes) -> InboundMessage:
    return services.inbound_receive(raw, source="http")


@pytest.fixture
def email_ticket(mail_settings):
    return receive(eml("plain.eml")).ticket


def test_exchange_out_of_office_on_a_ticket_is_dropped_not_applied(email_ticket, agent):
    """An OOF without Auto-Submitted answering our reply (threaded by its
    token) neither posts a message nor reopens the ticket; it is kept,
    dropped with its reason."""
    from tickets import services as ticket_services

    ticket_services.ticket_transition(ticket_id=email_ticket.pk, target="pending", actor=agent)
    token = services.reply_token_for(ticket_id=email_ticket.pk)
    raw = raw_mail(
        [
            f"To: support+{token}@acme.test".encode(),
            f"Subject: Automatic reply: [#{email_ticket.pk}] Printer does not print".encode(),
            b"Message-ID: <oof-1@customer.example>",
            b"X-Auto-Response-Suppress: All",
            b"X-MS-Exchange-Inbox-Rules-Loop: ann@customer.example",
        ],
        b"I am out of the office until Monday.\r\n",
    )
    messages = email_ticket.messages.count()
    inbound = receive(raw)
    assert inbound.status == S.DROPPED
    assert inbound.reason.startswith("auto-reply (Exchange")
    assert inbound_raw(inbound) == raw  # kept byte for byte
    email_ticket.refresh_from_db()
    assert email_ticket.status == Ticket.Status.PENDING
    assert email_ticket.messages.count() == messages


def test_x_loop_only_mail_creates_no_ticket(mail_settings):
    before = Ticket.objects.count()
    inbound = receive(raw_mail([b"Subject: Your request", b"X-Loop: helpdesk@elsewhere.example"]))
    assert (inbound.status, inbound.reason) == (S.DROPPED, "loop (X-Loop: helpdesk@elsewhere.example)")
    assert Ticket.objects.count() == before


def test_outlook_mail_with_suppress_all_still_becomes_a_ticket(mail_settings):
    raw = raw_mail([b"Subject: Printer broken", b"X-Auto-Response-Suppress: All"], b"It jams.\r\n")
    inbound = receive(raw)
    assert inbound.status == S.PROCESSED, inbound.reason
    assert inbound.ticket.subject == "Printer broken"


def test_charsets_reach_the_ticket(mail_settings):
    """GB2312-labelled GBK subject; raw 8-bit Shift_JIS subject with a
    Shift_JIS body; ISO-2022-JP body without a charset parameter."""
    import base64

    gbk = base64.b64encode("锟斤拷 測試".encode("gbk")).decode()
    inbound = receive(raw_mail([f"Subject: =?gb2312?B?{gbk}?=".encode(), b"Message-ID: <gbk@x>"]))
    assert inbound.ticket.subject == "锟斤拷 測試"
    inbound = receive(
        raw_mail(
            [b"Subject: " + "請求書".encode("shift_jis"), b"Content-Type: text/plain; charset=shift_jis"],
            "請求書の質問です。".encode("shift_jis"),
        )
    )
    assert inbound.ticket.subject == "請求書"
    assert inbound.ticket.messages.get(is_description=True).body == "請求書の質問です。"
    inbound = receive(raw_mail([b"Subject: jis", b"Message-ID: <jis@x>"], "こんにちは".encode("iso2022_jp")))
    assert inbound.ticket.messages.get(is_description=True).body == "こんにちは"


def test_from_without_angle_brackets_becomes_the_requester(mail_settings):
    inbound = receive(raw_mail([b"From: Test test@example.com", b"Subject: Bare address"]))
    assert inbound.status == S.PROCESSED, inbound.reason
    assert inbound.from_address == "test@example.com"
    requester = inbound.ticket.requester
    assert (requester.email, requester.name) == ("test@example.com", "Test")


def test_encoded_word_from_cannot_impersonate_an_agent(email_ticket, agent):
    """`=?utf-8?Q?agentN?=@acme.test` is not agentN@acme.test: the mail is
    quarantined with the reason; nothing is posted as the agent."""
    local, domain = agent.email.split("@")
    raw = raw_mail(
        [
            f"From: =?utf-8?Q?{local}?=@{domain}".encode(),
            f"Subject: Re: [#{email_ticket.pk}] Printer does not print".encode(),
            b"Message-ID: <spoof-1@evil.example>",
        ],
        b"Solved, closing. Please send your password to evil.example.\r\n",
    )
    tickets = Ticket.objects.count()
    inbound = receive(raw)
    assert inbound.status == S.QUARANTINED
    assert "encoded word" in inbound.reason and f"=?utf-8?Q?{local}?=@{domain}" in inbound.reason
    assert Ticket.objects.count() == tickets
    assert not Message.objects.filter(author=agent).exists()
    assert not email_ticket.messages.filter(body__contains="password").exists()


def test_uuencoded_attachment_is_stored_on_the_ticket(mail_settings):
    notes = b"error 42 at line 7\n" * 30
    body = f"Logs below.\n\nbegin 644 notes.txt\n{uuencode(notes)}\nend\n".encode()
    inbound = receive(raw_mail([b"Subject: uu logs"], body))
    assert inbound.status == S.PROCESSED, inbound.reason
    description = inbound.ticket.messages.get(is_description=True)
    assert description.body == "Logs below."
    att = Attachment.objects.get(message=description)
    assert (att.filename, att.content_type, att.size) == ("notes.txt", "text/plain", len(notes))
    assert att.file.read() == notes


def test_inline_image_inside_alternative_is_stored_on_the_ticket(mail_settings):
    inbound = receive(alternative_with_related())
    assert inbound.status == S.PROCESSED, inbound.reason
    description = inbound.ticket.messages.get(is_description=True)
    att = Attachment.objects.get(message=description)
    assert (att.content_type, att.is_inline) == ("image/png", True)
    assert att.file.read() == PNG


def test_agent_downloads_files_extracted_from_mail_posted_to_the_endpoint(client, mail_settings, agent):
    """Through the HTTP intake: the uuencoded file and the image hidden in
    multipart/alternative are listed on the agent's ticket page and download
    byte for byte."""
    msg = alternative_with_related()
    notes = b"disk full on /var\n" * 10
    plain = b"Here is the error: [image]"
    msg = msg.replace(plain, plain + b"\n\nbegin 644 notes.txt\n" + uuencode(notes).encode() + b"\nend\n", 1)
    response = client.post(
        "/mail/inbound/", data=msg, content_type="message/rfc822", HTTP_X_HELPDESK_INBOUND_SECRET="s3cret-inbound"
    )
    assert response.status_code == 202 and response.json()["status"] == "processed"
    inbound = InboundMessage.objects.get(pk=response.json()["id"])
    client.force_login(agent)
    page = client.get(f"/agent/tickets/{inbound.ticket_id}/").content.decode()
    files = {a.filename: a for a in Attachment.objects.filter(message__ticket_id=inbound.ticket_id)}
    assert set(files) == {"notes.txt", "attachment-2.png"}
    for name, content in (("notes.txt", notes), ("attachment-2.png", PNG)):
        assert name in page
        download = client.get(f"/attachments/{files[name].pk}/")
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == content
