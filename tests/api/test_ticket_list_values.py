"""The ticket list read as values (docs/api.md, "The ticket list"): the same
bytes as the model-instance path it replaced, on random data, and a bound on
the work a page costs (model instances, Python calls per row)."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models.signals import post_init
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from accounts.models import Organisation
from helpdesk.lib.api import IdCursorPagination
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tickets import selectors, services
from tickets.api import selectors as api_selectors
from tickets.api.serializers import TicketListFilterInputSerializer, TicketOutputSerializer, ticket_rows_output
from tickets.models import Message, Queue, RequestType, Tag, Ticket

pytestmark = pytest.mark.django_db

SECRET = "INTERNAL-LIST-SECRET-51c2"
SUBJECTS = ["Printer on fire", 'Quotes " and \\ back', "Ünïcödé façade ☃ 日本語", "", "<b>html</b> & co", "x" * 300]
TAGS = ["vip", "billing", "Zeta", "alpha", "ärger", "b-2", "refund"]
ZONES = ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kolkata", "Pacific/Chatham", "America/Los_Angeles"]


def _main_list_body(user, url):
    """The list as main rendered it: model instances (queue, requester,
    assignee and request type joined, tags prefetched) through the same
    cursor pagination, each row by DRF's generic serializer path."""
    request = Request(RequestFactory().get(url))
    filters = TicketListFilterInputSerializer(data=request.query_params)
    filters.is_valid(raise_exception=True)
    qs = api_selectors.ticket_list_filtered(user=user, filters=dict(filters.validated_data))
    qs = qs.select_related("queue", "requester", "assignee", "request_type").prefetch_related("tags")
    paginator = IdCursorPagination()
    page = paginator.paginate_queryset(qs, request) or []
    serializer = TicketOutputSerializer()
    body = paginator.get_paginated_response([serializer.generic_representation(t) for t in page]).data
    return JSONRenderer().render(body)


def _random_world(rng):
    """Queues of both kinds, agents and customers (some without a name, a
    sharing organisation, CCs), tickets with and without tags, assignee,
    CCs and request type, in every status, with internal notes and random
    instants (some on a whole second)."""
    support = QueueFactory(kind="support")
    service = QueueFactory(kind="service", name="Facturación ☃")
    queues = [support, service]
    agents = [AgentFactory(), AgentFactory(name=""), AgentFactory(name="Zoë O'Brien")]
    support.members.add(agents[0], agents[1])
    service.members.add(agents[1], agents[2])
    org = Organisation.objects.create(name="Sharing", shares_tickets=True)
    customers = [
        CustomerFactory(),
        CustomerFactory(name=""),
        CustomerFactory(organisation=org, name='Jürgen "JJ" Müller'),
        CustomerFactory(organisation=org),
    ]
    types = [
        RequestType.objects.create(slug="broken", name="Broken", queue=support),
        RequestType.objects.create(slug="refund", name="Refund", queue=service),
    ]
    base = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # around a DST change
    for i in range(36):
        queue = rng.choice(queues)
        request_type = rng.choice([None, *(t for t in types if t.queue_id == queue.pk)])
        requester = rng.choice(customers)
        ccs = rng.sample([c for c in customers if c != requester], rng.choice([0, 0, 1, 2]))
        at = base + timedelta(days=rng.randint(0, 400), seconds=rng.randint(0, 86400))
        if rng.random() < 0.7:
            at += timedelta(microseconds=rng.randint(1, 999_999))
        ticket = ticket_make(
            queue=queue,
            requester=requester,
            subject=rng.choice(SUBJECTS) + f" #{i}",
            priority=rng.choice(list(Ticket.Priority.values)),
            channel=rng.choice(["portal", "email", "api"]),
            tags=rng.sample(TAGS, rng.choice([0, 0, 1, 3])),
            ccs=ccs,
            request_type=request_type,
            occurred_at=at,
        )
        members = [a for a in agents if queue.members.filter(pk=a.pk).exists()]
        if rng.random() < 0.6:
            services.ticket_assign(ticket_id=ticket.pk, assignee=rng.choice(members), actor=members[0])
        if rng.random() < 0.4:
            services.message_post(
                ticket_id=ticket.pk, author=members[0], body=SECRET, visibility=Message.Visibility.INTERNAL
            )
        for target in rng.choice([[], ["open"], ["pending"], ["open", "solved"], ["on_hold"], ["solved", "closed"]]):
            services.ticket_transition(ticket_id=ticket.pk, target=target, actor=members[0], note=SECRET)
        due = {
            name: (at + timedelta(hours=rng.randint(1, 90), microseconds=rng.choice([0, 1, 500_000])))
            if rng.random() < 0.5
            else None
            for name in ("first_response_due_at", "next_reply_due_at", "resolution_due_at")
        }
        Ticket.objects.filter(pk=ticket.pk).update(**due)
    return {"agents": agents, "customers": customers, "queues": queues}


LISTS = [
    "",
    "?page_size=4",
    "?page_size=3&status=unsolved",
    "?tag=vip&page_size=2",
    "?assignee=none",
    "?kind=service&priority=high",
    "?created_after=2025-06-01T00:00:00Z&page_size=5",
]


