"""A worker killed in the middle of an SMTP conversation (docs/delivery.md):
the attempt was recorded before the send, the row is left alone while the
attempt may still be running, then retried exactly once after
HELPDESK_NOTIFY_ATTEMPT_TIMEOUT, with the same Message-ID."""

import asyncio
import threading
from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
import time_machine
from django.utils import timezone

from mail import services
from mail.models import Notification
from tests.factories import ticket_make
from tests.integration.crash import kill_when, start_attempt
from tests.mail.test_outbox import free_port
from tickets import services as ticket_services


class StallingSink:
    """A real SMTP server that takes the first message's DATA and then never
    answers (the client is killed while waiting for the 250)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.lock = threading.Lock()
        self.released = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(envelope.content)
            first = len(self.messages) == 1
        for _ in range(300 if first else 0):
            if self.released.is_set():
                break
            await asyncio.sleep(0.1)
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [BytesParser(policy=policy.default).parsebytes(m)["Message-ID"] for m in self.messages]


@pytest.fixture
def sink(settings):
    from aiosmtpd.controller import Controller

    handler = StallingSink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield controller, handler
    finally:
        handler.released.set()
        controller.stop()


@pytest.mark.django_db(transaction=True)
def test_killed_mid_send_is_retried_once_after_the_timeout_with_the_same_message_id(
    mail_settings, queue, agent, customer, sink
):
    controller, handler = sink
    ticket = ticket_make(queue=queue, requester=customer, subject="Crash me")
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="An answer")
    row = Notification.objects.get(ticket=ticket, kind="agent_reply")
    Notification.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=10))

    proc = start_attempt(
        "mail",
        row.pk,
        EMAIL_URL=f"smtp://127.0.0.1:{controller.port}",
        HELPDESK_MAIL_REPLY_ADDRESS="support@acme.test",
        DJANGO_DEFAULT_FROM_EMAIL="helpdesk@acme.test",
    )
    kill_when(proc, lambda: len(handler.messages) == 1)

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.attempt_started_at is not None and row.message_id == f"<{row.pk}.{ticket.pk}@acme.test>"
    # The outcome is unknown: not sent again while the attempt may be alive.
    assert services.notification_deliver(notification_id=row.pk) == "in_flight"
    assert services.notifications_due_ids() == []
    assert len(handler.messages) == 1

    with time_machine.travel(timezone.now() + timedelta(seconds=121)):
        assert services.notifications_due_ids() == [row.pk]
        assert services.notification_deliver(notification_id=row.pk) == "sent"
        assert services.notification_deliver(notification_id=row.pk) == "sent"
        assert services.notifications_due_ids() == []
    row.refresh_from_db()
    assert (row.status, row.attempts, row.attempt_started_at) == ("sent", 2, None)
    # Sent twice (at least once), under one Message-ID receivers dedupe on.
    assert handler.message_ids() == [row.message_id, row.message_id]
