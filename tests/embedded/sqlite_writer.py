"""A writer process for tests/embedded/test_sqlite_concurrency.py: the
embedded default (SQLite file, in-process tasks) as a busy agent uses it.

    python tests/embedded/sqlite_writer.py setup
    python tests/embedded/sqlite_writer.py write SEED START_AT ITERATIONS

`setup` creates a queue, agents and tickets and prints their ids (JSON);
`write` waits until START_AT (epoch seconds, so all writers start
together), then records handle-time sessions, priority changes, notes and
assignments on those tickets, and prints what failed (JSON).
"""

import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django

django.setup()

from celery.signals import task_failure  # noqa: E402
from django.db import OperationalError  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from tickets import services  # noqa: E402
from tickets.models import Queue, Ticket  # noqa: E402

PRIORITIES = ("low", "normal", "high", "urgent")


def setup() -> dict:
    queue = Queue.objects.create(slug="busy", name="Busy", kind="support")
    customer = User.objects.create_user(email="c@example.com", password="x" * 12, role="customer")
    agents = []
    for i in range(2):
        agent = User.objects.create_user(email=f"a{i}@example.com", password="x" * 12, role="agent")
        queue.members.add(agent)
        agents.append(agent.pk)
    tickets = [
        services.ticket_create(subject=f"T{i}", body="b", queue=queue, requester=customer, actor=customer).pk
        for i in range(3)
    ]
    return {"agents": agents, "tickets": tickets}


def write(seed: int, start_at: float, iterations: int) -> dict:
    rng = random.Random(seed)
    agents = list(User.objects.filter(role="agent").order_by("pk"))
    tickets = list(Ticket.objects.order_by("pk").values_list("pk", flat=True))
    errors: list[str] = []
    task_failure.connect(lambda exception=None, **kw: errors.append(f"task: {exception}"), weak=False)
    time.sleep(max(0.0, start_at - time.time()))
    done = 0
    for _ in range(iterations):
        pk, agent = rng.choice(tickets), rng.choice(agents)
        op = rng.choice(("heartbeat", "priority", "note", "assign"))
        try:
            if op == "heartbeat":  # what the final handle-time beacon writes
                end = timezone.now()
                services.work_session_record(
                    ticket_id=pk, agent=agent, started_at=end - timedelta(seconds=30), ended_at=end
                )
            elif op == "priority":
                current = Ticket.objects.get(pk=pk).priority
                new = rng.choice([p for p in PRIORITIES if p != current])
                services.ticket_set_priority(ticket_id=pk, priority=new, actor=agent)
            elif op == "note":
                services.message_post(ticket_id=pk, author=agent, body="checking", visibility="internal")
            else:
                services.ticket_assign(ticket_id=pk, assignee=agent, actor=agent)
            done += 1
        except OperationalError as exc:
            errors.append(f"{op}: {exc}")
    return {"done": done, "errors": errors}


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        print(json.dumps(setup()))
    else:
        print(json.dumps(write(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))))
