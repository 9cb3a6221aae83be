"""Requests while Redis (cache and broker) is down or hung: every page and
API call answers normally and fast; deferred work catches up afterwards."""

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from helpdesk.lib.tasks import enqueue
from mail.models import Notification
from metrics.models import MetricsDirty, TicketMetrics
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tests.processes import RedisServer, wait_for, worker_running
from tickets.models import RequestType, Ticket

PASSWORD = "pw-Secret-123"  # tests.factories.UserFactory
# Generous: one request pays at most one cache and one broker timeout
# (0.5 s each) before the circuit breakers open; the rest pay nothing.
TIME_LIMIT = 1.5


class Timed:
    def __init__(self) -> None:
        self.slow: list[str] = []

    def __call__(self, name: str, call: Callable[[], object]) -> object:
        start = time.monotonic()
        response = call()
        elapsed = time.monotonic() - start
        if elapsed >= TIME_LIMIT:
            self.slow.append(f"{name}: {elapsed:.2f} s")
        return response


def _outage(server: RedisServer, mode: str) -> AbstractContextManager[None]:
    return server.down() if mode == "down" else server.hung()


@pytest.fixture
def world(db):
    queue = QueueFactory(slug="tech", name="Tech support", kind="support")
    agent = AgentFactory()
    queue.members.add(agent)
    customer = CustomerFactory()
    request_type = RequestType.objects.create(slug="bug", name="Bug", queue=queue)
    ticket = ticket_make(queue=queue, requester=customer)
    return {"queue": queue, "agent": agent, "customer": customer, "request_type": request_type, "ticket": ticket}


def _drive_every_page(world: dict, timed: Timed, subject: str = "Printer on fire") -> Ticket:
    """Portal sign-in, create and reply; agent page, heartbeat and reply;
    API list and create. Returns the ticket created on the portal."""
    customer, agent, ticket = world["customer"], world["agent"], world["ticket"]
    portal = Client()
    response = timed("login", lambda: portal.post("/accounts/login/", {"email": customer.email, "password": PASSWORD}))
    assert response.status_code == 302
    new = {"request_type": world["request_type"].pk, "subject": subject, "description": "Smoke."}
    response = timed("portal create", lambda: portal.post("/portal/new/", new))
    assert response.status_code == 302, getattr(response, "context", None)
    created = Ticket.objects.get(subject=subject)
    reply = reverse("tickets:customer-ticket-reply", args=[ticket.pk])
    response = timed("portal reply", lambda: portal.post(reply, {"body": "Any news?"}))
    assert response.status_code == 302

    desk = Client()
    desk.force_login(agent)
    page = reverse("tickets:agent-ticket-detail", args=[ticket.pk])
    assert timed("agent page", lambda: desk.get(page)).status_code == 200
    beat = reverse("tickets:agent-ticket-heartbeat", args=[ticket.pk])
    assert timed("heartbeat", lambda: desk.post(beat, {"active": "1", "typing": "1"})).status_code == 200
    agent_reply = reverse("tickets:agent-ticket-reply", args=[created.pk])
    response = timed("agent reply", lambda: desk.post(agent_reply, {"body": "On it.", "visibility": "public"}))
    assert response.status_code == 302

    api = APIClient()
    api.force_authenticate(agent)
    url = reverse("api:ticket-list")
    assert timed("api list", lambda: api.get(url)).status_code == 200
    payload = {"subject": "Phoned in", "body": "Call back", "queue": "tech", "requester_email": customer.email}
    response = timed("api create", lambda: api.post(url, payload, format="json"))
    assert response.status_code == 201, response.content
    return created


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["down", "hung"])
def test_every_page_answers_fast_while_redis_is_down_or_hung(mode, redis_backed, world):
    """Redis stopped (connection refused) or SIGSTOPped (connections hang):
    no 500, and no request waits longer than one short timeout. Before:
    the API throttle raised (500), each on-commit enqueue waited 2 s, and a
    hung Redis blocked every request for as long as it hung."""
    _drive_every_page(world, Timed(), subject="Warm-up")  # imports, templates: not Redis's cost
    timed = Timed()
    with _outage(redis_backed, mode):
        _drive_every_page(world, timed)
        # Once the breakers are open, even the first requests' costs vanish.
        more = Timed()
        for _ in range(3):
            _drive_every_page_again(world, more)
        assert not more.slow
    assert not timed.slow, timed.slow


def _drive_every_page_again(world: dict, timed: Timed) -> None:
    desk = APIClient()
    desk.force_login(world["agent"])  # session auth: pages and the API
    assert timed("api list", lambda: desk.get(reverse("api:ticket-list"))).status_code == 200
    page = reverse("tickets:agent-ticket-detail", args=[world["ticket"].pk])
    assert timed("agent page", lambda: desk.get(page)).status_code == 200


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_deferred_work_catches_up_when_redis_returns(redis_backed, world, tmp_path):
    """Work whose enqueue failed during the outage is not lost: the metrics
    dirty rows and the notification outbox are in the database, and once
    Redis is back the periodic sweepers (sent here as beat would) hand them
    to a real worker, which recomputes the metrics and sends the mail."""
    with redis_backed.down():
        created = _drive_every_page(world, Timed())
    tickets = [world["ticket"].pk, created.pk]
    assert MetricsDirty.objects.filter(ticket_id__in=tickets).count() == 2
    pending = Notification.objects.filter(ticket_id__in=tickets, status=Notification.Status.PENDING)
    assert pending.exists()
    # The outbox sweeper re-enqueues rows older than 5 minutes (a fresh row's
    # own enqueue may still be in flight): let the outage have lasted that long.
    pending.update(created_at=timezone.now() - timedelta(minutes=6))

    with (
        override_settings(HELPDESK_REDIS_BREAKER_SECONDS=1),
        worker_running(redis_url=redis_backed.url(), log=tmp_path / "worker.log"),
    ):
        from mail.tasks import notifications_sweep
        from metrics.tasks import sweep

        # The publisher recovers by itself (half-open breaker, fresh socket).
        assert wait_for(lambda: enqueue(sweep) and enqueue(notifications_sweep), timeout=30)
        caught_up = wait_for(
            lambda: (
                not MetricsDirty.objects.filter(ticket_id__in=tickets).exists()
                and not Notification.objects.filter(ticket_id__in=tickets, status=Notification.Status.PENDING).exists()
            ),
            timeout=60,
        )
        assert caught_up, (tmp_path / "worker.log").read_text()
    assert TicketMetrics.objects.filter(ticket_id__in=tickets).count() == 2
    assert Notification.objects.filter(ticket_id__in=tickets, status=Notification.Status.SENT).exists()
