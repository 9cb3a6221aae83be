"""A worker SIGKILLed in the middle of a metrics recompute loses nothing.

The kill point is deterministic: the test holds the per-ticket advisory lock
that `tickets_recompute` takes after the claim (DELETE of the dirty rows), so
the worker is frozen inside its claim transaction when it is killed."""

import psycopg2
import pytest
from django.db import connection

from metrics.compute import compute
from metrics.models import MetricsDirty, TicketMetrics
from metrics.services import events_by_ticket, metrics_context
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tests.processes import send_task, sigkill, wait_for, worker_running
from tickets import services

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ADVISORY_KEY = 1296389185  # metrics.services.tickets_recompute's lock class
FIELDS = ("status", "first_reply_at", "first_replier_id", "first_resolved_at", "public_agent_replies", "assignee_id")


def _raw_connection():
    s = connection.settings_dict
    return psycopg2.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"], dbname=s["NAME"])


def _history(n: int) -> list[int]:
    queue = QueueFactory(kind="support")
    agent = AgentFactory()
    queue.members.add(agent)
    ids = []
    for i in range(n):
        t = ticket_make(queue=queue, requester=CustomerFactory(), subject=f"Fault {i}")
        services.message_post(ticket_id=t.pk, author=agent, body=f"Answer {i}")
        if i % 3 == 0:
            services.ticket_transition(ticket_id=t.pk, actor=agent, target="solved")
        ids.append(t.pk)
    return ids


def _backends_waiting_on_advisory(cur) -> list[int]:
    cur.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
    )
    return [r[0] for r in cur.fetchall()]


def _backend_gone(cur, pid: int) -> bool:
    cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
    return cur.fetchone()[0] == 0


def test_worker_killed_inside_recompute_loses_no_update(private_redis):
    ids = _history(40)
    assert MetricsDirty.objects.count() == len(ids)
    holder, observer = _raw_connection(), _raw_connection()
    observer.autocommit = True
    try:
        with holder.cursor() as cur:  # freeze the worker after its claim
            cur.execute("SELECT pg_advisory_lock(%s, %s)", [ADVISORY_KEY, ids[len(ids) // 2]])
        with worker_running(redis_url=private_redis.url(), name="victim", level="warning") as victim:
            send_task(private_redis.url(), "metrics.recompute_dirty")
            with observer.cursor() as cur:
                assert wait_for(lambda: _backends_waiting_on_advisory(cur), timeout=30), "worker never claimed"
                (zombie,) = _backends_waiting_on_advisory(cur)
            sigkill(victim)
        # The killed worker's claim (the DELETE) must not survive it.
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_KEY, ids[len(ids) // 2]])
        with observer.cursor() as cur:
            assert wait_for(lambda: _backend_gone(cur, zombie), timeout=30)
        assert MetricsDirty.objects.count() == len(ids)
        assert TicketMetrics.objects.count() == 0

        with worker_running(redis_url=private_redis.url(), name="successor", level="warning"):
            send_task(private_redis.url(), "metrics.recompute_dirty")
            assert wait_for(lambda: not MetricsDirty.objects.exists(), timeout=60)
            assert wait_for(lambda: TicketMetrics.objects.count() == len(ids), timeout=30)
    finally:
        holder.close()
        observer.close()

    ctx = metrics_context()
    events = events_by_ticket(ids)
    stored = {m.ticket_id: m for m in TicketMetrics.objects.all()}
    for tid in ids:
        expected = compute(events[tid], ctx)
        got = stored[tid]
        want = {f: expected["status_at_as_of" if f == "status" else f] for f in FIELDS}
        assert {f: getattr(got, f) for f in FIELDS} == want, tid
