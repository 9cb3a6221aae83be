"""Server time of the agent ticket page's consolidated properties save
(issue #14), through the test client, in-process, against an existing
database (no test transaction: real commits, real event rows):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_wsdetail_bench \\
        .venv/bin/python bench/ticket_page_bench.py [--n 50]

Each round saves the panel of an unsolved ticket of the agent's queues,
drawn from random places of the whole table (spread_pool), with htmx
(the answer is the panel + status line + timeline), with two changes
(priority and tags), the common case; and one with five changes (status,
priority, assignee, tags, CCs). Each ticket is saved once. Prints
p50/p95/max (ms), the SQL queries per save and the load average. Writes
events: use a bench database.
Set REDIS_URL so the on-commit tasks (metrics, notifications) go to the
broker as in production instead of running inside the timed request.
"""

import argparse
import os
import random
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
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from tickets.models import Ticket  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def form(ticket: Ticket, **over: object) -> dict[str, object]:
    data: dict[str, object] = {
        "prop-status": ticket.status,
        "prop-priority": ticket.priority,
        "prop-assignee": ticket.assignee_id or "",
        "prop-queue": ticket.queue_id,
        "prop-reason": "",
        "prop-tags": ", ".join(ticket.tags.values_list("name", flat=True)),
        "prop-ccs": ", ".join(ticket.ccs.values_list("email", flat=True)),
    }
    data.update({f"prop-{k}": v for k, v in over.items()})
    return data


def spread_pool(agent: User, n: int, *, seed: int) -> list[int]:
    """`n` distinct unsolved tickets the user sees, spread over the whole
    table: for a random id, the first such ticket at or after it (an index
    walk on the primary key, not ORDER BY random() over a million rows)."""
    from tickets.selectors import ticket_list_for_user

    unsolved = ticket_list_for_user(user=agent).filter(status__in=["new", "open", "pending", "on_hold"])
    top = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rng = random.Random(seed)
    pool: list[int] = []
    for _ in range(n * 20):
        if len(pool) >= n:
            break
        pk = unsolved.filter(pk__gte=rng.randint(1, top)).order_by("pk").values_list("pk", flat=True).first()
        if pk is not None and pk not in pool:
            pool.append(pk)
    if not pool:
        raise SystemExit("no unsolved ticket visible to the user")
    return pool


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--agent", default="agent@example.com")
    parser.add_argument("--seed", type=int, default=14, help="which tickets (spread_pool)")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    # Count the request's queries: Django clears the log when a request starts.
    from django.core import signals
    from django.db import reset_queries

    signals.request_started.disconnect(reset_queries)
    agent = User.objects.get(email=args.agent)
    cc = User.objects.filter(role="customer", is_active=True).exclude(email="").first()
    pool = spread_pool(agent, args.n * 2, seed=args.seed)
    print(
        f"tickets in the database: {Ticket.objects.order_by('-pk').values_list('pk', flat=True).first():,} (max id); "
        f"{len(pool)} unsolved tickets of the user, ids {min(pool):,}..{max(pool):,}"
    )
    client = Client(HTTP_HX_REQUEST="true")
    client.force_login(agent)
    rng = random.Random(14)
    results: dict[str, list[float]] = {"2 changes": [], "5 changes": []}
    queries: dict[str, list[int]] = {"2 changes": [], "5 changes": []}
    load_before = os.getloadavg()
    for i in range(args.n * 2):
        pk = pool[i % len(pool)]
        ticket = Ticket.objects.get(pk=pk)
        case = "2 changes" if i % 2 == 0 else "5 changes"
        prio = rng.choice([p for p in Ticket.Priority.values if p != ticket.priority])
        if case == "2 changes":
            data = form(ticket, priority=prio, tags=f"bench, b{i}")
        else:
            status = "pending" if ticket.status != "pending" else "open"
            data = form(ticket, priority=prio, status=status, assignee=agent.pk, tags=f"b{i}", ccs=cc.email)
        url = f"/agent/tickets/{pk}/properties/"
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.post(url, data)
            elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200 or b"saved" not in response.content:
            raise SystemExit(f"save failed: {response.status_code} {response.content[:500]!r}")
        results[case].append(elapsed)
        queries[case].append(len(ctx.captured_queries))
    load_after = os.getloadavg()
    for case, times in results.items():
        q = queries[case]
        print(
            f"{case}: n={len(times)} p50={statistics.median(times):.1f} ms "
            f"p95={pct(times, 0.95):.1f} ms max={max(times):.1f} ms "
            f"queries per save min={min(q)} median={statistics.median(q):.0f} max={max(q)}"
        )
    print("load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(*load_before, *load_after))


if __name__ == "__main__":
    main()
