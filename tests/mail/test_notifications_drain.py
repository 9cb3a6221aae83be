"""Notifications wake one drain per burst of commits (issue 22, fourth round;
docs/delivery.md, "One wake-up for many writes"): a write's outbox rows are
still written in its transaction, the broker publish per row is gone, and the
drain sends every row once."""

import pytest
from django.core import mail

from mail.models import Notification
from tests.factories import ticket_make
from tests.processes import redis_cache_and_broker

pytestmark = pytest.mark.django_db(transaction=True)

DRAIN = "mail.notifications_drain"


@pytest.fixture
def acknowledging(settings, queue):
    settings.HELPDESK_NOTIFY_RENDER = "send"
    queue.send_acknowledgement = True
    queue.save(update_fields=["send_acknowledgement"])
    return queue


@pytest.fixture
def redis_cache(settings):
    with redis_cache_and_broker(settings):
        yield


def _portal_create(queue, customer):
    return ticket_make(queue=queue, requester=customer, channel="portal")


def test_a_burst_publishes_one_drain_and_the_drain_sends_each_row_once(redis_cache, published, acknowledging, customer):
    tickets = [_portal_create(acknowledging, customer) for _ in range(3)]
    # One wake-up for the three commits; no message per row (one each before).
    assert published.count(DRAIN) == 1
    assert "mail.notification_send" not in published
    from mail.tasks import notifications_drain

    rows = Notification.objects.filter(ticket__in=tickets)
    assert rows.count() == 3 and set(rows.values_list("status", flat=True)) == {"pending"}

    assert notifications_drain() == 3  # the pending task, as the worker runs it
    assert sorted(rows.values_list("status", "attempts")) == [("sent", 1)] * 3
    assert len(mail.outbox) == 3
    assert notifications_drain() == 0  # nothing twice
    assert len(mail.outbox) == 3

    # It cleared the flag before its read: the next commit wakes it again.
    _portal_create(acknowledging, customer)
    assert published.count(DRAIN) == 2


def test_a_row_that_fails_goes_to_its_own_retries(redis_cache, published, acknowledging, customer, settings):
    from mail.tasks import notifications_drain

    settings.EMAIL_BACKEND = "tests.mail.test_notifications_drain.FailingBackend"
    ticket = _portal_create(acknowledging, customer)
    published.clear()
    assert notifications_drain() == 1
    row = Notification.objects.get(ticket=ticket)
    assert (row.status, row.attempts) == ("pending", 1) and row.next_attempt_at is not None
    assert published == ["mail.notification_send"]  # backoff from here, not the drain
    assert notifications_drain() == 0  # not due yet


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("smtp down")


@pytest.mark.worker
def test_a_real_worker_sends_every_acknowledgement_exactly_once(celery_worker, acknowledging, customer):
    """Each commit wakes the drain (the test settings' cache is per process);
    the drains overlap on the same rows and each row is sent once."""
    from tests.mail.test_worker import wait_for

    tickets = [_portal_create(acknowledging, customer) for _ in range(5)]
    rows = Notification.objects.filter(ticket__in=tickets)
    assert wait_for(lambda: not rows.filter(status="pending").exists())
    assert sorted(rows.values_list("kind", "status", "attempts")) == [("received", "sent", 1)] * 5
