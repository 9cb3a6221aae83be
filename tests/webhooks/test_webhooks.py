"""Outbound webhooks end to end on PostgreSQL with a real loopback receiver."""

import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ticket_make
from tickets import services as ticket_services
from tickets.models import Message, TicketEvent
from webhooks import services, tasks
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.signing import SignatureError, webhook_signature_header, webhook_signature_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(queue, customer):
    return ticket_make(queue=queue, requester=customer, subject="Webhook me")


@pytest.fixture
def subscribe(receiver, manager):
    def make(events=("*",), **kwargs):
        sub = services.subscription_create(url=receiver.url, events=list(events), actor=manager, **kwargs)
        receiver.secret = sub.secret
        return sub

    return make


def _deliver_until_done(row, *, rounds=10):
    """Run the task as a worker would, stepping time to each retry."""
    for _ in range(rounds):
        row.refresh_from_db()
        if row.status != "pending":
            break
        services.webhook_deliver(delivery_id=row.pk, now=max(row.next_attempt_at, timezone.now()))
    row.refresh_from_db()
    return row


def test_signed_delivery_verified_by_loopback_receiver(subscribe, receiver, ticket, agent):
    sub = subscribe(events=["message.created"])
    msg = ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="Hello there")
    row = WebhookDelivery.objects.get(subscription=sub)
    event = TicketEvent.objects.get(pk=row.event_id)
    assert event.kind == "message.created" and event.data["message_id"] == msg.pk
    assert tasks.deliver.run(delivery_id=row.pk) == "succeeded"
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got["verified"] is True
    assert got["headers"]["X-Helpdesk-Event"] == "message.created"
    assert got["headers"]["X-Helpdesk-Delivery"] == str(row.pk)
    assert abs(int(got["headers"]["X-Helpdesk-Timestamp"]) - time.time()) < 60
    assert got["json"]["id"] == event.pk
    assert got["json"]["ticket_id"] == ticket.pk
    assert got["json"]["kind"] == "message.created"
    assert got["json"]["actor_role"] == "agent"
    assert got["json"]["data"]["message_id"] == msg.pk
    assert set(got["json"]) >= {"id", "kind", "ticket_id", "occurred_at", "actor_role", "data"}
    # Our own verifier agrees with the receiver, and refuses tampering.
    header = got["headers"]["X-Helpdesk-Signature"]
    assert webhook_signature_verify(sub.secret, header, got["body"]) == int(got["headers"]["X-Helpdesk-Timestamp"])
    with pytest.raises(SignatureError):
        webhook_signature_verify(sub.secret, header, got["body"] + b" ")
    with pytest.raises(SignatureError):
        webhook_signature_verify("whsec_other", header, got["body"])
    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_code) == ("succeeded", 1, 200)
    assert row.response_body == "ok" and row.duration_ms is not None and row.delivered_at
    # Only subscribed kinds: the created event of the ticket made no row.
    assert WebhookDelivery.objects.filter(subscription=sub).count() == 1


def test_replay_safe_timestamps():
    body = b'{"id":1}'
    ts, header = webhook_signature_header("s3cret", body, timestamp=1_700_000_000)
    assert webhook_signature_verify("s3cret", header, body, now=ts + 299) == ts
    with pytest.raises(SignatureError, match="tolerance"):
        webhook_signature_verify("s3cret", header, body, now=ts + 301)
    with pytest.raises(SignatureError):
        webhook_signature_verify("s3cret", "v1=abc", body)


def test_receiver_rejects_a_stale_signature(receiver):
    receiver.secret = "s3cret"
    body = b"{}"
    _, header = webhook_signature_header("s3cret", body, timestamp=int(time.time()) - 3600)
    assert receiver.verify(header, body) is False
    _, header = webhook_signature_header("s3cret", body)
    assert receiver.verify(header, body) is True


