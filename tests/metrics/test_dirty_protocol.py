"""The dirty outbox never loses an update (docs/metrics-dirty-protocol.md).

Two real PostgreSQL connections: the claimer (this thread) and an event
transaction left open in another thread, so the interleaving is forced,
not hoped for.
"""

import random
import threading
import time

import pytest
from django.db import connection, transaction

from metrics.models import MetricsDirty, TicketMetrics
from metrics.services import metrics_dirty_claim_and_recompute
from tests.factories import CustomerFactory, QueueFactory, ticket_make
from tickets import services
from tickets.models import Ticket

PRIORITIES = ("low", "normal", "high", "urgent")


def drain() -> None:
    while metrics_dirty_claim_and_recompute():
        pass


def in_thread(target, *args):
    """Run `target` in a thread with its own DB connection; re-raise its error."""
    errors: list[BaseException] = []

    def run():
        try:
            target(*args)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


@pytest.mark.django_db(transaction=True)
def test_claim_during_an_open_event_transaction_keeps_the_second_event():
    """T1's dirty row is committed; T2 writes an event on the same ticket and
    marks it dirty again but has not committed; a claim runs now. After T2
    commits, the ticket must still be (or again be) dirty, so the metrics
    end up with T2's event. Before the fix the claim deleted T1's row (ON
    CONFLICT DO NOTHING locks nothing), computed without T2's event and
    left no row behind: the update was lost for good."""
    ticket = ticket_make(queue=QueueFactory(), requester=CustomerFactory())
    drain()
    services.ticket_set_priority(ticket_id=ticket.pk, priority="high", actor=None)  # T1, committed
    assert MetricsDirty.objects.filter(ticket_id=ticket.pk).exists()

    marked, release = threading.Event(), threading.Event()

    def t2():
        with transaction.atomic():
            services.ticket_set_priority(ticket_id=ticket.pk, priority="urgent", actor=None)
            marked.set()
            assert release.wait(20)

    thread, errors = in_thread(t2)
    assert marked.wait(20)
    try:
        metrics_dirty_claim_and_recompute()  # the claimer, while T2 is open
    finally:
        release.set()
        thread.join(20)
    assert not errors
    assert MetricsDirty.objects.filter(ticket_id=ticket.pk).exists(), "T2's mark was lost"
    drain()
    assert TicketMetrics.objects.get(ticket_id=ticket.pk).priority == "urgent"


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_claimers_converge():
    """Three writer threads change priorities of four tickets at random while
    a claimer thread drains continuously; afterwards every ticket's metrics
    row matches the ticket (nothing lost). Each writer's transaction stays open a few ms after
    its mark, as a request's does."""
    queue, customer = QueueFactory(), CustomerFactory()
    ids = [ticket_make(queue=queue, requester=customer).pk for _ in range(4)]
    drain()
    stop = threading.Event()

    def writer(seed):
        rng = random.Random(seed)
        for _ in range(25):
            pk = rng.choice(ids)
            with transaction.atomic():
                current = Ticket.objects.get(pk=pk).priority
                choice = rng.choice([p for p in PRIORITIES if p != current])
                services.ticket_set_priority(ticket_id=pk, priority=choice, actor=None)
                time.sleep(rng.uniform(0, 0.02))  # the rest of a request's transaction

    def claimer():
        while not stop.is_set():
            metrics_dirty_claim_and_recompute(batch=2)

    claim_thread, claim_errors = in_thread(claimer)
    writers = [in_thread(writer, seed) for seed in range(3)]
    for thread, _ in writers:
        thread.join(120)
    stop.set()
    claim_thread.join(60)
    assert not claim_errors and not any(errors for _, errors in writers)
    drain()
    want = dict(Ticket.objects.filter(pk__in=ids).values_list("pk", "priority"))
    got = dict(TicketMetrics.objects.filter(ticket_id__in=ids).values_list("ticket_id", "priority"))
    assert got == want
