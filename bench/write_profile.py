"""Profile one API create and one API reply (issue 22): queries and time per
event subscriber, plus the request's total. Runs in-process with Django's
test client against BENCH_DB (which bench/api_bench.py has set up).

    BENCH_DB=helpdesk_writepath_bench .venv/bin/python bench/write_profile.py [--repeat 50]
"""

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from functools import wraps
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "helpdesk_writepath_bench"))
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--cprofile", metavar="PREFIX", help="also write PREFIX-create.prof and PREFIX-reply.prof")
    parser.add_argument("--only", choices=("create", "reply", "bulk"), help="profile one of them")
    parser.add_argument("--bulk-size", type=int, default=50, help="tickets per create-many request (bulk)")
    args = parser.parse_args()
    os.environ.update(
        {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.db}",
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-not-secret"),
            "DJANGO_DEBUG": "false",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "HELPDESK_API_RATE_WRITE": "10000000/min",
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"),
        }
    )
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from apikeys.services import api_token_create
    from tickets import subscribers
    from tickets.models import RequestType, Ticket

    spent: dict[str, list[float]] = defaultdict(list)
    queries: dict[str, list[int]] = defaultdict(list)

    def timed(name: str, fn: Any) -> Any:
        @wraps(fn)
        def run(*a: Any, **kw: Any) -> Any:
            before = len(connection.queries_log)
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[name].append(1000 * (time.perf_counter() - t0))
                queries[name].append(len(connection.queries_log) - before)

        return run

    for sub in list(subscribers._registry.values()):
        subscribers._registry[sub.name] = sub.__class__(
            sub.name, timed(sub.name, sub.handler), sub.topic, sub.phase, sub.kinds, sub.order
        )
    from tickets import search

    for mod, name in ((search, "ticket_search_refresh"),):
        setattr(mod, name, timed(f"{mod.__name__}.{name}", getattr(mod, name)))
    try:
        from tickets import routing

        routing.ticket_route_on_create = timed("tickets.routing.ticket_route_on_create", routing.ticket_route_on_create)
    except ImportError:
        pass

    customer = User.objects.get(email="bench-customer@bench.test")
    agent = User.objects.get(email="bench-agent@bench.test")
    rt = RequestType.objects.get(slug="bench-type")
    client = Client(HTTP_HOST="localhost")
    ctok = api_token_create(user=customer, name="profile").key
    atok = api_token_create(user=agent, name="profile").key
    open_ids = list(
        Ticket.objects.filter(queue=rt.queue, status__in=["new", "open", "pending"])
        .order_by("id")
        .values_list("id", flat=True)[: args.repeat]
    )

    def create() -> Any:
        body = {"subject": "Profile", "body": "Profile ticket", "request_type": rt.slug}
        return client.post(
            "/api/v1/tickets/", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {ctok}"
        )

    def create_many() -> Any:
        items = [{"subject": "Profile", "body": "Profile ticket", "request_type": rt.slug}] * args.bulk_size
        return client.post(
            "/api/v1/tickets/create-many/",
            json.dumps({"tickets": items}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {ctok}",
        )

    def reply(i: int) -> Any:
        return client.post(
            f"/api/v1/tickets/{open_ids[i % len(open_ids)]}/reply/",
            json.dumps({"body": "Profile reply"}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {atok}",
        )

    def backend_cpu_ms() -> float:
        """CPU time of this connection's PostgreSQL backend so far (same host)."""
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    import cProfile

    runs = (("create", lambda i: create()), ("reply", reply), ("bulk", lambda i: create_many()))
    for label, call in runs:
        if (args.only or "create reply") != label and label not in (args.only or "create reply").split():
            continue
        call(0)  # warm up: first-request imports and caches are not per-request cost
        profiler = cProfile.Profile(time.process_time) if args.cprofile else None  # CPU, not wall
        spent.clear()
        queries.clear()
        totals, counts = [], []
        cpu0, pg0 = time.process_time(), backend_cpu_ms()
        for i in range(args.repeat):
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                if profiler is not None:
                    profiler.enable()
                resp = call(i)
                if profiler is not None:
                    profiler.disable()
                totals.append(1000 * (time.perf_counter() - t0))
            if resp.status_code != 201:
                raise SystemExit(f"{label}: {resp.status_code} {resp.content[:300]!r}")
            counts.append(len(ctx.captured_queries))
            if i == args.repeat - 1:
                sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
                print(f"\n{label}: last request's {len(ctx.captured_queries)} queries ({sql_ms:.1f} ms SQL):")
                for q in ctx.captured_queries:
                    print(f"  {float(q['time']) * 1000:6.2f} ms  {q['sql'][:150]}")
        py_ms = 1000 * (time.process_time() - cpu0) / args.repeat
        pg_ms = (backend_cpu_ms() - pg0) / args.repeat
        print(
            f"{label}: CPU per request: {py_ms:.1f} ms Python + {pg_ms:.1f} ms PostgreSQL backend "
            f"= {py_ms + pg_ms:.1f} ms (load-independent-ish; 2 cores => at most {2000 / (py_ms + pg_ms):.0f}/s)"
        )
        if label == "bulk":
            print(f"bulk: {(py_ms + pg_ms) / args.bulk_size:.2f} ms CPU per ticket ({args.bulk_size} per request)")
        print(
            f"{label}: median {statistics.median(totals):.1f} ms per request, "
            f"{statistics.median(counts):.0f} queries (over {args.repeat})"
        )
        if profiler is not None:
            profiler.dump_stats(f"{args.cprofile}-{label}.prof")
            import pstats

            calls = pstats.Stats(profiler).total_calls  # type: ignore[attr-defined]
            print(f"{label}: {calls / args.repeat:.0f} Python calls per request (cProfile)")
        for name in sorted(spent, key=lambda n: -statistics.median(spent[n])):
            print(
                f"  {name:45} median {statistics.median(spent[name]):6.2f} ms  {statistics.median(queries[name]):.0f} q"
            )


if __name__ == "__main__":
    main()
