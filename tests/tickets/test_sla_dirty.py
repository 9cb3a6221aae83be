"""Stored SLA due instants refreshed after the commit from a dirty mark
(tickets/sla_dirty.py, docs/delivery.md "SLA due instants"): nothing is lost
when the process dies between the commit and the wake-up, a claim never
refreshes without a concurrent writer's event, and breaches stay exactly once."""

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import close_old_connections, connection, transaction

from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tests.processes import ROOT, worker_env
from tickets import services
from tickets.models import SLADirty, SLAMark, SLAPolicy, Ticket, TicketEvent
from tickets.sla_dirty import sla_dirty_drain, sla_fresh
from tickets.sla_services import sla_breach_scan

HOUR = {"normal": {"first_response": 3600, "resolution": 8 * 3600, "business_hours": False}}

# A real process writes a ticket and is SIGKILLed by the first on-commit
# callback, i.e. after the commit and before the wake-up of the refresh.
CRASH_SCRIPT = r"""
import os, signal, sys
import django
django.setup()
from django.db import transaction
from accounts.models import User
from tickets import services
from tickets.models import Queue
queue = Queue.objects.get(pk=int(sys.argv[1]))
customer = User.objects.get(pk=int(sys.argv[2]))
with transaction.atomic():
    transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
    services.ticket_create(subject="crash", body="b", queue=queue, requester=customer, actor=customer, channel="api")
print("not killed", flush=True)
"""


@pytest.fixture
def worker_mode(settings):
    settings.HELPDESK_SLA_REFRESH = "worker"
    return settings


def _stored(pk):
    return Ticket.objects.values_list("first_response_due_at", "sla_due_at", "sla_next_check_at").get(pk=pk)


@pytest.mark.django_db(transaction=True)
def test_process_killed_after_commit_loses_nothing_the_sweep_refreshes(worker_mode):
    queue = QueueFactory(sla_policy=SLAPolicy.objects.create(name="crash", targets=HOUR))
    customer = CustomerFactory()
    env = worker_env(extra={"HELPDESK_SLA_REFRESH": "worker", "REDIS_URL": "redis://127.0.0.1:1/0"})
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(queue.pk), str(customer.pk)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    ticket = Ticket.objects.get(subject="crash")  # committed
    created = TicketEvent.objects.get(ticket=ticket, kind="ticket.created").occurred_at

    # The refresh never ran, but its mark committed with the event ...
    assert _stored(ticket.pk) == (None, None, None)
    assert SLADirty.objects.filter(ticket_id=ticket.pk).exists()
    # ... so pages compute the due instant on read meanwhile ...
    shown = sla_fresh([Ticket.objects.get(pk=ticket.pk)])[0]
    assert shown.first_response_due_at == created + timedelta(hours=1) == shown.sla_due_at

    # ... and the sweep (the breach scan drains the marks first) stores it.
    sla_breach_scan()
    assert _stored(ticket.pk) == (created + timedelta(hours=1),) * 2 + (created + timedelta(minutes=45),)
    assert not SLADirty.objects.exists()


@pytest.mark.django_db
def test_event_transaction_writes_a_mark_not_the_refresh(worker_mode):
    queue = QueueFactory(sla_policy=SLAPolicy.objects.create(name="mark", targets=HOUR))
    ticket = ticket_make(queue=queue)
    assert _stored(ticket.pk) == (None, None, None)
    assert list(SLADirty.objects.values_list("ticket_id", flat=True)) == [ticket.pk]
    assert sla_dirty_drain() == 1
    assert _stored(ticket.pk)[0] is not None
    assert not SLADirty.objects.exists()


def _reply_unlocked(ticket, agent):
    """An agent reply event written the way the import writes events: no
    ticket row lock, then events_committed (the marks)."""
    from django.utils import timezone

    from tickets.events import events_committed

    TicketEvent.objects.create(
        ticket=ticket,
        kind="message.created",
        actor=agent,
        actor_role="agent",
        visibility="public",
        occurred_at=timezone.now(),
        data={"message_id": None, "author_role": "agent", "visibility": "public", "is_automated": False},
    )
    events_committed([ticket.pk])


