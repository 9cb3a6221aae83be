"""Two beat processes (a misconfigured deployment) make two breach scans run
at the same time in different processes: each breach is still marked once."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import CustomerFactory, ticket_make
from tests.processes import ROOT, worker_env
from tests.tickets.test_sla import sla_queue
from tickets.models import SLAMark, TicketEvent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SCAN = """
import django, time
django.setup()
from tickets.sla_services import sla_breach_scan
start = time.time() + 1.0
while time.time() < start:  # both processes start scanning at the same instant
    time.sleep(0.005)
total = 0
for _ in range(5):
    total += sla_breach_scan(batch=5).breaches
print(total)
"""


def test_two_scanning_processes_mark_each_breach_once():
    queue = sla_queue(targets={"normal": {"first_response": 60, "business_hours": False}})
    past = datetime.now(UTC) - timedelta(minutes=10)
    tickets = [ticket_make(queue=queue, requester=CustomerFactory(), occurred_at=past) for _ in range(60)]
    procs = [
        subprocess.Popen([sys.executable, "-c", SCAN], env=worker_env(), cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    counts = [int(out.strip().splitlines()[-1]) for out in outputs]
    assert sum(counts) == len(tickets)
    breached = list(TicketEvent.objects.filter(kind=TicketEvent.Kind.SLA_BREACHED).values_list("ticket_id", flat=True))
    assert sorted(breached) == sorted(t.pk for t in tickets)
    assert SLAMark.objects.filter(kind="breach").count() == len(tickets)
