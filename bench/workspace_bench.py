"""Agent workspace server-time benchmark (issue 4).

Times full Django responses (view + selectors + SQL + template) through the
test client, in-process, against an existing database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_ws_bench \
        .venv/bin/python bench/workspace_bench.py [--n 40]

Prints p50/p95 (ms) for the main list views, sorts, search and the ticket
page, as an agent (queue member) and a manager (all queues). The database
needs the search documents (`--reindex` backfills them in id batches).
"""

import argparse
import html
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from tickets.models import Queue, Ticket  # noqa: E402

NEXT_RE = re.compile(r'cursor=([^"&]+)[^"]*" rel="next"')


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def reindex(batch: int = 20000) -> None:
    from tickets.search import ticket_search_reindex_range

    top = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    start = time.perf_counter()
    for lo in range(0, top + 1, batch):
        ticket_search_reindex_range(start_id=lo, end_id=lo + batch)
        if lo // batch % 10 == 0:
            print(f"  reindexed up to {lo + batch} ({time.perf_counter() - start:.0f} s)", flush=True)
    with connection.cursor() as cur:
        cur.execute("ANALYZE tickets_ticketsearch")
    print(f"reindex: {top} tickets in {time.perf_counter() - start:.1f} s")


def run(n: int) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    rnd = random.Random(7)
    tickets = Ticket.objects.count()
    agent = User.objects.filter(role="agent", queues__isnull=False).distinct().order_by("pk").first()
    manager = User.objects.filter(role__in=["manager", "admin"]).order_by("pk").first()
    queue = Queue.objects.filter(members=agent).order_by("pk").first()
    emails = list(Ticket.objects.filter(queue__members=agent).values_list("requester__email", flat=True)[:200])
    max_id = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first()
    words = ["refund", "password", "invoice", "printer", "error", "login", "delivery", "crash"]
    print(f"database {connection.settings_dict['NAME']}: {tickets:,} tickets; agent {agent.email}; n={n}")

    cases: list[tuple[str, str, User]] = []
    for who, user in (("agent", agent), ("manager", manager)):
        cases += [
            (f"{who} my open", "/agent/tickets/?view=mine", user),
            (f"{who} unassigned", "/agent/tickets/?view=unassigned", user),
            (f"{who} queue (unsolved)", f"/agent/tickets/?view=queue:{queue.pk}", user),
            (f"{who} pending", "/agent/tickets/?view=pending", user),
            (f"{who} SLA breached", "/agent/tickets/?view=breached&sort=sla", user),
            (f"{who} recently updated", "/agent/tickets/?view=recent", user),
            (f"{who} all, by priority", "/agent/tickets/?view=all&sort=priority", user),
            (f"{who} all, by created", "/agent/tickets/?view=all&sort=created", user),
            (f"{who} all, updated, page 2+", "CURSOR", user),
            (f"{who} search word", "SEARCH", user),
            (f"{who} search #number", "NUMBER", user),
            (f"{who} search email", "EMAIL", user),
            (f"{who} ticket page", "TICKET", user),
            (f"{who} counts partial", "/agent/counts/", user),
        ]
    visible = {
        "agent": list(Ticket.objects.filter(queue__members=agent).order_by("?").values_list("pk", flat=True)[:500]),
        "manager": [rnd.randint(1, max_id) for _ in range(500)],
    }
    print(f"{'case':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, url, user in cases:
        client = Client()
        client.force_login(user)
        who = label.split()[0]
        times = []
        cursor = None
        for i in range(n + 3):
            if url == "SEARCH":
                u = f"/agent/tickets/?view=all&q={rnd.choice(words)}"
            elif url == "NUMBER":
                u = f"/agent/tickets/?view=all&q=%23{rnd.choice(visible[who])}"
            elif url == "EMAIL":
                u = f"/agent/tickets/?view=all&q={rnd.choice(emails)}"
            elif url == "TICKET":
                u = f"/agent/tickets/{rnd.choice(visible[who])}/"
            elif url == "CURSOR":
                u = "/agent/tickets/?view=all" + (f"&cursor={cursor}" if cursor else "")
            else:
                u = url
            t0 = time.perf_counter()
            response = client.get(u)
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status_code not in (200, 404):
                raise SystemExit(f"{u}: HTTP {response.status_code}")
            if url == "CURSOR":
                found = NEXT_RE.search(response.content.decode())
                cursor = html.unescape(found.group(1)) if found else None
            if i >= 3:  # warm-up
                times.append(elapsed)
        print(f"{label:34} {statistics.median(times):8.1f} {pct(times, 0.95):8.1f} {max(times):8.1f}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--reindex", action="store_true", help="backfill the search documents first")
    args = parser.parse_args()
    if args.reindex:
        reindex()
    run(args.n)