@pytest.mark.parametrize("writer_kind", ["service", "unlocked"])
@pytest.mark.django_db(transaction=True)
def test_claim_skips_a_ticket_whose_writer_has_not_committed_and_keeps_its_mark(worker_mode, writer_kind):
    """Two real connections. A committed mark exists (the ticket's creation);
    an agent's first reply (which fulfils the first-response target) is in
    an open transaction while the drain runs: the drain must neither wait
    nor delete the mark, else it would store a due instant that the reply
    has already met and nothing would correct it. "service" holds the
    ticket's row lock (the claim skips the ticket); "unlocked" writes like
    the import, and only the mark's ON CONFLICT DO UPDATE row lock keeps it
    (with DO NOTHING this case fails: the metrics bug of
    docs/metrics-dirty-protocol.md)."""
    queue = QueueFactory(sla_policy=SLAPolicy.objects.create(name="race", targets=HOUR))
    agent = AgentFactory()
    queue.members.add(agent)
    ticket = ticket_make(queue=queue)
    assert SLADirty.objects.filter(ticket_id=ticket.pk).exists()

    marked, release, failed = threading.Event(), threading.Event(), []

    def writer():
        try:
            with transaction.atomic():
                if writer_kind == "service":
                    services.message_post(ticket_id=ticket.pk, author=agent, body="On it.")
                else:
                    _reply_unlocked(ticket, agent)
                marked.set()
                release.wait(20)
        except Exception as exc:  # surfaced below
            failed.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert marked.wait(20)
        started = time.monotonic()
        assert sla_dirty_drain() == 0  # SKIP LOCKED: nothing claimable, no wait
        assert time.monotonic() - started < 5
    finally:
        release.set()
        thread.join(30)
    assert not failed
    close_old_connections()
    assert SLADirty.objects.filter(ticket_id=ticket.pk).exists()  # the mark survived
    assert sla_dirty_drain() == 1
    t = Ticket.objects.get(pk=ticket.pk)
    assert t.first_response_due_at is None and t.resolution_due_at is not None  # the reply is in


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_refreshes_on_commit(worker_mode, celery_worker):
    queue = QueueFactory(sla_policy=SLAPolicy.objects.create(name="wake", targets=HOUR))
    ticket = ticket_make(queue=queue)
    deadline = time.monotonic() + 20
    while _stored(ticket.pk)[0] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _stored(ticket.pk)[0] is not None
    assert not SLADirty.objects.filter(ticket_id=ticket.pk).exists()


@pytest.mark.django_db
def test_priority_raise_moving_due_into_the_past_breaches_once_after_the_drain(worker_mode):
    targets = {
        "normal": {"first_response": 4 * 3600, "business_hours": False},
        "urgent": {"first_response": 600, "business_hours": False},
    }
    queue = QueueFactory(sla_policy=SLAPolicy.objects.create(name="raise", targets=targets))
    past = datetime.now(UTC) - timedelta(hours=1)
    ticket = ticket_make(queue=queue, occurred_at=past)
    sla_dirty_drain()
    assert _stored(ticket.pk)[0] == past + timedelta(hours=4)
    services.ticket_set_priority(ticket_id=ticket.pk, priority="urgent", actor=AgentFactory())
    assert _stored(ticket.pk)[0] == past + timedelta(hours=4)  # stale until the drain
    first = sla_breach_scan()
    second = sla_breach_scan()
    assert (first.breaches, second.breaches) == (1, 0)
    assert SLAMark.objects.filter(ticket=ticket, kind="breach").count() == 1
    assert _stored(ticket.pk)[0] == past + timedelta(minutes=10)
