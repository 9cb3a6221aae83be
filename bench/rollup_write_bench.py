"""Write cost of the dashboard rollup cells in `tickets_recompute` (bench/DASHBOARD.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_rw_bench DJANGO_SECRET_KEY=x \\
      .venv/bin/python bench/metrics_bench.py --generate 20000 --skip-queries --processes 1
    DATABASE_URL=... DJANGO_SECRET_KEY=x .venv/bin/python bench/rollup_write_bench.py

Times `tickets_recompute` over the first 4,000 tickets (batches of 500, as the worker claims) and
400 tickets one by one (as after single events), each inside a rolled-back transaction: "first"
deletes the tickets' metrics rows first (their first computation, as after an import or on
creation), "again" recomputes unchanged rows. "without" swaps the rollup delta out for a no-op
(bench only) to show what the rollup cells add.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django

django.setup()

from django.db import transaction  # noqa: E402

from metrics import rollup, services  # noqa: E402
from metrics.models import TicketMetrics, TicketStatusInterval  # noqa: E402
from tickets.models import Ticket  # noqa: E402

IDS = list(Ticket.objects.order_by("pk").values_list("pk", flat=True)[:4000])
REAL_BASE = rollup.base


def _no_rollup(m, intervals, zone, out=None, sign=1, segments=(), next_replies=()):
    return out


def run(label: str, batch: int, n: int, first: bool) -> None:
    with transaction.atomic():
        if first:
            TicketMetrics.objects.filter(ticket_id__in=IDS[:n]).delete()
            TicketStatusInterval.objects.filter(ticket_id__in=IDS[:n]).delete()
        t = time.perf_counter()
        for i in range(0, n, batch):
            services.tickets_recompute(ticket_ids=IDS[i : i + batch])
        dt = time.perf_counter() - t
        transaction.set_rollback(True)
    print(f"{label:8} {'first' if first else 'again':6} batch {batch:4}: {dt / n * 1000:6.2f} ms/ticket")


for first in (True, False):
    for batch, n in ((500, 4000), (1, 400)):
        for label, fn in (("with", REAL_BASE), ("without", _no_rollup)):
            rollup.base = fn
            run(label, batch, n, first)
rollup.base = REAL_BASE
