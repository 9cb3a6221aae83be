"""'Awaiting first reply' in the agent workspace and the stored clock start behind it
(tickets/first_reply.py, docs/metrics.md#awaiting-first-reply-now)."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tickets import services, workspace
from tickets.first_reply import awaiting_first_reply
from tickets.models import Message, QueueKind, Ticket, TicketEvent

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)


def _since(t) -> datetime | None:
    return Ticket.objects.get(pk=t.pk).awaiting_first_reply_since


def test_the_clock_start_follows_the_frt_definition(queue, agent, customer):
    t = ticket_make(queue=queue, requester=customer, occurred_at=T0)
    assert _since(t) == T0
    # A customer follow-up does not restart it; an internal note and an automated message do not stop it.
    services.message_post(ticket_id=t.pk, author=customer, body="again", occurred_at=T0 + timedelta(minutes=30))
    services.message_post(
        ticket_id=t.pk,
        author=agent,
        body="note",
        visibility=Message.Visibility.INTERNAL,
        occurred_at=T0 + timedelta(minutes=40),
    )
    assert _since(t) == T0
    services.message_post(ticket_id=t.pk, author=agent, body="hello", occurred_at=T0 + timedelta(minutes=45))
    assert _since(t) is None
    # Solving then reopening without a reply: FRT stays replied.
    services.ticket_transition(ticket_id=t.pk, target="solved", actor=agent, occurred_at=T0 + timedelta(hours=1))
    services.ticket_transition(ticket_id=t.pk, target="open", actor=agent, occurred_at=T0 + timedelta(hours=2))
    assert _since(t) is None


def test_agent_created_ticket_waits_only_once_the_customer_writes(queue, agent, customer):
    t = ticket_make(queue=queue, requester=customer, actor=agent, channel="phone", occurred_at=T0)
    assert _since(t) is None
    services.message_post(ticket_id=t.pk, author=customer, body="hi", occurred_at=T0 + timedelta(hours=1))
    assert _since(t) == T0 + timedelta(hours=1)


def test_solved_unreplied_ticket_leaves_the_count_and_comes_back_on_reopen(queue, agent, customer):
    t = ticket_make(queue=queue, requester=customer, occurred_at=T0)
    services.ticket_transition(ticket_id=t.pk, target="solved", actor=agent, occurred_at=T0 + timedelta(hours=1))
    assert awaiting_first_reply(queue_ids=[queue.pk])["all"].count == 0
    services.ticket_transition(ticket_id=t.pk, target="open", actor=agent, occurred_at=T0 + timedelta(hours=2))
    assert awaiting_first_reply(queue_ids=[queue.pk])["all"].count == 1


def test_stored_value_equals_the_events_over_random_histories(queue, agent):
    """Independent: the first public agent reply and the first customer message, read from the events."""
    rnd = random.Random(7)
    tickets = []
    for i in range(12):
        customer = CustomerFactory()
        by_agent = i % 3 == 0
        t = ticket_make(queue=queue, requester=customer, actor=agent if by_agent else None, occurred_at=T0)
        at = T0
        for _ in range(rnd.randint(0, 5)):
            at += timedelta(minutes=rnd.randint(1, 90))
            who = rnd.choice(["customer", "agent", "note"])
            services.message_post(
                ticket_id=t.pk,
                author=customer if who == "customer" else agent,
                body="m",
                visibility=Message.Visibility.INTERNAL if who == "note" else Message.Visibility.PUBLIC,
                occurred_at=at,
            )
        tickets.append((t, by_agent))
    for t, by_agent in tickets:
        events = list(TicketEvent.objects.filter(ticket_id=t.pk, kind="message.created").order_by("occurred_at", "id"))
        public = [e for e in events if e.visibility == "public"]
        start = (
            t.created_at if not by_agent else next((e.occurred_at for e in public if e.actor_role == "customer"), None)
        )
        replied = start is not None and any(e.actor_role == "agent" and e.occurred_at >= start for e in public)
        assert _since(t) == (None if replied else start), t.pk


def test_workspace_count_and_oldest_cover_only_the_agents_queues(client, queue, agent):
    other = QueueFactory(kind=QueueKind.SERVICE)  # the agent is not a member
    ticket_make(queue=queue, occurred_at=T0 + timedelta(hours=2))
    ticket_make(queue=queue, occurred_at=T0 + timedelta(hours=1))
    replied = ticket_make(queue=queue, occurred_at=T0)
    services.message_post(ticket_id=replied.pk, author=agent, body="r", occurred_at=T0 + timedelta(minutes=5))
    ticket_make(queue=other, occurred_at=T0 - timedelta(days=3))  # older, but not in the agent's queues
    now = T0 + timedelta(hours=3)
    counts = workspace.workspace_counts(user=agent, now=now)
    assert counts.views["awaiting_first_reply"] == 2
    assert counts.awaiting_oldest == T0 + timedelta(hours=1)
    assert counts.awaiting_oldest_age_s == 7200.0
    client.force_login(agent)
    html = client.get("/agent/tickets/?view=awaiting_first_reply").content.decode()
    assert 'data-count="awaiting_first_reply">2<' in html.replace("\n", "")
    assert "data-oldest-age=" in html
    assert html.count("<tr data-row ") == 2
    assert f'data-href="/agent/tickets/{replied.pk}/"' not in html


def test_workspace_counts_stay_one_statement(queue, agent, django_assert_num_queries):
    ticket_make(queue=queue, occurred_at=T0)
    queues = list(workspace.selectors.queue_list_for_user(user=agent))
    with django_assert_num_queries(1):  # the awaiting count and oldest ride in the grouped counts
        counts = workspace.workspace_counts(user=agent, queues=queues)
    assert counts.views["awaiting_first_reply"] == 1


def test_counts_read_the_partial_index(queue):
    """A few thousand rows, enable_seqscan=off: the dashboard's count and oldest (all queues) is a scan of
    ticket_awaiting_first_reply (index-only once vacuumed: 1.4 ms at 300k tickets, docs/metrics.md)."""
    from tests.workspace.test_views import _bulk_tickets

    _bulk_tickets(queue, 3000)
    Ticket.objects.filter(pk__in=Ticket.objects.order_by("pk").values("pk")[:40]).update(
        awaiting_first_reply_since=timezone.now()
    )
    with connection.cursor() as cur:
        cur.execute("ANALYZE tickets_ticket")
    with CaptureQueriesContext(connection) as ctx:
        assert awaiting_first_reply(queue_ids=None)["all"].count == 40
    (query,) = ctx.captured_queries
    with connection.cursor() as cur:
        cur.execute("SET enable_seqscan = off")
        cur.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(r[0] for r in cur.fetchall())
        cur.execute("SET enable_seqscan = on")
    assert "ticket_awaiting_first_reply" in plan, plan


def test_agents_other_queue_is_not_counted_for_them(queue, service_queue):
    member = AgentFactory()
    queue.members.add(member)
    ticket_make(queue=service_queue, occurred_at=T0)
    assert workspace.workspace_counts(user=member).views["awaiting_first_reply"] == 0
