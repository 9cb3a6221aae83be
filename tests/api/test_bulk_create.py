"""POST /api/v1/tickets/create-many/ (issue 22, docs/api-bulk.md): up to 100
tickets in one transaction, each checked as a single create is, all or
nothing, never a 500; the dirty marks and outbox rows commit with them."""

import json
import threading
import urllib.request

import pytest
from django.urls import reverse

from mail.models import Notification
from metrics.models import MetricsDirty
from tickets.models import Queue, RequestType, SLADirty, SLAPolicy, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets/create-many/"
HOUR = {"normal": {"first_response": 3600, "resolution": 8 * 3600, "business_hours": False}}


@pytest.fixture
def desk(settings, queue):
    """The production defaults (SLA refresh and rendering by workers) on a
    queue with an SLA policy that acknowledges new requests."""
    settings.HELPDESK_SLA_REFRESH = "worker"
    settings.HELPDESK_NOTIFY_RENDER = "send"
    queue.sla_policy = SLAPolicy.objects.create(name="bulk", targets=HOUR)
    queue.send_acknowledgement = True
    queue.save(update_fields=["sla_policy", "send_acknowledgement"])
    RequestType.objects.create(slug="broken", name="Broken", queue=queue)
    return queue


def _items(n, **extra):
    return [{"subject": f"Bulk {i}", "body": f"Body {i}", "request_type": "broken", **extra} for i in range(n)]


