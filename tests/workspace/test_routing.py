"""Routing rules on creation and auto-assignment (round-robin,
least-loaded with capacity), reasons in the event log, race safety."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tickets import services
from tickets.models import Queue, RoutingRule, Ticket, TicketEvent

K = TicketEvent.Kind


@pytest.mark.django_db
def test_rules_in_order_with_events(queue, service_queue):
    RoutingRule.objects.create(
        name="Refunds to billing", position=1, keywords=["refund"], set_queue=service_queue, add_tags=["refund"]
    )
    RoutingRule.objects.create(name="VIP", position=2, requester_domains=["vip.example"], set_priority="urgent")
    RoutingRule.objects.create(name="Email only", position=3, channels=["email"], add_tags=["mail"])
    vip = CustomerFactory(email="boss@vip.example")
    t = ticket_make(queue=queue, requester=vip, subject="Refund please", body="charged twice", channel="portal")
    t.refresh_from_db()
    assert t.queue_id == service_queue.pk and t.kind == "service" and t.priority == "urgent"
    assert list(t.tags.values_list("name", flat=True)) == ["refund"]
    matched = list(TicketEvent.objects.filter(ticket=t, kind=K.ROUTING).order_by("id").values_list("data", flat=True))
    assert [m["rule"] for m in matched] == ["Refunds to billing", "VIP"]
    move = TicketEvent.objects.get(ticket=t, kind=K.QUEUE)
    assert move.data["escalation"] is True and move.data["reason"] == "routing rule: Refunds to billing"


@pytest.mark.django_db
def test_stop_processing_and_import_is_not_routed(queue, service_queue):
    RoutingRule.objects.create(name="All", position=1, set_priority="high", stop_processing=True)
    RoutingRule.objects.create(name="Never", position=2, set_priority="low")
    t = ticket_make(queue=queue)
    t.refresh_from_db()
    assert t.priority == "high"
    imported = ticket_make(queue=queue, channel="import", actor=None)
    imported.refresh_from_db()
    assert imported.priority == "normal"
    assert not TicketEvent.objects.filter(ticket=imported, kind=K.ROUTING).exists()


def _queue_with(mode, *capacities):
    q = QueueFactory(auto_assign=mode)
    agents = [AgentFactory(capacity=c) for c in capacities]
    q.members.add(*agents)
    return q, agents


@pytest.mark.django_db
def test_round_robin_order_and_capacity():
    q, (a, b, c) = _queue_with(Queue.AutoAssign.ROUND_ROBIN, None, 1, None)
    got = [ticket_make(queue=q).assignee_id for _ in range(5)]
    # b holds one open ticket at most, so after its first turn it is skipped.
    assert got == [a.pk, b.pk, c.pk, a.pk, c.pk]
    reason = TicketEvent.objects.filter(kind=K.ASSIGNEE, data__to=c.pk).last().data["reason"]
    assert reason.startswith("round-robin of")


@pytest.mark.django_db
def test_least_loaded_with_capacity_and_reason():
    q, (a, b) = _queue_with(Queue.AutoAssign.LEAST_LOADED, 10, 2)
    other = QueueFactory()
    for _ in range(3):  # a already carries 3 open tickets elsewhere
        services.ticket_assign(ticket_id=ticket_make(queue=other).pk, assignee=a, actor=None)
    got = [ticket_make(queue=q).assignee_id for _ in range(4)]
    assert got == [b.pk, b.pk, a.pk, a.pk]  # b full at 2/2
    reasons = list(
        TicketEvent.objects.filter(kind=K.ASSIGNEE, ticket__queue=q).order_by("id").values_list("data", flat=True)
    )
    assert reasons[0]["reason"] == "least-loaded of 2 available, 0/2 open"
    assert reasons[2]["reason"] == "least-loaded of 1 available, 3/10 open"
    # Everyone at capacity: the ticket stays unassigned.
    q2, (_full,) = _queue_with(Queue.AutoAssign.LEAST_LOADED, 0)
    assert ticket_make(queue=q2).assignee_id is None


@pytest.mark.django_db(transaction=True)  # VACUUM cannot run in a transaction
@pytest.mark.skipif(connection.vendor != "postgresql", reason="plans: PostgreSQL")
def test_least_loaded_count_reads_only_its_partial_index():
    """The open-load count of the candidates is an index-only scan of
    `ticket_open_assignee_load` (its predicate is the count's WHERE), not a
    scan of every open ticket nor a heap read per ticket (bench/API.md)."""
    q, (_a, b) = _queue_with(Queue.AutoAssign.LEAST_LOADED, None, None)
    ticket_make(queue=q)  # to a: the second goes to b
    other = QueueFactory()
    for _ in range(40):  # open tickets of other agents, which the count need not read
        ticket_make(queue=other)
    with connection.cursor() as cur:  # as autovacuum would: pages all-visible, statistics
        cur.execute("VACUUM ANALYZE tickets_ticket")
    with CaptureQueriesContext(connection) as ctx:
        assert ticket_make(queue=q).assignee_id == b.pk
    (count,) = [x["sql"] for x in ctx.captured_queries if "COUNT(" in x["sql"] and "assignee_id" in x["sql"]]
    with connection.cursor() as cur:
        # Test tables are tiny: forbid the sequential scan to see which index the planner can use.
        cur.execute("SET enable_seqscan = off")
        cur.execute("EXPLAIN " + count)
        plan = "\n".join(r[0] for r in cur.fetchall())
        cur.execute("RESET enable_seqscan")
    assert "Index Only Scan using ticket_open_assignee_load" in plan, plan
    assert "Heap Scan" not in plan and "Seq Scan" not in plan, plan


@pytest.mark.django_db(transaction=True)
def test_least_loaded_is_race_safe_with_two_threads():
    """Two tickets created at once in a queue whose two agents each have room
    for one: the queue lock makes them go to different agents."""
    q, (a, b) = _queue_with(Queue.AutoAssign.LEAST_LOADED, 1, 1)
    requester = CustomerFactory()
    barrier = threading.Barrier(2)
    errors = []

    def create(i):
        try:
            barrier.wait()
            ticket_make(queue=q, requester=requester, subject=f"race {i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assignees = sorted(Ticket.objects.filter(queue=q).values_list("assignee_id", flat=True))
    assert assignees == sorted([a.pk, b.pk])


@pytest.mark.django_db
def test_routing_of_a_backdated_ticket_happens_at_its_creation(queue, service_queue):
    """A ticket created with an earlier `occurred_at` (the demo's live
    workload, a replayed channel) is routed and auto-assigned at its
    creation instant, not at the wall clock: its timeline read "assigned to
    Alex" (06:09), then "System assigned to Morgan" (09:09, the seed's run)
    although Alex had it."""
    from datetime import timedelta

    from django.utils import timezone

    RoutingRule.objects.create(name="All high", position=1, set_priority="high")
    q, _agents = _queue_with(Queue.AutoAssign.LEAST_LOADED, None)
    at = timezone.now() - timedelta(hours=3)
    t = ticket_make(queue=q, occurred_at=at)
    routed = TicketEvent.objects.filter(ticket=t).exclude(kind=K.CREATED)
    assert {e.kind for e in routed} == {K.PRIORITY, K.ROUTING, K.ASSIGNEE}
    assert {e.occurred_at for e in routed} == {at}