def test_retries_then_delivers_once(subscribe, receiver, ticket, agent):
    sub = subscribe()
    receiver.codes = [500, 500]
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
    row = WebhookDelivery.objects.get(subscription=sub, event__kind="status.changed")
    assert services.webhook_deliver(delivery_id=row.pk) == "pending"
    row.refresh_from_db()
    assert (row.attempts, row.response_code, row.last_error) == (1, 500, "HTTP 500")
    assert row.response_body.startswith("boom") and len(row.response_body) <= 2000
    # Backoff with jitter: between half and all of the 30 s base.
    wait = (row.next_attempt_at - timezone.now()).total_seconds()
    assert 10 <= wait <= 31
    # Not due yet: a second task run does nothing.
    assert services.webhook_deliver(delivery_id=row.pk) == "pending"
    assert len(receiver.requests) == 1
    row = _deliver_until_done(row)
    assert row.status == "succeeded" and row.attempts == 3
    # The task running again (redelivery) sends nothing more.
    assert tasks.deliver.run(delivery_id=row.pk) == "succeeded"
    assert services.webhook_deliver(delivery_id=row.pk, now=timezone.now() + timedelta(days=1)) == "succeeded"
    assert [r["answered"] for r in receiver.requests] == [500, 500, 200]
    assert len(receiver.delivered) == 1 and all(r["verified"] for r in receiver.requests)
    ids = {r["headers"]["X-Helpdesk-Delivery"] for r in receiver.requests}
    assert ids == {str(row.pk)}
    sub.refresh_from_db()
    assert sub.failure_count == 0 and sub.active


def test_gives_up_after_max_attempts(subscribe, receiver, ticket, agent, settings):
    settings.HELPDESK_WEBHOOK_MAX_ATTEMPTS = 3
    sub = subscribe(events=["status.changed"])
    receiver.codes = [503] * 10
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
    row = _deliver_until_done(WebhookDelivery.objects.get(subscription=sub))
    assert (row.status, row.attempts, row.response_code) == ("failed", 3, 503)
    assert len(receiver.requests) == 3


def test_auto_disable_after_consecutive_failures(subscribe, receiver, ticket, agent, settings):
    settings.HELPDESK_WEBHOOK_DISABLE_AFTER = 4
    settings.HELPDESK_WEBHOOK_MAX_ATTEMPTS = 2
    sub = subscribe(events=["status.changed", "priority.changed"])
    receiver.codes = [500] * 20
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
    ticket_services.ticket_set_priority(ticket_id=ticket.pk, priority="high", actor=agent)
    rows = list(WebhookDelivery.objects.filter(subscription=sub).order_by("id"))
    assert len(rows) == 2
    for row in rows:
        _deliver_until_done(row)
    sub.refresh_from_db()
    assert sub.active is False and sub.failure_count == 4
    assert sub.disabled_at is not None
    assert "4 consecutive failed deliveries" in sub.disabled_reason and "HTTP 500" in sub.disabled_reason
    # Disabled: new events write no rows, and the sweeper skips its rows.
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="pending", actor=agent)
    assert WebhookDelivery.objects.filter(subscription=sub).count() == 2
    # Reactivating clears the notice.
    sub = services.subscription_update(subscription_id=sub.pk, actor=None, active=True)
    assert (sub.failure_count, sub.disabled_at, sub.disabled_reason) == (0, None, "")


def test_a_success_resets_the_failure_count(subscribe, receiver, ticket, agent, settings):
    settings.HELPDESK_WEBHOOK_DISABLE_AFTER = 3
    sub = subscribe(events=["status.changed"])
    receiver.codes = [500, 500]
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
    _deliver_until_done(WebhookDelivery.objects.get(subscription=sub))
    sub.refresh_from_db()
    assert sub.active and sub.failure_count == 0


def test_replay(subscribe, receiver, ticket, agent, django_capture_on_commit_callbacks):
    sub = subscribe(events=["status.changed"])
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
    row = _deliver_until_done(WebhookDelivery.objects.get(subscription=sub))
    assert row.status == "succeeded" and len(receiver.delivered) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        services.delivery_replay(delivery_id=row.pk, actor=None)
    assert len(callbacks) == 1  # the wake-up, on commit
    row.refresh_from_db()
    assert (row.status, row.attempts, row.replays) == ("pending", 0, 1)
    assert services.webhook_deliver(delivery_id=row.pk) == "succeeded"
    assert len(receiver.delivered) == 2
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    assert all(r["verified"] for r in receiver.requests)
    # Inactive subscription: 409.
    services.subscription_deactivate(subscription_id=sub.pk, actor=None)
    with pytest.raises(services.ApplicationError) as exc:
        services.delivery_replay(delivery_id=row.pk, actor=None)
    assert exc.value.status_code == 409


def test_outbox_row_rolls_back_with_the_event(subscribe, ticket, agent):
    sub = subscribe()
    before = TicketEvent.objects.count()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
        assert WebhookDelivery.objects.filter(subscription=sub, event__kind="status.changed").count() == 1
        raise Boom
    assert TicketEvent.objects.count() == before
    assert not WebhookDelivery.objects.filter(subscription=sub, event__kind="status.changed").exists()


