"""Inbound identity (docs/mail-security.md): forged senders never act as
staff nor join a customer's ticket, held mail is visible to agents who
release or discard it; Cc cap; dedupe on Message-ID and content."""

import pytest
from django.core import mail as django_mail
from django.urls import reverse

from accounts.models import User
from helpdesk.lib.exceptions import ApplicationError, Conflict
from mail import identity, services
from mail.models import InboundMessage, Notification
from tests.factories import AgentFactory, ticket_make
from tests.mail.conftest import TRUSTED_AUTHSERV_ID, authenticated, mime
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

S = InboundMessage.Status


def receive(raw: bytes) -> InboundMessage:
    return services.inbound_receive(raw, source="http")


@pytest.fixture
def alex(queue):
    """An agent of the ticket's queue."""
    user = AgentFactory(email="agent@example.com", name="Alex Agent")
    queue.members.add(user)
    return user


@pytest.fixture
def ticket(mail_settings, queue, customer):
    return ticket_make(queue=queue, requester=customer, subject="Printer jam")


def public_replies(ticket: Ticket) -> int:
    return ticket.messages.filter(is_description=False, visibility=Message.Visibility.PUBLIC).count()


# --- finding 1: forged staff and customer senders -----------------------------


def test_forged_agent_from_is_held_never_a_public_reply(ticket, alex, customer):
    """The incident: `From: Alex Agent <agent@example.com>` with
    `Re: [#N]` and no authentication. Nothing is posted, nothing is mailed
    to the customer; the mail is held on the ticket with the reason."""
    raw = mime(sender="Alex Agent <agent@example.com>", subject=f"Re: [#{ticket.pk}] Printer jam", body="Refund sent!")
    notifications_before = Notification.objects.filter(recipient=customer).count()
    inbound = receive(raw)
    assert inbound.status == S.HELD
    assert inbound.ticket_id == ticket.pk
    assert "staff address agent@example.com without authentication" in inbound.reason
    assert not ticket.messages.filter(body__contains="Refund sent!").exists()
    assert Notification.objects.filter(recipient=customer).count() == notifications_before
    assert django_mail.outbox == []


@pytest.mark.parametrize(
    "stamp",
    [
        # Another server's verdict (not in the trusted list).
        b"Authentication-Results: mx.evil.example; dmarc=pass header.from=example.com\r\n",
        # Written by the sender below our server's own stamp and Received
        # line, with our authserv-id: proves nothing.
        (
            b"Authentication-Results: mx.acme.test; dmarc=none header.from=example.com\r\n"
            b"Received: from evil.example by mx.acme.test; Mon, 1 Dec 2025 10:00:00 +0000\r\n"
            b"Authentication-Results: mx.acme.test; dkim=pass header.d=example.com;"
            b" dmarc=pass header.from=example.com\r\n"
        ),
    ],
)
def test_untrusted_authentication_results_are_ignored(ticket, alex, stamp):
    raw = stamp + mime(sender="agent@example.com", subject=f"Re: [#{ticket.pk}] x", body="Closing this.")
    inbound = receive(raw)
    assert inbound.status == S.HELD
    assert inbound.auth_status == identity.NONE
    assert public_replies(ticket) == 0


def test_authenticated_agent_reply_by_mail_is_a_public_reply(ticket, alex):
    """Staff can still answer by mail when our server vouches for them."""
    token = services.reply_token_for(ticket_id=ticket.pk)
    inbound = receive(authenticated(mime(sender="agent@example.com", to=f"support+{token}@acme.test", body="On it.")))
    assert inbound.status == S.PROCESSED, inbound.reason
    assert inbound.auth_status == identity.PASS
    message = inbound.result_message
    assert (message.author, message.author_role, message.visibility) == (alex, "agent", "public")


