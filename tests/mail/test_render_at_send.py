"""Notification e-mails rendered by the delivery worker, not in the event's
transaction (HELPDESK_NOTIFY_RENDER = "send", the default; docs/delivery.md
"Rendering at send time")."""

import pytest
from django.core import mail as django_mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mail import services
from mail.models import Notification
from tests.factories import ticket_make
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db

NK = Notification.Kind


@pytest.fixture
def ticket(mail_settings, queue, customer):
    mail_settings.HELPDESK_NOTIFY_RENDER = "send"
    return ticket_make(queue=queue, requester=customer, subject="Printer jam")


def test_the_event_writes_the_row_without_rendering_a_template(ticket, agent, customer):
    with CaptureQueriesContext(connection) as ctx:
        ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="Try **this**.")
    row = Notification.objects.get(ticket=ticket, kind=NK.AGENT_REPLY, recipient=customer)
    assert row.render_pending and row.body == "" and row.body_html == ""
    assert row.subject == f"[#{ticket.pk}] Printer jam"  # known at once (lists, admin)
    # The renderer's reads (the message, its attachments) are not in the request.
    assert not any('FROM "tickets_attachment"' in q["sql"] for q in ctx.captured_queries)


def test_the_first_attempt_renders_stores_and_sends_the_same_text_as_before(ticket, agent, customer, settings):
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="Try **this**.")
    row = Notification.objects.get(ticket=ticket, kind=NK.AGENT_REPLY, recipient=customer)
    assert services.notification_deliver(notification_id=row.pk) == "sent"
    row.refresh_from_db()
    assert not row.render_pending
    assert "Try **this**." in row.body and "##- Please type your reply above this line -##" in row.body
    assert "<strong>this</strong>" in row.body_html
    [sent] = django_mail.outbox
    assert sent.body == row.body and sent.subject == row.subject
    assert sent.alternatives[0][0] == row.body_html

    # Rendered in the transaction (the "event" setting), the same text.
    settings.HELPDESK_NOTIFY_RENDER = "event"
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="Try **this**.")
    inline = Notification.objects.filter(ticket=ticket, kind=NK.AGENT_REPLY, recipient=customer).latest("id")
    assert not inline.render_pending
    assert inline.body == row.body and inline.body_html == row.body_html


def test_a_retry_sends_the_stored_text_not_a_new_rendering(ticket, agent, customer):
    from django.utils import timezone

    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="First text.")
    row = Notification.objects.get(ticket=ticket, kind=NK.AGENT_REPLY, recipient=customer)
    services.notification_deliver(notification_id=row.pk)
    row.refresh_from_db()
    first_body = row.body
    # The ticket changes, the row is sent again (as after a crash): same text.
    ticket.subject = "Renamed"
    ticket.save(update_fields=["subject"])
    Notification.objects.filter(pk=row.pk).update(status="pending", attempt_started_at=None, sent_at=None)
    assert services.notification_deliver(notification_id=row.pk) == "sent"
    assert django_mail.outbox[-1].body == first_body
    assert django_mail.outbox[-1].subject == f"[#{ticket.pk}] Printer jam"
    assert row.created_at <= timezone.now()
