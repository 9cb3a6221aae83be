"""Celery against a real Redis broker and a real worker process."""

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from helpdesk.lib.tasks import enqueue_on_commit
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tickets import services, tasks
from tickets.models import Ticket


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_runs_task_enqueued_on_commit(celery_worker):
    """A task enqueued on commit runs in the worker process and sees the row."""
    queue = QueueFactory()
    agent = AgentFactory()
    ticket = ticket_make(queue=queue, requester=CustomerFactory())
    services.ticket_transition(
        ticket_id=ticket.pk, target="solved", actor=agent, occurred_at=timezone.now() - timedelta(days=30)
    )
    with transaction.atomic():
        enqueue_on_commit(tasks.solved_auto_close)
        # Not sent before commit: the worker cannot have closed it yet.
        assert Ticket.objects.get(pk=ticket.pk).status == "solved"
    assert wait_for(lambda: Ticket.objects.get(pk=ticket.pk).status == "closed")


def test_enqueue_with_broker_down_does_not_raise():
    """A dead broker is logged and reported, never raised into the request,
    and does not hang it (fresh process, broker on a closed port)."""
    import os
    import subprocess
    import sys

    code = (
        "import django, time; django.setup();"
        "from helpdesk.lib.tasks import enqueue; from tickets import tasks;"
        "t = time.monotonic(); ok = enqueue(tasks.solved_auto_close);"
        "print(ok, round(time.monotonic() - t, 1))"
    )
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0", "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    ok, seconds = out.stdout.split()
    assert ok == "False"
    assert float(seconds) < 10