def test_forged_customer_reply_by_subject_is_held_not_appended(ticket, customer):
    """The second incident: a forged customer From with `[#N]` no longer
    lands as the customer's reply."""
    inbound = receive(mime(sender=customer.email, subject=f"Re: [#{ticket.pk}] Printer jam", body="Cancel it."))
    assert inbound.status == S.HELD
    assert (inbound.ticket_id, inbound.threaded_by) == (ticket.pk, "subject")
    assert f"reply to #{ticket.pk} from {customer.email} is not authenticated" in inbound.reason
    assert public_replies(ticket) == 0


def test_authenticated_customer_reply_by_subject_is_appended(ticket, customer):
    inbound = receive(authenticated(mime(sender=customer.email, subject=f"Re: [#{ticket.pk}] x", body="Any news?")))
    assert inbound.status == S.PROCESSED, inbound.reason
    assert inbound.result_message.author == customer


def test_dmarc_fail_is_held_even_on_the_reply_address(ticket, customer):
    token = services.reply_token_for(ticket_id=ticket.pk)
    domain = customer.email.rpartition("@")[2]
    raw = authenticated(
        mime(sender=customer.email, to=f"support+{token}@acme.test", body="Pay to this IBAN."),
        results=f"dkim=none; spf=fail smtp.mailfrom=evil.example; dmarc=fail header.from={domain}",
    )
    inbound = receive(raw)
    assert inbound.status == S.HELD
    assert inbound.auth_status == identity.FAIL
    assert "authentication failed" in inbound.reason
    assert public_replies(ticket) == 0


def test_unauthenticated_reply_to_the_secret_reply_address(ticket, customer, settings):
    """No verdict either way: the unguessable reply address (sent only to
    the requester and CCs) is accepted; with the setting off it is held."""
    token = services.reply_token_for(ticket_id=ticket.pk)
    inbound = receive(mime(sender=customer.email, to=f"support+{token}@acme.test", body="Thanks!"))
    assert (inbound.status, inbound.threaded_by, inbound.auth_status) == (S.PROCESSED, "token", identity.NONE)
    settings.HELPDESK_MAIL_TRUST_REPLY_TOKEN = False
    inbound = receive(mime(sender=customer.email, to=f"support+{token}@acme.test", body="Again."))
    assert inbound.status == S.HELD


def test_unauthenticated_new_mail_from_a_customer_opens_a_ticket(mail_settings, customer):
    """Like Zendesk: a new conversation needs no authentication."""
    inbound = receive(mime(sender=customer.email, subject="New problem"))
    assert inbound.status == S.PROCESSED
    assert inbound.ticket.requester == customer
    assert inbound.auth_status == identity.NONE


def test_unauthenticated_new_mail_from_a_staff_address_is_held(mail_settings, alex):
    before = Ticket.objects.count()
    inbound = receive(mime(sender="agent@example.com", subject="Please refund order 42"))
    assert inbound.status == S.HELD and inbound.ticket_id is None
    assert Ticket.objects.count() == before


def test_without_trusted_authserv_ids_nothing_is_authenticated(ticket, alex, settings):
    """The embedded default: no trusted server, so even a perfect-looking
    stamp proves nothing and staff mail never acts as staff."""
    settings.HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS = []
    inbound = receive(authenticated(mime(sender="agent@example.com", subject=f"Re: [#{ticket.pk}] x")))
    assert inbound.status == S.HELD
    assert inbound.auth_detail == "no Authentication-Results from a trusted server"


def test_trusted_authserv_ids_from_a_comma_separated_string(ticket, alex, settings):
    settings.HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS = "mx1.acme.test, MX.ACME.TEST"
    inbound = receive(authenticated(mime(sender="agent@example.com", subject=f"Re: [#{ticket.pk}] x")))
    assert inbound.status == S.PROCESSED, inbound.reason


# --- held mail: visible to agents, released or discarded ---------------------