def test_creates_every_ticket_with_its_marks_and_outbox_rows(desk, api_client_for, customer):
    response = api_client_for(customer).post(URL, {"tickets": _items(3)}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["count"] == 3
    ids = [r["id"] for r in body["results"]]
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    tickets = Ticket.objects.filter(pk__in=ids).order_by("pk")
    assert [t.subject for t in tickets] == ["Bulk 0", "Bulk 1", "Bulk 2"]
    assert {t.channel for t in tickets} == {"api"} and {t.requester_id for t in tickets} == {customer.pk}
    assert TicketEvent.objects.filter(ticket_id__in=ids, kind="ticket.created").count() == 3
    # Durable at commit: every follower's row is there before any worker ran.
    assert set(MetricsDirty.objects.filter(ticket_id__in=ids).values_list("ticket_id", flat=True)) == set(ids)
    assert set(SLADirty.objects.filter(ticket_id__in=ids).values_list("ticket_id", flat=True)) == set(ids)
    received = Notification.objects.filter(ticket_id__in=ids, kind="received", status="pending")
    assert received.count() == 3
    # The search document of each ticket, written in the same transaction.
    from tickets.models import TicketSearch

    assert TicketSearch.objects.filter(ticket_id__in=ids).count() == 3


def test_per_item_errors_and_nothing_written(desk, api_client_for, customer):
    items = [*_items(1), {"body": "no subject", "request_type": "broken"}, {**_items(1)[0], "queue": desk.slug}]
    items.append({"subject": "unknown type", "request_type": "nope"})
    before = Ticket.objects.count()
    response = api_client_for(customer).post(URL, {"tickets": items}, format="json")
    assert response.status_code == 400, response.content
    per_item = response.json()["details"]["tickets"]
    assert set(per_item) == {"1", "2", "3"}  # by index, the bad ones only
    assert "subject" in per_item["1"]
    assert per_item["2"] == {"queue": ["Only agents can set this."]}
    assert per_item["3"] == {"request_type": ["No such request type."]}
    assert Ticket.objects.count() == before


@pytest.mark.parametrize(
    "payload",
    [
        {"tickets": []},
        {"tickets": _items(101)},
        {"tickets": "x"},
        {"tickets": [1, "x", None]},
        {"tickets": {"subject": "a dict"}},
        {},
        [],
        "just a string",
        {"tickets": [{"subject": "x" * 501, "request_type": "broken"}]},
        {"tickets": [{"subject": "bad format", "request_type": "broken", "body_format": "html"}]},
    ],
)
def test_a_bad_batch_is_a_400_never_a_500(desk, api_client_for, customer, payload):
    before = Ticket.objects.count()
    response = api_client_for(customer).post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert Ticket.objects.count() == before


def test_agents_only_in_their_queues_and_for_existing_requesters(desk, api_client_for, agent, customer, service_queue):
    items = [
        {"subject": "mine", "queue": desk.slug, "requester_email": customer.email, "tags": ["Vip"]},
        {"subject": "not my queue", "queue": service_queue.slug},
        {"subject": "nobody", "queue": desk.slug, "requester_email": "nobody@example.com"},
    ]
    response = api_client_for(agent).post(URL, {"tickets": items}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["details"]["tickets"] == {
        "1": {"queue": ["No such queue among yours."]},
        "2": {"requester_email": ["No active user with this email."]},
    }
    response = api_client_for(agent).post(URL, {"tickets": items[:1] * 2}, format="json")
    assert response.status_code == 201, response.content
    created = Ticket.objects.filter(pk__in=[r["id"] for r in response.json()["results"]])
    assert {t.requester_id for t in created} == {customer.pk}
    assert {tuple(t.tags.values_list("name", flat=True)) for t in created} == {("vip",)}


def test_anonymous_is_refused(desk, api_client_for):
    assert api_client_for(None).post(URL, {"tickets": _items(1)}, format="json").status_code == 401


def test_one_bad_item_rolls_nothing_in(desk, api_client_for, customer):
    """A subject of spaces is blank once trimmed: the good items are not
    written either (all or nothing)."""
    items = [*_items(2), {"subject": "   ", "request_type": "broken"}]
    before = Ticket.objects.count()
    response = api_client_for(customer).post(URL, {"tickets": items}, format="json")
    assert response.status_code == 400, response.content
    assert Ticket.objects.count() == before
    assert set(response.json()["details"]["tickets"]) == {"2"}


def test_query_budget_is_shared_by_the_batch(desk, api_client_for, customer, django_assert_max_num_queries):
    """20 tickets cost the per-ticket rows (ticket, message, event, the
    acknowledgement's preference read and outbox row) plus one of each
    per-batch statement (request type, routing rules, search documents,
    metrics and SLA marks, first-reply clock): not 20 single creates
    (15 statements each)."""
    client = api_client_for(customer)
    with django_assert_max_num_queries(5 * 20 + 12):
        response = client.post(URL, {"tickets": _items(20)}, format="json")
    assert response.status_code == 201, response.content


def test_in_the_api_schema(api_client_for, manager):
    schema = api_client_for(manager).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/tickets/create-many/"]["post"]
    assert "201" in operation["responses"]


# --- nothing lost: Redis down at commit, the workers catch up -----------------------------


def test_redis_down_leaves_every_row_for_the_workers(desk, api_client_for, customer, settings):
    """Broker and cache unreachable: the batch commits (201), the wake-ups
    are lost, and the marks and outbox rows wait; the drains then do it all."""
    from django.core.cache import caches

    from helpdesk.celery import app
    from helpdesk.lib.breaker import cache_breaker

    caches_before = settings.CACHES
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    cache_breaker.reset()
    old = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = "redis://127.0.0.1:1/0", False
    try:
        response = api_client_for(customer).post(URL, {"tickets": _items(5)}, format="json")
    finally:
        app.conf.broker_url, app.conf.task_always_eager = old
        settings.CACHES = caches_before  # setting_changed rebuilds the cache handler
        caches["default"].clear()
        cache_breaker.reset()
    assert response.status_code == 201, response.content
    ids = [r["id"] for r in response.json()["results"]]
    assert SLADirty.objects.filter(ticket_id__in=ids).count() == 5
    assert MetricsDirty.objects.filter(ticket_id__in=ids).count() == 5
    pending = list(Notification.objects.filter(ticket_id__in=ids, status="pending").values_list("pk", flat=True))
    assert len(pending) == 5

    # The workers come back (the sweeps' own drains, run here in-process).
    from mail.services import notification_deliver
    from metrics.services import metrics_dirty_claim_and_recompute
    from tickets.sla_dirty import sla_dirty_drain

    assert sla_dirty_drain() >= 5
    while metrics_dirty_claim_and_recompute():
        pass
    for pk in pending:
        notification_deliver(notification_id=pk)
    assert not SLADirty.objects.filter(ticket_id__in=ids).exists()
    assert not MetricsDirty.objects.filter(ticket_id__in=ids).exists()
    assert Notification.objects.filter(ticket_id__in=ids, status="sent").count() == 5
    assert all(t.first_response_due_at for t in Ticket.objects.filter(pk__in=ids))


# --- two batches at once over real connections ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_batches_over_http(live_server, settings):
    """Two clients post 25 tickets each at the same instant to the same queue
    (round-robin auto-assignment locks the queue row): both commit, every
    ticket is there once with its marks, no deadlock, no 500."""
    from apikeys.services import api_token_create
    from tests.factories import AgentFactory, CustomerFactory, QueueFactory

    settings.HELPDESK_SLA_REFRESH = "worker"
    queue = QueueFactory(slug="bulk-rr", auto_assign=Queue.AutoAssign.ROUND_ROBIN)
    for _ in range(2):
        queue.members.add(AgentFactory())
    RequestType.objects.create(slug="bulk-rr", name="Bulk", queue=queue)
    keys = [api_token_create(user=CustomerFactory(), name="bulk").key for _ in range(2)]
    barrier = threading.Barrier(2)
    answers: list[tuple[int, dict]] = []

    def post(key: str, n: int) -> None:
        items = [{"subject": f"T{n}-{i}", "body": "x", "request_type": "bulk-rr"} for i in range(25)]
        request = urllib.request.Request(  # noqa: S310 - the test server's http URL
            live_server.url + URL,
            data=json.dumps({"tickets": items}).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            method="POST",
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as r:  # noqa: S310 - the test server
                answers.append((r.status, json.loads(r.read())))
        except urllib.error.HTTPError as exc:
            answers.append((exc.code, {"error": exc.read().decode()[:500]}))

    threads = [threading.Thread(target=post, args=(key, n)) for n, key in enumerate(keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert sorted(code for code, _ in answers) == [201, 201], answers
    ids = [r["id"] for _, body in answers for r in body["results"]]
    assert len(set(ids)) == 50
    tickets = Ticket.objects.filter(pk__in=ids)
    assert tickets.count() == 50
    assert tickets.filter(assignee__isnull=False).count() == 50
    assert MetricsDirty.objects.filter(ticket_id__in=ids).count() == 50
    assert SLADirty.objects.filter(ticket_id__in=ids).count() == 50


def test_create_many_url_name():
    assert reverse("api:ticket-create-many") == URL