def test_enqueued_only_on_commit(subscribe, ticket, agent, django_capture_on_commit_callbacks):
    sub = subscribe(events=["status.changed"])
    with django_capture_on_commit_callbacks() as callbacks:
        ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
    row = WebhookDelivery.objects.get(subscription=sub)
    assert row.status == "pending"
    assert callbacks  # the enqueue waits for the commit


def test_internal_notes_are_not_sent_by_default(subscribe, receiver, ticket, agent):
    default = subscribe(events=["message.created"])
    opted_in = services.subscription_create(
        url=receiver.url, events=["message.created"], actor=None, include_internal=True
    )
    ticket_services.message_post(
        ticket_id=ticket.pk, author=agent, body="secret note", visibility=Message.Visibility.INTERNAL
    )
    assert not WebhookDelivery.objects.filter(subscription=default).exists()
    row = WebhookDelivery.objects.get(subscription=opted_in)
    assert row.payload["visibility"] == "internal"
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="public reply")
    assert WebhookDelivery.objects.filter(subscription=default).count() == 1
    assert WebhookDelivery.objects.filter(subscription=opted_in).count() == 2


def test_no_subscriptions_costs_no_query(ticket, agent, django_assert_num_queries):
    from django.db import connection

    services.webhooks_for_event(TicketEvent.objects.filter(ticket=ticket).first())  # warms the cache
    event = TicketEvent.objects.filter(ticket=ticket).first()
    with CaptureQueriesContext(connection) as ctx:
        assert services.webhooks_for_event(event) == []
    assert len(ctx.captured_queries) == 0


def test_a_stale_cache_never_writes_rows_for_a_gone_subscription(subscribe, ticket, agent):
    sub = subscribe()
    services._active_subscriptions()  # cached with sub
    WebhookSubscription.objects.filter(pk=sub.pk).update(active=False)  # bypasses the signal
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
    assert not WebhookDelivery.objects.filter(subscription=sub).exists()


def _reset_pools(app):
    # Drop, never close: a closed pool still referenced elsewhere raises
    # "Acquire on closed pool" in later tests.
    app._pool = None
    app.amqp._producer_pool = None


def test_broker_down_the_event_write_still_succeeds(subscribe, ticket, agent, django_capture_on_commit_callbacks):
    """Redis down for Celery: the event and its row commit; the on-commit
    wake-up is logged, never raised; the sweeper lists the row."""
    from helpdesk.celery import app
    from helpdesk.lib.tasks import enqueue

    sub = subscribe(events=["status.changed"])
    old = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = "redis://127.0.0.1:1/0", False
    _reset_pools(app)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
        assert callbacks  # they ran against the dead broker without raising
        row = WebhookDelivery.objects.get(subscription=sub)
        assert enqueue(tasks.deliver, delivery_id=row.pk) is False
    finally:
        app.conf.broker_url, app.conf.task_always_eager = old
        _reset_pools(app)
    assert TicketEvent.objects.filter(ticket=ticket, kind="status.changed").count() == 1
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 0
    assert services.deliveries_due_ids() == [row.pk]  # the sweeper's list


def test_cache_down_the_event_write_still_succeeds(subscribe, ticket, agent, settings):
    sub = subscribe(events=["status.changed"])
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
    assert WebhookDelivery.objects.filter(subscription=sub).count() == 1


def test_sweeper_lists_due_rows_only(subscribe, ticket, agent):
    sub = subscribe(events=["status.changed"])
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
    row = WebhookDelivery.objects.get(subscription=sub)
    assert services.deliveries_due_ids() == [row.pk]
    WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert services.deliveries_due_ids() == []
    WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now(), status="succeeded")
    assert services.deliveries_due_ids() == []


def test_unreachable_receiver_is_a_failed_attempt(manager, ticket, agent):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sub = services.subscription_create(url=f"http://127.0.0.1:{port}/x", events=["*"], actor=manager)
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
    row = WebhookDelivery.objects.get(subscription=sub, event__kind="status.changed")
    assert services.webhook_deliver(delivery_id=row.pk) == "pending"
    row.refresh_from_db()
    assert row.response_code is None
    assert "refused" in row.last_error.lower()
    assert json.dumps(row.payload)