def test_agent_sees_held_mail_and_reason_on_the_ticket_and_releases_it(client, ticket, customer, alex):
    inbound = receive(mime(sender=customer.email, subject=f"Re: [#{ticket.pk}] x", body="Still jammed."))
    assert inbound.status == S.HELD
    client.force_login(alex)
    page = client.get(reverse("tickets:agent-ticket-detail", args=[ticket.pk])).content.decode()
    assert 'id="held-mail-panel"' in page and "Held email (1)" in page
    assert "is not authenticated" in page and "Still jammed." in page
    listing = client.get(reverse("mail:agent-held-list")).content.decode()
    assert "Still jammed." in listing
    detail_url = reverse("tickets:agent-ticket-detail", args=[ticket.pk])
    response = client.post(reverse("mail:agent-held-release", args=[inbound.pk]), {"next": detail_url})
    assert response.status_code == 302 and response["Location"] == detail_url
    inbound.refresh_from_db()
    assert inbound.status == S.PROCESSED and inbound.resolved_by == alex
    assert inbound.reason.startswith(f"released by {alex.email}: reply on #{ticket.pk}")
    message = inbound.result_message
    assert (message.author, message.visibility, message.body) == (customer, "public", "Still jammed.")
    assert 'id="held-mail-panel"' not in client.get(detail_url).content.decode()


def test_release_of_staff_mail_is_an_internal_note_by_the_releasing_agent(client, ticket, alex, customer):
    other = AgentFactory()
    ticket.queue.members.add(other)
    inbound = receive(mime(sender="agent@example.com", subject=f"Re: [#{ticket.pk}] x", body="Refund sent!"))
    released = services.inbound_release(inbound_id=inbound.pk, actor=other)
    note = released.result_message
    assert (note.author, note.visibility) == (other, Message.Visibility.INTERNAL)
    assert "Refund sent!" in note.body and "agent@example.com" in note.body
    assert public_replies(ticket) == 0
    assert not Notification.objects.filter(recipient=customer, kind="agent_reply").exists()


def test_staff_mail_without_ticket_cannot_be_released(mail_settings, alex, manager):
    inbound = receive(mime(sender="agent@example.com", subject="new"))
    with pytest.raises(ApplicationError, match="never becomes a ticket"):
        services.inbound_release(inbound_id=inbound.pk, actor=manager)
    inbound.refresh_from_db()
    assert inbound.status == S.HELD


def test_release_of_failed_new_mail_opens_the_ticket(mail_settings, manager, customer):
    domain = customer.email.rpartition("@")[2]
    raw = authenticated(mime(sender=customer.email, subject="Hi"), results=f"dmarc=fail header.from={domain}")
    inbound = receive(raw)
    assert inbound.status == S.HELD and inbound.ticket_id is None
    released = services.inbound_release(inbound_id=inbound.pk, actor=manager)
    assert released.status == S.PROCESSED and released.ticket.requester == customer


def test_discard_and_access(client, ticket, customer, alex, other_agent):
    inbound = receive(mime(sender=customer.email, subject=f"Re: [#{ticket.pk}] x", body="spam?"))
    # An agent who cannot see the ticket neither sees nor discards it.
    client.force_login(other_agent)
    assert "spam?" not in client.get(reverse("mail:agent-held-list")).content.decode()
    client.post(reverse("mail:agent-held-discard", args=[inbound.pk]))
    inbound.refresh_from_db()
    assert inbound.status == S.HELD
    # Customers get 404 (staff pages do not exist for them).
    client.force_login(customer)
    assert client.post(reverse("mail:agent-held-discard", args=[inbound.pk])).status_code == 404
    client.force_login(alex)
    client.post(reverse("mail:agent-held-discard", args=[inbound.pk]))
    inbound.refresh_from_db()
    assert inbound.status == S.DROPPED and inbound.reason.startswith(f"discarded by {alex.email}; was held:")
    assert public_replies(ticket) == 0
    # Twice: a clear conflict, no change.
    with pytest.raises(Conflict, match="no longer held"):
        services.inbound_release(inbound_id=inbound.pk, actor=alex)


