"""The notifications outbox: rows with the event, delivery, threading, SMTP."""

import smtplib
import socket
import threading
from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
from django.core import mail as django_mail
from django.db import transaction
from django.utils import timezone

from mail import services
from mail.models import Notification
from tests.factories import AgentFactory, CustomerFactory, ticket_make
from tests.mail.conftest import authenticated, mime
from tickets import services as ticket_services
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db

NK = Notification.Kind


@pytest.fixture
def ticket(mail_settings, queue, customer):
    return ticket_make(queue=queue, requester=customer, subject="Printer jam")


def test_agent_public_reply_writes_rows_for_requester_and_ccs(ticket, agent, customer):
    cc = CustomerFactory()
    ticket.ccs.add(cc)
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="Try **this**.")
    rows = Notification.objects.filter(ticket=ticket, kind=NK.AGENT_REPLY).order_by("to_email")
    assert sorted(r.recipient_id for r in rows) == sorted([customer.pk, cc.pk])
    row = rows.filter(recipient=customer).get()
    assert row.subject == f"[#{ticket.pk}] Printer jam"
    assert "Try **this**." in row.body
    assert "##- Please type your reply above this line -##" in row.body
    assert "<strong>this</strong>" in row.body_html
    assert row.status == Notification.Status.PENDING
    event = TicketEvent.objects.filter(ticket=ticket, kind="message.created").latest("id")
    assert row.event_id == event.pk


def test_rows_are_written_in_the_event_transaction(ticket, agent):
    """Rolled back with the event: no event, no row."""
    with pytest.raises(RuntimeError), transaction.atomic():
        ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="never")
        assert Notification.objects.filter(ticket=ticket).count() == 1
        raise RuntimeError("rollback")
    assert not Notification.objects.filter(ticket=ticket).exists()
    assert not TicketEvent.objects.filter(ticket=ticket, kind="message.created").exists()


def test_delivery_is_enqueued_on_commit(ticket, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="hello")
    assert len(callbacks) >= 1


def test_internal_note_notifies_no_one(ticket, agent):
    ticket.assignee = agent
    ticket.save(update_fields=["assignee"])
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="secret", visibility="internal")
    assert not Notification.objects.filter(ticket=ticket).exists()


def test_customer_reply_notifies_the_assignee_only(ticket, agent, customer):
    ticket_services.ticket_assign(ticket_id=ticket.pk, assignee=agent, actor=None)
    ticket_services.message_post(ticket_id=ticket.pk, author=customer, body="more info")
    rows = list(Notification.objects.filter(ticket=ticket).values_list("kind", "recipient_id"))
    assert sorted(rows) == sorted([(NK.ASSIGNED, agent.pk), (NK.CUSTOMER_REPLY, agent.pk)])


def test_self_assignment_is_not_notified(ticket, agent):
    ticket_services.ticket_assign(ticket_id=ticket.pk, assignee=agent, actor=agent)
    assert not Notification.objects.filter(ticket=ticket).exists()


def test_solved_notifies_requester_with_csat_links(ticket, agent, customer):
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    row = Notification.objects.get(ticket=ticket, kind=NK.SOLVED)
    assert row.recipient == customer
    assert row.body.count("https://help.acme.test/mail/csat/") == 5
    assert not TicketEvent.objects.filter(ticket=ticket, kind="survey.offered").exists()
    services.notification_deliver(notification_id=row.pk)
    # survey.offered is recorded when the mail goes out, once.
    services.notification_deliver(notification_id=row.pk)
    # One offer per survey its links ask: CSAT, and CES on a support queue.
    offers = TicketEvent.objects.filter(ticket=ticket, kind="survey.offered")
    assert sorted(offers.values_list("data__survey", flat=True)) == ["ces", "csat"]


def test_preferences_are_respected(ticket, agent, customer):
    services.notification_preference_set(user=customer, kind=NK.AGENT_REPLY, enabled=False)
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="hello")
    assert not Notification.objects.filter(ticket=ticket, kind=NK.AGENT_REPLY).exists()
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    assert Notification.objects.filter(ticket=ticket, kind=NK.SOLVED).exists()


def test_historic_events_notify_no_one(ticket, agent):
    """Seeds and imports replaying history through services send nothing."""
    ticket_services.message_post(
        ticket_id=ticket.pk, author=agent, body="old", occurred_at=timezone.now() - timedelta(days=30)
    )
    assert not Notification.objects.filter(ticket=ticket).exists()


