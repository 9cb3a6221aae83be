"""The outbox delivery written out (docs/delivery.md, "Delivery written
out"): three statements per delivered notification, and the claim's row
lock still sends each row once with two real connections."""

import threading
import time

import pytest
from django.core import mail as django_mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from mail import services
from mail.models import Notification
from mail.services import outbox
from tests.factories import CustomerFactory, ticket_make
from tickets import services as ticket_services


@pytest.fixture
def rows(mail_settings, queue, agent, customer):
    """An acknowledged portal request, then a public reply to the requester
    and two CCs: four pending rows of one ticket, rendered at send time."""
    mail_settings.HELPDESK_NOTIFY_RENDER = "send"
    queue.send_acknowledgement = True
    queue.save(update_fields=["send_acknowledgement"])
    ticket = ticket_make(queue=queue, requester=customer, channel="portal", ccs=[CustomerFactory(), CustomerFactory()])
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="Try **this**.")
    pks = list(Notification.objects.filter(ticket=ticket).order_by("id").values_list("pk", flat=True))
    assert len(pks) == 4
    return pks


def _statements(ctx: CaptureQueriesContext) -> list[str]:
    """What ran, without the test transaction's savepoints (the worker's
    transactions are real ones there)."""
    return [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]


@pytest.mark.django_db
def test_a_delivered_notification_costs_three_statements(rows):
    """Claim (locked read with the render's and the thread's data), the
    attempt's UPDATE, the success's UPDATE; one more for the ticket's first
    reply token; one for the drain's list. Before: 11 to 14 per row."""
    from mail.tasks import notifications_drain

    with CaptureQueriesContext(connection) as ctx:
        assert notifications_drain() == 4
    sql = _statements(ctx)
    assert len(sql) <= 1 + 3 * 4 + 1, "\n".join(sql)
    assert sum('INTO "mail_replytoken"' in s for s in sql) == 1
    assert sorted(Notification.objects.filter(pk__in=rows).values_list("status", "attempts")) == [("sent", 1)] * 4
    assert len(django_mail.outbox) == 4


@pytest.mark.django_db
def test_a_row_that_is_no_longer_pending_costs_one_statement(rows):
    services.notification_deliver(notification_id=rows[0])
    with CaptureQueriesContext(connection) as ctx:
        assert services.notification_deliver(notification_id=rows[0]) == "sent"
    assert len(_statements(ctx)) == 1


@pytest.mark.django_db
def test_success_does_not_overwrite_a_row_decided_meanwhile(rows):
    """The success is a compare-and-set on `pending`: a row something else
    marked (an admin skipping it) keeps that status."""
    claimed = outbox._attempt_claim(rows[0])
    assert not isinstance(claimed, str)
    Notification.objects.filter(pk=rows[0]).update(status="skipped")
    assert outbox._attempt_succeeded(claimed[0]) == "skipped"
    assert Notification.objects.get(pk=rows[0]).status == "skipped"


@pytest.mark.django_db(transaction=True)
def test_a_claim_open_on_another_connection_blocks_the_read_and_then_leaves_the_row(rows):
    """Connection B holds a claim's transaction open; A's delivery of the
    same row waits for B's row lock, then sees B's attempt in flight and
    sends nothing."""
    pk = rows[0]
    claimed, release, outcome = threading.Event(), threading.Event(), {}

    def hold_claim() -> None:
        try:
            with transaction.atomic():
                outcome["b"] = outbox._attempt_claim(pk)
                claimed.set()
                release.wait(10)
        finally:
            connection.close()

    def deliver() -> None:
        try:
            outcome["a"] = services.notification_deliver(notification_id=pk)
        finally:
            connection.close()

    b = threading.Thread(target=hold_claim)
    b.start()
    assert claimed.wait(10)
    a = threading.Thread(target=deliver)
    a.start()
    time.sleep(0.5)
    assert a.is_alive() and django_mail.outbox == []  # waiting on B's lock
    release.set()
    a.join(10)
    b.join(10)
    assert outcome["a"] == "in_flight"
    row = Notification.objects.get(pk=pk)
    assert (row.status, row.attempts, row.render_pending) == ("pending", 1, False)
    assert django_mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_two_connections_delivering_the_same_rows_send_each_once(rows):
    barrier, outcomes = threading.Barrier(2), {0: [], 1: []}

    def drain(i: int) -> None:
        try:
            barrier.wait(10)
            for pk in rows:
                outcomes[i].append(services.notification_deliver(notification_id=pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=drain, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for first, second in zip(outcomes[0], outcomes[1], strict=True):
        assert sorted([first, second]) in (["in_flight", "sent"], ["sent", "sent"])
    sent_ids = sorted(m.extra_headers["Message-ID"] for m in django_mail.outbox)
    rows_now = Notification.objects.filter(pk__in=rows).order_by("id")
    assert sent_ids == sorted(r.message_id for r in rows_now)  # each row once
    assert [(r.status, r.attempts) for r in rows_now] == [("sent", 1)] * 4