def test_admin_lists_held_mail_with_reason_and_releases(client, ticket, customer, settings):
    admin = User.objects.create_superuser(email="root@acme.test", password="pw-123456789")
    inbound = receive(mime(sender=customer.email, subject=f"Re: [#{ticket.pk}] x", body="via admin"))
    client.force_login(admin)
    page = client.get("/admin/mail/inboundmessage/?status__exact=held").content.decode()
    assert "is not authenticated" in page
    response = client.post(
        "/admin/mail/inboundmessage/", {"action": "release", "_selected_action": [inbound.pk]}, follow=True
    )
    assert response.status_code == 200
    inbound.refresh_from_db()
    assert inbound.status == S.PROCESSED and inbound.result_message.author == customer


# --- Authentication-Results parsing ------------------------------------------


def test_auth_results_parse_comments_versions_and_properties():
    authserv_id, results = identity.auth_results_parse(
        "MX.Acme.test 1; dkim=pass (2048-bit key; secure) header.d=Mail.Example.com header.s=s1;"
        ' spf/1=pass (sender ok) smtp.mailfrom="bounce@example.com"; dmarc=pass (p=reject) header.from=example.com'
    )
    assert authserv_id == "mx.acme.test"
    assert [(r.method, r.result) for r in results] == [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]
    assert results[0].props["header.d"] == "mail.example.com"
    assert results[1].props["smtp.mailfrom"] == "bounce@example.com"


@pytest.mark.parametrize(
    ("results", "from_email", "status"),
    [
        ("dmarc=pass header.from=example.com", "a@example.com", "pass"),
        ("dmarc=pass header.from=evil.example", "a@example.com", "none"),  # about another From
        ("dkim=pass header.d=example.com", "a@sub.example.com", "pass"),  # From below the signer
        ("dkim=pass header.d=sub.example.com", "a@example.com", "none"),  # no PSL: not assumed aligned
        ("dkim=pass header.d=evil.example", "a@example.com", "none"),
        ("spf=pass smtp.mailfrom=x@example.com", "a@example.com", "pass"),
        ("spf=pass smtp.mailfrom=x@evil.example; dkim=fail header.d=example.com", "a@example.com", "fail"),
        ("dkim=pass header.d=example.com; dmarc=fail header.from=example.com", "a@example.com", "fail"),
        ("none", "a@example.com", "none"),
    ],
)
def test_sender_verdict(results, from_email, status):
    raw = f"Authentication-Results: {TRUSTED_AUTHSERV_ID}; {results}\r\nFrom: {from_email}\r\n\r\nx".encode()
    verdict = identity.sender_verdict(identity.trusted_results(raw, {TRUSTED_AUTHSERV_ID}), from_email)
    assert verdict.status == status, verdict.detail


def test_trusted_run_spans_consecutive_stamps_of_our_server():
    """OpenDKIM and OpenDMARC stamp separately; both count."""
    raw = (
        b"Authentication-Results: mx.acme.test; dmarc=pass header.from=example.com\r\n"
        b"Authentication-Results: mx.acme.test; dkim=pass header.d=example.com\r\n"
        b"Received: from a by mx.acme.test\r\n"
        b"Authentication-Results: mx.acme.test; spf=fail\r\n"
        b"From: a@example.com\r\n\r\nx"
    )
    results = identity.trusted_results(raw, {"mx.acme.test"})
    assert [(r.method, r.result) for r in results] == [("dmarc", "pass"), ("dkim", "pass")]


# --- finding 2: Cc cap -------------------------------------------------------