def test_email_ticket_gets_an_acknowledgement(mail_settings, queue):
    queue.send_acknowledgement = True  # factory queues have it off
    queue.save(update_fields=["send_acknowledgement"])
    inbound = services.inbound_receive(mime(subject="New one"), source="http")
    row = Notification.objects.get(ticket_id=inbound.ticket_id)
    assert row.kind == NK.RECEIVED
    assert row.to_email == "ann@customer.example"


def test_notifications_for_event_is_idempotent(ticket, agent):
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="hello")
    event = TicketEvent.objects.filter(ticket=ticket, kind="message.created").latest("id")
    assert services.notifications_for_event(event) == []
    assert Notification.objects.filter(event=event).count() == 1


def test_send_twice_delivers_one_email(ticket, agent, customer):
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="hello")
    row = Notification.objects.get(ticket=ticket)
    django_mail.outbox.clear()
    assert services.notification_deliver(notification_id=row.pk) == "sent"
    assert services.notification_deliver(notification_id=row.pk) == "sent"
    assert len(django_mail.outbox) == 1
    sent = django_mail.outbox[0]
    row.refresh_from_db()
    assert row.status == "sent" and row.sent_at and row.attempts == 1
    assert sent.to == [customer.email]
    assert sent.extra_headers["Message-ID"] == f"<{row.pk}.{ticket.pk}@acme.test>" == row.message_id
    token = services.reply_token_for(ticket_id=ticket.pk)
    assert sent.reply_to == [f"support+{token}@acme.test"]


def test_thread_headers_point_at_the_first_message(ticket, agent):
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="one")
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="two")
    first, second = Notification.objects.filter(ticket=ticket).order_by("id")
    django_mail.outbox.clear()
    services.notification_deliver(notification_id=first.pk)
    services.notification_deliver(notification_id=second.pk)
    a, b = django_mail.outbox
    assert "In-Reply-To" not in a.extra_headers
    assert b.extra_headers["In-Reply-To"] == a.extra_headers["Message-ID"]
    assert b.extra_headers["References"] == a.extra_headers["Message-ID"]


def test_email_ticket_threads_on_the_customers_message_id(mail_settings, agent):
    inbound = services.inbound_receive(mime(message_id="<first@customer.example>"), source="http")
    ticket_services.message_post(ticket_id=inbound.ticket_id, author=agent, body="answer")
    row = Notification.objects.get(ticket_id=inbound.ticket_id, kind=NK.AGENT_REPLY)
    django_mail.outbox.clear()
    services.notification_deliver(notification_id=row.pk)
    assert django_mail.outbox[0].extra_headers["In-Reply-To"] == "<first@customer.example>"