@pytest.mark.parametrize("seed", [1, 2])
def test_list_pages_are_byte_equal_to_the_model_path(seed, manager, api_client_for, client):
    """Every page (and its `next`/`previous` links), for agents, a manager
    and customers, with filters, page sizes and languages, is the exact
    byte string the model-instance path renders; customers' pages hold
    only what the access rule lets them see, and no internal note."""
    rng = random.Random(seed)
    world = _random_world(rng)
    users = [manager, *world["agents"], *world["customers"]]
    languages = ["en", "de", "es"]
    pages = 0
    for n, user in enumerate(users):
        language = languages[n % 3]
        for query in LISTS:
            api = api_client_for(user)
            url = reverse("api:ticket-list") + query
            ids = []
            while url:
                response = api.get(url, HTTP_ACCEPT_LANGUAGE=language)
                assert response.status_code == 200, response.content
                with translation.override(language):
                    assert response.content == _main_list_body(user, url), (user.role, url, language)
                assert SECRET.encode() not in response.content
                body = response.json()
                ids += [row["id"] for row in body["results"]]
                url, pages = body["next"], pages + 1
            if query == "":
                assert ids == sorted(selectors.ticket_list_for_user(user=user).values_list("pk", flat=True))[::-1]
    assert pages > 150
    # The language does change the answer (the customer status label).
    first = {
        lang: api_client_for(manager).get(reverse("api:ticket-list"), HTTP_ACCEPT_LANGUAGE=lang) for lang in languages
    }
    assert len({response.content for response in first.values()}) == 3
    # A session user's own language (not the request's) is honoured too.
    agent = world["agents"][2]
    agent.language = "de"
    agent.save(update_fields=["language"])
    client.force_login(agent)
    response = client.get(reverse("api:ticket-list") + "?page_size=7")
    with translation.override("de"):
        assert response.content == _main_list_body(agent, reverse("api:ticket-list") + "?page_size=7")


def test_rows_equal_the_generic_rendering_in_every_time_zone(manager):
    """The values path writes each instant in the active time zone exactly as
    DRF's DateTimeField does ("Z" for UTC, the zone's offset else)."""
    _random_world(random.Random(3))
    instances = list(
        Ticket.objects.select_related("queue", "requester", "assignee", "request_type")
        .prefetch_related("tags")
        .order_by("-id")
    )
    ids = [t.pk for t in instances]
    rows = list(Ticket.objects.filter(pk__in=ids).order_by("-id").values(*api_selectors.TICKET_OUTPUT_VALUES))
    tags = api_selectors.ticket_tag_names(ticket_ids=ids)
    serializer = TicketOutputSerializer()
    for zone in ZONES:
        for language in ("en", "de", "es"):
            with timezone.override(zone), translation.override(language):
                expected = [serializer.generic_representation(t) for t in instances]
                assert ticket_rows_output(rows, tags) == expected, (zone, language)
                assert [serializer.to_representation(t) for t in instances] == expected
    with timezone.override("Asia/Kolkata"):
        assert ticket_rows_output(rows[:1], tags)[0]["created_at"].endswith("+05:30")


# --- Work per page -------------------------------------------------------------------


def _tickets(n, queue, customer):
    """`n` tickets of `customer`, each tagged and assigned (the costliest rows)."""
    agent = AgentFactory()
    queue.members.add(agent)
    for i in range(n):
        ticket = ticket_make(queue=queue, requester=customer, subject=f"T{i}", tags=["vip", f"t{i % 3}"])
        services.ticket_assign(ticket_id=ticket.pk, assignee=agent, actor=agent)


def test_a_page_builds_no_ticket_queue_user_or_tag_instance(api_client_for, customer, django_assert_num_queries):
    """A 30-row page reads rows, not model instances: the model path built
    ~5 a row (ticket, queue, requester, assignee, tags), 150 here."""
    from accounts.models import User

    _tickets(30, QueueFactory(), customer)
    built = []

    def count(sender, instance, **kwargs):
        built.append(sender)

    senders = (Ticket, Queue, User, Tag, RequestType)
    for sender in senders:
        post_init.connect(count, sender=sender, weak=False)
    try:
        # The caller is authenticated already (force_authenticate): CC ids,
        # the page, its tags.
        with django_assert_num_queries(3):
            response = api_client_for(customer).get(reverse("api:ticket-list"))
    finally:
        for sender in senders:
            post_init.disconnect(count, sender=sender)
    assert response.status_code == 200 and len(response.json()["results"]) == 30
    assert built == []


def _list_calls(client, url, n=3):
    import cProfile
    import pstats

    client.get(url)  # warm
    profiler = cProfile.Profile()
    for _ in range(n):
        profiler.enable()
        response = client.get(url)
        profiler.disable()
        assert response.status_code == 200
    return pstats.Stats(profiler).total_calls / n  # type: ignore[attr-defined]


def test_python_calls_per_row_are_bounded(api_client_for, customer):
    """The Python calls one more row costs (cProfile's count: deterministic,
    unlike time): 494 a row on the model path (instances, prefetch, DRF's
    datetime field), 24 reading values; a 10-row page 18,541 and 7,691."""
    _tickets(40, QueueFactory(), customer)
    client = api_client_for(customer)
    url = reverse("api:ticket-list")
    small = _list_calls(client, url + "?page_size=10")
    large = _list_calls(client, url + "?page_size=40")
    per_row = (large - small) / 30
    print(f"list: {small:.0f} calls at 10 rows, {large:.0f} at 40, {per_row:.0f} a row")
    assert per_row <= 120, per_row
    assert small <= 9_000, small
