"""A worker killed while its POST is in flight (docs/delivery.md): the
attempt was recorded before the POST, the row waits out its lease, then is
retried exactly once with the same delivery id and Idempotency-Key."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from tests.factories import ticket_make
from tests.integration.crash import kill_when, start_attempt
from tickets import services as ticket_services
from webhooks import services
from webhooks.models import WebhookDelivery


class StallingReceiver:
    """A real HTTP endpoint that reads the first POST and never answers it."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "json": json.loads(body)})
                    first = len(receiver.requests) == 1
                if first:
                    receiver.released.wait(30)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def stalling_receiver():
    r = StallingReceiver()
    yield r
    r.released.set()
    r.server.shutdown()
    r.server.server_close()


@pytest.mark.django_db(transaction=True)
def test_killed_mid_post_is_retried_once_after_the_lease_with_the_same_delivery_id(
    stalling_receiver, manager, queue, customer, agent
):
    sub = services.subscription_create(url=stalling_receiver.url, events=["status.changed"], actor=manager)
    ticket = ticket_make(queue=queue, requester=customer)
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
    row = WebhookDelivery.objects.get(subscription=sub)

    proc = start_attempt("webhook", row.pk)
    kill_when(proc, lambda: len(stalling_receiver.requests) == 1)

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)
    lease_end = row.next_attempt_at
    assert lease_end - timezone.now() > timedelta(seconds=60)  # beyond the task's time limit
    # The outcome is unknown: nothing is sent while the lease runs.
    assert services.webhook_deliver(delivery_id=row.pk) == "pending"
    assert services.deliveries_due_ids() == []
    assert len(stalling_receiver.requests) == 1

    after = lease_end + timedelta(seconds=1)
    assert services.deliveries_due_ids(now=after) == [row.pk]
    assert services.webhook_deliver(delivery_id=row.pk, now=after) == "succeeded"
    assert services.webhook_deliver(delivery_id=row.pk, now=after) == "succeeded"
    assert services.deliveries_due_ids(now=after) == []
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("succeeded", 2)
    first, second = stalling_receiver.requests
    # Sent twice (at least once) under one id the receiver can dedupe on.
    for name in ("X-Helpdesk-Delivery", "Idempotency-Key"):
        assert first["headers"][name] == second["headers"][name]
    assert first["headers"]["X-Helpdesk-Delivery"] == str(row.pk)
    assert first["headers"]["Idempotency-Key"] == f"helpdesk-delivery-{row.pk}"
    assert first["json"] == second["json"]