def test_five_hundred_ccs_create_only_the_kept_users(mail_settings, settings):
    ccs = ", ".join(f"cc{i}@many.example" for i in range(500))
    users_before = User.objects.count()
    inbound = receive(mime(sender="boss@many.example", subject="All hands", headers={"Cc": ccs}))
    assert inbound.status == S.PROCESSED, inbound.reason
    assert inbound.ticket.ccs.count() == 20
    assert User.objects.count() == users_before + 1 + 20  # the sender and the kept CCs only
    assert "480 more Cc address(es) were not added" in inbound.result_message.body
    settings.HELPDESK_MAIL_MAX_CCS = 3
    inbound = receive(mime(sender="boss@many.example", subject="Again", headers={"Cc": ccs}))
    assert sorted(inbound.ticket.ccs.values_list("email", flat=True)) == [f"cc{i}@many.example" for i in range(3)]


# --- finding 3: dedupe on Message-ID and content -----------------------------


def test_reused_message_id_with_other_content_is_kept_and_flagged(mail_settings):
    first = receive(mime(subject="Order 1", body="First mail.", message_id="<reused@broken-client>"))
    second = receive(mime(subject="Order 2", body="Second, different mail.", message_id="<reused@broken-client>"))
    assert (first.status, second.status) == (S.PROCESSED, S.PROCESSED), second.reason
    assert second.duplicate_of_id is None and second.same_message_id_as_id == first.pk
    assert first.ticket_id != second.ticket_id
    assert Ticket.objects.filter(subject__in=["Order 1", "Order 2"]).count() == 2


def test_redelivery_through_other_hops_is_still_a_duplicate(mail_settings):
    """Same mail, new Received and Authentication-Results stamps, CRLF vs LF."""
    raw = mime(subject="Once", body="Only once.", message_id="<once@customer.example>")
    first = receive(raw)
    again = b"Received: from relay2 by mx.acme.test; Tue, 2 Dec 2025 10:00:00 +0000\n" + raw.replace(b"\r\n", b"\n")
    second = receive(authenticated(again))
    assert second.status == S.DROPPED and second.duplicate_of_id == first.pk
    assert "same Message-ID and content" in second.reason
    assert Ticket.objects.filter(subject="Once").count() == 1


def test_held_mail_without_ticket_is_listed_for_managers_only(client, mail_settings, alex, manager):
    inbound = receive(mime(sender="agent@example.com", subject="Wire the money", body="urgent wire"))
    assert inbound.status == S.HELD and inbound.ticket_id is None
    client.force_login(alex)
    assert "urgent wire" not in client.get(reverse("mail:agent-held-list")).content.decode()
    client.force_login(manager)
    page = client.get(reverse("mail:agent-held-list")).content.decode()
    assert "urgent wire" in page and "staff address agent@example.com without authentication" in page


def test_a_held_mails_message_id_does_not_thread_later_mail(ticket, customer):
    """A held mail's ticket is a claim: answering its Message-ID threads
    nothing (it would otherwise launder a subject match into a header one)."""
    receive(mime(sender=customer.email, subject=f"[#{ticket.pk}]", message_id="<held-1@customer.example>"))
    later = receive(mime(sender=customer.email, subject="hello", headers={"In-Reply-To": "<held-1@customer.example>"}))
    assert later.status == S.PROCESSED and later.ticket_id != ticket.pk and later.threaded_by == ""


def test_failed_stranger_naming_a_ticket_is_held_without_it(ticket, manager):
    """A stranger's held mail is not tied to the ticket it names, so its
    release opens the stranger's own ticket and never joins that one."""
    raw = authenticated(
        mime(sender="mallory@evil.example", subject=f"Re: [#{ticket.pk}] Printer jam", body="Pay here."),
        results="dmarc=fail header.from=evil.example",
    )
    inbound = receive(raw)
    assert inbound.status == S.HELD and inbound.ticket_id is None
    released = services.inbound_release(inbound_id=inbound.pk, actor=manager)
    assert released.ticket_id != ticket.pk and released.ticket.requester.email == "mallory@evil.example"
    assert public_replies(ticket) == 0