class FailingBackend:
    """An SMTP server that is down (connection refused)."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPConnectError(421, "down")


def test_smtp_down_is_retried_later_nothing_lost_nothing_twice(ticket, agent, settings):
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="hello")
    row = Notification.objects.get(ticket=ticket)
    settings.EMAIL_BACKEND = "tests.mail.test_outbox.FailingBackend"
    with pytest.raises(smtplib.SMTPConnectError):
        services.notification_deliver(notification_id=row.pk)
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 1
    assert "SMTPConnectError" in row.last_error
    assert row.next_attempt_at > timezone.now()
    # The sweeper picks it up once it is old enough and due.
    Notification.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(minutes=10), next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.notifications_due_ids() == [row.pk]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    django_mail.outbox.clear()
    services.notification_deliver(notification_id=row.pk)
    services.notification_deliver(notification_id=row.pk)
    assert len(django_mail.outbox) == 1
    assert services.notifications_due_ids() == []


def test_gives_up_after_max_attempts(ticket, agent, settings):
    settings.HELPDESK_NOTIFY_MAX_ATTEMPTS = 2
    settings.EMAIL_BACKEND = "tests.mail.test_outbox.FailingBackend"
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="hello")
    row = Notification.objects.get(ticket=ticket)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPConnectError):
            services.notification_deliver(notification_id=row.pk)
    row.refresh_from_db()
    assert row.status == "failed"
    assert services.notification_deliver(notification_id=row.pk) == "failed"


def test_broker_down_does_not_fail_the_request(ticket, agent, settings):
    """Enqueueing against a dead broker is logged, never raised."""
    from helpdesk.celery import app

    old = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = "redis://127.0.0.1:1/0", False
    try:
        ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="hello")
        row = Notification.objects.get(ticket=ticket)
        services.notifications_enqueue([row.pk])  # must not raise
    finally:
        app.conf.broker_url, app.conf.task_always_eager = old
    assert Notification.objects.get(pk=row.pk).status == "pending"


# --- a real SMTP conversation -------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.envelopes = []
            self.lock = threading.Lock()

        async def handle_DATA(self, server, session, envelope):
            with self.lock:
                self.envelopes.append(envelope)
            return "250 OK"

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def test_real_smtp_delivery_with_threading_headers(ticket, agent, customer, settings, smtp_server):
    controller, handler = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="First answer")
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="Second answer")
    rows = list(Notification.objects.filter(ticket=ticket).order_by("id"))
    for row in rows:
        services.notification_deliver(notification_id=row.pk)
        services.notification_deliver(notification_id=row.pk)  # idempotent
    assert len(handler.envelopes) == 2
    first, second = (BytesParser(policy=policy.default).parsebytes(e.content) for e in handler.envelopes)
    assert handler.envelopes[0].rcpt_tos == [customer.email]
    assert handler.envelopes[0].mail_from == "helpdesk@acme.test"
    assert first["Subject"] == f"[#{ticket.pk}] Printer jam"
    assert first["Message-ID"] == f"<{rows[0].pk}.{ticket.pk}@acme.test>"
    assert second["In-Reply-To"] == first["Message-ID"]
    assert second["References"] == first["Message-ID"]
    token = services.reply_token_for(ticket_id=ticket.pk)
    assert second["Reply-To"] == f"support+{token}@acme.test"
    assert second.get_body(("plain",)).get_content().count("Second answer") == 1
    assert "Second answer" in second.get_body(("html",)).get_content()
    # The customer answers the second mail: it threads back by header.
    reply = mime(
        sender=customer.email,
        to=second["Reply-To"],
        subject=f"Re: {second['Subject']}",
        body="Thanks!\n\nOn Tue, 3 Jun 2025, Help desk wrote:\n> Second answer",
        headers={"In-Reply-To": second["Message-ID"]},
    )
    inbound = services.inbound_receive(reply, source="http")
    assert inbound.ticket_id == ticket.pk and inbound.result_message.body == "Thanks!"
    assert inbound.threaded_by == "token"


def test_agent_email_reply_via_token_is_a_public_reply(mail_settings, queue):
    """An agent answering a notification by mail posts to the ticket, not a new ticket."""
    agent = AgentFactory(email="agent.x@acme.test")
    queue.members.add(agent)
    ticket = ticket_make(queue=queue)
    token = services.reply_token_for(ticket_id=ticket.pk)
    inbound = services.inbound_receive(
        authenticated(mime(sender=agent.email, to=f"support+{token}@acme.test", body="On it.")), source="http"
    )
    assert inbound.ticket_id == ticket.pk
    assert inbound.result_message.author_role == "agent"


# --- ticketless rows (the weekly KPI report) ---------------------------------


def report(recipient, key="weekly_report:test:2025-10-27", **kwargs):
    return services.notification_enqueue_report(
        recipient=recipient, subject="Weekly KPIs", body="Created 3", dedupe_key=key, **kwargs
    )


def test_report_row_is_written_once_per_dedupe_key(mail_settings, manager, django_capture_on_commit_callbacks):
    """The row has no ticket or event; its delivery is enqueued on commit; a
    second call with the same key writes nothing and enqueues nothing."""
    with django_capture_on_commit_callbacks() as callbacks:
        row = report(manager, body_html="<p>Created 3</p>")
    assert len(callbacks) == 1
    assert row.kind == NK.WEEKLY_REPORT and row.ticket_id is None and row.event_id is None
    assert row.to_email == manager.email and row.status == "pending"
    with django_capture_on_commit_callbacks() as callbacks:
        assert report(manager) is None
    assert callbacks == []
    assert Notification.objects.filter(kind=NK.WEEKLY_REPORT).count() == 1
    with pytest.raises(ValueError, match="dedupe_key"):
        report(manager, key="")


def test_report_dedupe_key_and_ticket_kinds_are_constraints(manager, customer):
    """The database backs both rules: one row per non-empty dedupe key, and
    a ticket kind always has its ticket and event."""
    from django.db import IntegrityError

    report(manager)
    fields = {"recipient": manager, "to_email": manager.email, "subject": "s", "body": "b"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(kind=NK.WEEKLY_REPORT, dedupe_key="weekly_report:test:2025-10-27", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(kind=NK.AGENT_REPLY, **fields)
    # Empty keys (every ticket notification) never collide.
    Notification.objects.create(kind=NK.WEEKLY_REPORT, **fields)
    Notification.objects.create(kind=NK.WEEKLY_REPORT, **fields)


def test_report_respects_preferences_and_inactive_users(mail_settings, manager):
    services.notification_preference_set(user=manager, kind=NK.WEEKLY_REPORT, enabled=False)
    assert report(manager) is None
    services.notification_preference_set(user=manager, kind=NK.WEEKLY_REPORT, enabled=True)
    manager.is_active = False
    manager.save(update_fields=["is_active"])
    assert report(manager) is None
    assert not Notification.objects.exists()


def test_report_is_delivered_without_thread_or_reply_token(mail_settings, manager):
    row = report(manager, body_html="<p>Created <b>3</b></p>")
    django_mail.outbox.clear()
    assert services.notification_deliver(notification_id=row.pk) == "sent"
    assert services.notification_deliver(notification_id=row.pk) == "sent"
    assert len(django_mail.outbox) == 1
    msg = BytesParser(policy=policy.default).parsebytes(django_mail.outbox[0].message().as_bytes())
    row.refresh_from_db()
    assert msg["Message-ID"] == f"<{row.pk}.weekly_report@acme.test>" == row.message_id
    assert msg["To"] == manager.email and msg["Subject"] == "Weekly KPIs"
    assert msg["Reply-To"] is None and msg["In-Reply-To"] is None and msg["X-Helpdesk-Ticket"] is None
    assert msg["X-Helpdesk-Loop"] == "acme.test"
    assert msg.get_body(("plain",)).get_content().strip() == "Created 3"
    assert "<b>3</b>" in msg.get_body(("html",)).get_content()


def test_report_smtp_down_is_retried_by_the_sweeper(mail_settings, manager):
    row = report(manager)
    mail_settings.EMAIL_BACKEND = "tests.mail.test_outbox.FailingBackend"
    with pytest.raises(smtplib.SMTPConnectError):
        services.notification_deliver(notification_id=row.pk)
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 1 and "SMTPConnectError" in row.last_error
    Notification.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(minutes=10), next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.notifications_due_ids() == [row.pk]
    mail_settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    django_mail.outbox.clear()
    assert services.notification_deliver(notification_id=row.pk) == "sent"
    assert len(django_mail.outbox) == 1


def test_answer_to_a_report_is_not_threaded_onto_a_ticket(ticket, agent, manager):
    """In-Reply-To naming a report (no ticket) falls through to the other
    rules instead of matching "ticket None"; a ticket notification named
    next to it still threads."""
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="hello")
    ticket_row = Notification.objects.get(ticket=ticket)
    services.notification_deliver(notification_id=ticket_row.pk)
    report_row = report(manager)
    services.notification_deliver(notification_id=report_row.pk)
    report_row.refresh_from_db()
    ticket_row.refresh_from_db()
    alone = services.inbound_receive(
        authenticated(
            mime(sender=manager.email, subject="Re: Weekly KPIs", headers={"In-Reply-To": report_row.message_id})
        ),
        source="http",
    )
    assert alone.status == "processed" and alone.threaded_by == "" and alone.ticket_id != ticket.pk
    both = services.inbound_receive(
        authenticated(
            mime(
                sender=manager.email,
                subject="Re: both",
                headers={"In-Reply-To": report_row.message_id, "References": ticket_row.message_id},
            )
        ),
        source="http",
    )
    assert both.ticket_id == ticket.pk and both.threaded_by == "header"


# --- one message for a transaction's rows (a bulk create, docs/delivery.md) ------------------


class FirstFailsBackend:
    """The first send of a test fails (SMTP down), the next ones go to the locmem outbox."""

    calls = 0

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        from django.core import mail as django_mail

        FirstFailsBackend.calls += 1
        if FirstFailsBackend.calls == 1:
            raise smtplib.SMTPConnectError(421, "down")
        django_mail.outbox.extend(messages)
        return len(messages)


def test_send_many_delivers_each_and_hands_a_failure_to_its_own_task(ticket, agent, customer, settings):
    """A failing row does not stop the others; it stays pending with its
    attempt recorded (its own task, or the sweeper, retries it); a row that
    is gone is skipped. With the broker down the hand-off is logged, not raised."""
    from django.core import mail as django_mail

    from helpdesk.celery import app
    from mail.tasks import notifications_send_many

    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="first")
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="second")
    rows = list(Notification.objects.filter(ticket=ticket).order_by("pk"))
    assert len(rows) == 2
    django_mail.outbox.clear()
    FirstFailsBackend.calls = 0
    settings.EMAIL_BACKEND = "tests.mail.test_outbox.FirstFailsBackend"
    old = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = "redis://127.0.0.1:1/0", False
    try:
        notifications_send_many(notification_ids=[rows[0].pk, 999_999_999, rows[1].pk])
    finally:
        app.conf.broker_url, app.conf.task_always_eager = old
    first, second = (Notification.objects.get(pk=r.pk) for r in rows)
    assert first.status == "pending" and first.attempts == 1 and "SMTPConnectError" in first.last_error
    assert second.status == "sent" and len(django_mail.outbox) == 1
