"""Python vs SQL time of the agent HTML list, the agent ticket page and the
portal "My requests" page (issue #22), in-process through the test client, on an existing database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench \
        .venv/bin/python bench/list_profile.py [--n 30] [--profile agent-all]

For each case: p50/p95 (ms) of the whole response, of the SQL inside it
(every statement timed by a `connection.execute_wrapper`), of the rest (wall
time of view, forms, template) and the process CPU time of the request (the
Python time proper: it does not grow with the queueing for a core that the
wall times suffer on a loaded machine, though it still includes psycopg2's
row decoding), and the Python function calls per request (cProfile's
count, deterministic: it compares runs at different loads).
`--profile CASE` prints the cProfile (CPU clock) of that case (20
requests, sorted by own time). `--explain` prints EXPLAIN ANALYZE of the
customer page's ticket query for the customer with the fewest tickets;
`--queries CASE [--explain-queries]` lists the statements of one request
(with EXPLAIN ANALYZE of each SELECT). The ticket-page cases cycle over
the first 30 tickets of the user's "all" list (the ids bench/peer/compare.py
uses); "queries" is the most any of their requests made.
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("HELPDESK_2FA_REQUIRED_ROLES", "")  # the manager signs in without a device

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from tickets import selectors  # noqa: E402
from tickets.models import Ticket  # noqa: E402


class SqlTimer:
    def __init__(self) -> None:
        self.ms = 0.0
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms += (time.perf_counter() - t0) * 1000
            self.count += 1


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * p))]


def users() -> dict[str, User]:
    agent = User.objects.filter(role="agent", queues__isnull=False).distinct().order_by("pk").first()
    manager = User.objects.filter(role__in=["manager", "admin"]).order_by("pk").first()
    customers = (
        User.objects.filter(role="customer", is_active=True)
        .annotate(n=Count("requested_tickets"))
        .filter(n__gt=0)
        .order_by("n", "pk")
    )
    few = customers.first()
    many = customers.last()
    if not (agent and manager and few and many):
        raise SystemExit("needs an agent in a queue, a manager and customers with tickets")
    return {"agent": agent, "manager": manager, "customer-few": few, "customer-many": many}


def ticket_urls(user: User, n: int = 30) -> list[str]:
    """The ticket pages of the first `n` rows of the user's "all" list (the
    ids bench/peer/compare.py times on both products)."""
    ids = selectors.ticket_list_for_user(user=user).order_by("-updated_at", "-id").values_list("pk", flat=True)[:n]
    return [f"/agent/tickets/{pk}/" for pk in ids]


def cases(who: dict[str, User]) -> list[tuple[str, list[str], User]]:
    return [
        ("agent-mine", ["/agent/tickets/?view=mine"], who["agent"]),
        ("agent-all", ["/agent/tickets/?view=all"], who["agent"]),
        ("manager-all", ["/agent/tickets/?view=all"], who["manager"]),
        ("agent-unassigned", ["/agent/tickets/?view=unassigned"], who["agent"]),
        # bench/peer/compare.py's search-common and search-rare (the rare word is planted by compare.py)
        ("agent-search-common", ["/agent/tickets/?view=all&q=error"], who["agent"]),
        ("agent-search-rare", ["/agent/tickets/?view=all&q=quokka"], who["agent"]),
        ("agent-ticket", ticket_urls(who["agent"]), who["agent"]),
        ("manager-ticket", ticket_urls(who["manager"]), who["manager"]),
        ("customer-few", ["/portal/"], who["customer-few"]),
        ("customer-many", ["/portal/"], who["customer-many"]),
    ]


def show_queries(url: str, user: User, explain: bool) -> None:
    """Every statement of one (warm) request with its time; with `explain`
    also EXPLAIN ANALYZE of each SELECT."""
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    print(f"\n{url}: {len(ctx.captured_queries)} statements")
    for q in ctx.captured_queries:
        print(f"  {float(q['time']) * 1000:7.2f} ms  {q['sql'][:220]}")
        if explain and q["sql"].lstrip().upper().startswith("SELECT"):
            with connection.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                for (line,) in cur.fetchall():
                    print("      " + line)


def time_case(urls: list[str], user: User, n: int) -> tuple[list[float], list[float], list[float], int]:
    client = Client()
    client.force_login(user)
    totals, sqls, cpus, queries = [], [], [], 0
    for i in range(n + 3):
        url = urls[i % len(urls)]
        timer = SqlTimer()
        with connection.execute_wrapper(timer):
            c0, t0 = time.process_time(), time.perf_counter()
            response = client.get(url)
            total, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        if i >= 3:  # warm-up
            totals.append(total)
            sqls.append(timer.ms)
            cpus.append(cpu)
            queries = max(queries, timer.count)
    return totals, sqls, cpus, queries


def calls_per_request(urls: list[str], user: User, n: int = 5) -> int:
    """Python function calls per request (cProfile's count): deterministic,
    so it compares runs made at different loads."""
    client = Client()
    client.force_login(user)
    for url in urls[:n]:
        client.get(url)
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        client.get(urls[i % len(urls)])
    prof.disable()
    return round(pstats.Stats(prof).total_calls / n)  # type: ignore[attr-defined]


def explain_customer(user: User) -> None:
    qs = selectors.ticket_list_for_user(user=user).order_by("-updated_at", "-id")[:26]
    print(f"\nEXPLAIN ANALYZE, My requests of {user.email} ({Ticket.objects.filter(requester=user).count()} requested)")
    print(qs.explain(analyze=True, buffers=True))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--profile", default="")
    parser.add_argument("--only", default="")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--queries", default="", help="CASE: list the statements of one request")
    parser.add_argument("--explain-queries", action="store_true", help="with --queries: EXPLAIN ANALYZE each")
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    who = users()
    print(f"database {connection.settings_dict['NAME']}: {Ticket.objects.count():,} tickets; load {os.getloadavg()}")
    if args.explain:
        explain_customer(who["customer-few"])
    heads = ("total p50/p95", "SQL p50/p95", "rest p50/p95", "CPU p50/p95", "queries", "calls/req")
    print(f"{'case':18} " + " ".join(f"{h:>15}" for h in heads))
    for label, urls, user in cases(who):
        if args.only and label not in args.only.split(","):
            continue
        if label == args.queries:
            show_queries(urls[0], user, args.explain_queries)
            continue
        if label == args.profile:
            client = Client()
            client.force_login(user)
            for url in urls:
                client.get(url)
            prof = cProfile.Profile(time.process_time)  # CPU, not the wait for SQL or a core
            prof.enable()
            for i in range(20):
                client.get(urls[i % len(urls)])
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(35)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
            continue
        totals, sqls, cpus, queries = time_case(urls, user, args.n)
        py = [t - s for t, s in zip(totals, sqls, strict=True)]
        calls = calls_per_request(urls, user)
        print(
            f"{label:18} {statistics.median(totals):7.1f}/{pct(totals, 0.95):<7.1f}"
            f"{statistics.median(sqls):6.1f}/{pct(sqls, 0.95):<6.1f}"
            f"{statistics.median(py):7.1f}/{pct(py, 0.95):<7.1f}"
            f"{statistics.median(cpus):7.1f}/{pct(cpus, 0.95):<7.1f} {queries:8} {calls:9,}",
            flush=True,
        )
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
