"""A real worker survives its Redis broker going away and coming back."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.lib.tasks import enqueue
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tests.processes import broker_at, wait_for, worker_running
from tickets import services, tasks
from tickets.models import Ticket


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_reconnects_after_redis_restart_and_runs_new_tasks(redis_server, tmp_path):
    """Redis stops (SIGTERM) for a few seconds and restarts empty on the same
    port: the same worker process is still alive and runs a task enqueued
    afterwards (before: "Unrecoverable error", the worker exited)."""
    ticket = ticket_make(queue=QueueFactory(), requester=CustomerFactory())
    services.ticket_transition(
        ticket_id=ticket.pk, target="solved", actor=AgentFactory(), occurred_at=timezone.now() - timedelta(days=30)
    )
    log = tmp_path / "worker.log"
    with worker_running(redis_url=redis_server.url(), log=log) as worker:
        pid = worker.pid
        with redis_server.down():
            time.sleep(4)  # the worker notices and keeps trying
            assert worker.poll() is None, log.read_text()
        with broker_at(redis_server.url()):
            assert enqueue(tasks.solved_auto_close)
            closed = wait_for(lambda: Ticket.objects.get(pk=ticket.pk).status == "closed", timeout=60)
        assert closed, log.read_text()
        assert worker.poll() is None and worker.pid == pid
    assert "Connection to broker lost" in log.read_text()
