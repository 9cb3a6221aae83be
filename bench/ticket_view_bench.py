"""Server cost of viewing the agent ticket page (issue #22), in-process
through the test client, on an existing database (read only):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench \\
        .venv/bin/python bench/ticket_view_bench.py [--n 60] [--sets newest,long,spread]
        [--statements] [--explain] [--profile SET]

Ticket sets, as the first agent who is a queue member (the user
bench/peer/compare.py signs in) or `--user EMAIL`:
  newest  the 50 tickets of the agent's API list's first page (`-id`: the
          ids compare.py's "ticket-page" row times on both products);
  spread  50 tickets of the agent's queues at random places of the table;
  long    the 20 tickets of the agent's queues with the longest histories
          (most events, messages included);
  busy    20 tickets of the 5 requesters with the most tickets (the
          "Other requests from ..." card).

For each set: p50/p95 of the whole response (wall), of the SQL inside it
(every statement timed by a `connection.execute_wrapper`), of the process
CPU time of the request (the Python time proper: waiting for PostgreSQL or
for a core is not in it), the statement count (max) and the events shown.
`--statements` prints each statement's median time over the set (numbers in
the SQL masked, so one line per statement shape), `--explain` EXPLAIN
(ANALYZE, BUFFERS) of each SELECT of one ticket of the set: how the cost
of each statement relates to the size of the table. `--profile SET`:
cProfile (CPU clock) of 20 requests of that set, by own time.
The first `--warmup` requests of each set are not timed (fragment caches,
rendered message bodies), so the figures are those of a warm worker.
"""

import argparse
import cProfile
import os
import pstats
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("HELPDESK_2FA_REQUIRED_ROLES", "")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from tickets import selectors  # noqa: E402
from tickets.models import Ticket, TicketEvent  # noqa: E402

NUMBERS = re.compile(r"\b\d+\b|'[^']*'")


class Statements:
    """Times every statement of the requests it wraps."""

    def __init__(self) -> None:
        self.request: list[tuple[str, float]] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.request.append((sql, (time.perf_counter() - t0) * 1000))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * p))]


def ticket_sets(user: User, seed: int) -> dict[str, list[int]]:
    visible = selectors.ticket_list_for_user(user=user, include_hidden=True)
    newest = list(visible.order_by("-id").values_list("pk", flat=True)[:50])
    top = visible.order_by("-pk").values_list("pk", flat=True).first() or 0
    rnd = random.Random(seed)
    spread: list[int] = []
    for _ in range(200):
        pk = visible.filter(pk__gte=rnd.randint(1, top)).order_by("pk").values_list("pk", flat=True).first()
        if pk is not None and pk not in spread:
            spread.append(pk)
        if len(spread) == 50:
            break
    queues = list(selectors.queue_list_for_user(user=user).values_list("pk", flat=True))
    long = list(
        TicketEvent.objects.filter(ticket__queue__in=queues, ticket__is_spam=False, ticket__is_deleted=False)
        .values("ticket_id")
        .annotate(n=Count("id"))
        .order_by("-n", "ticket_id")
        .values_list("ticket_id", flat=True)[:20]
    )
    # The "Other requests from ..." card: tickets of the requesters with the
    # most tickets (their card had to find 10 visible ones among them).
    busy_requesters = list(
        Ticket.objects.values("requester_id")
        .annotate(n=Count("id"))
        .order_by("-n", "requester_id")
        .values_list("requester_id", flat=True)[:5]
    )
    busy = list(
        visible.filter(requester_id__in=busy_requesters, queue__in=queues)
        .order_by("-id")
        .values_list("pk", flat=True)[:20]
    )
    return {"newest": newest, "spread": spread, "long": long, "busy": busy}


def forget_rendered() -> None:
    """A worker's first view of a ticket: no rendered fragment or message
    body in the process or in Redis (REDIS_URL: a bench-only db)."""
    from django.core.cache import cache

    from helpdesk.lib import markdown
    from tickets.templatetags import fragment_cache

    fragment_cache.LOCAL.clear()
    rendered = getattr(markdown, "RENDERED", None)
    if rendered is not None:
        rendered.clear()
    cache.clear()


def run_set(
    client: Client, ids: list[int], n: int, warmup: int, *, cold: bool = False, first: bool = False
) -> dict[str, Any]:
    """`first`: each ticket once, after `warmup` views of other tickets
    (the worker has rendered pages before, not this ticket's)."""
    walls, sqls, cpus, counts = [], [], [], []
    by_shape: dict[str, list[float]] = defaultdict(list)
    if first:
        others = [pk for pk in ticket_sets_cache["spread"] if pk not in ids][:warmup]
        for pk in others:
            client.get(f"/agent/tickets/{pk}/", secure=True)
        warmup, n = 0, len(ids)
    calls = 0
    for i in range(n + warmup):
        url = f"/agent/tickets/{ids[i % len(ids)]}/"
        if cold:
            forget_rendered()
        timer = Statements()
        with connection.execute_wrapper(timer):
            c0, t0 = time.process_time(), time.perf_counter()
            response = client.get(url, secure=True)
            wall, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        if i < warmup:
            continue
        walls.append(wall)
        cpus.append(cpu)
        sqls.append(sum(ms for _, ms in timer.request))
        counts.append(len(timer.request))
        for sql, ms in timer.request:
            by_shape[NUMBERS.sub("?", sql)[:160]].append(ms)
    if not first:  # Python calls per request (cProfile's count: deterministic, unlike times)
        prof = cProfile.Profile()
        for i in range(10):
            prof.enable()
            client.get(f"/agent/tickets/{ids[i % len(ids)]}/", secure=True)
            prof.disable()
        calls = round(pstats.Stats(prof).total_calls / 10)  # type: ignore[attr-defined]
    return {"wall": walls, "sql": sqls, "cpu": cpus, "count": counts, "shapes": by_shape, "calls": calls}


ticket_sets_cache: dict[str, list[int]] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=0, help="untimed requests per set (default: one per ticket)")
    parser.add_argument("--sets", default="newest,spread,long,busy")
    parser.add_argument("--user", default="", help="e-mail of the staff user (default: compare.py's agent)")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--statements", action="store_true")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--profile", default="")
    parser.add_argument(
        "--first", action="store_true", help="each ticket viewed once, after views of other tickets (compare.py's case)"
    )
    parser.add_argument(
        "--cold", action="store_true", help="forget rendered fragments and bodies before each request (a first view)"
    )
    args = parser.parse_args()
    settings.ALLOWED_HOSTS = ["*"]
    staff = User.objects.filter(role="agent", is_active=True, queues__isnull=False).distinct().order_by("pk")
    user = User.objects.filter(email=args.user).first() if args.user else staff.first()
    if user is None:
        raise SystemExit("needs an agent in a queue")
    client = Client()
    client.force_login(user)
    sets = ticket_sets(user, args.seed)
    ticket_sets_cache.update(ticket_sets(user, args.seed + 1))
    print(
        f"database {connection.settings_dict['NAME']}: {Ticket.objects.count():,} tickets, "
        f"{TicketEvent.objects.count():,} events; user {user.email}; load {os.getloadavg()[0]:.2f}"
    )
    heads = ("wall p50/p95", "SQL p50/p95", "CPU p50/p95", "stmts", "events/ticket", "calls/req")
    print(f"{'set':8} " + " ".join(f"{h:>15}" for h in heads))
    for name in args.sets.split(","):
        ids = sets[name]
        if name == args.profile:
            for pk in ids:
                client.get(f"/agent/tickets/{pk}/", secure=True)
            prof = cProfile.Profile(time.process_time)
            for i in range(20):
                if args.cold:
                    forget_rendered()
                prof.enable()
                client.get(f"/agent/tickets/{ids[i % len(ids)]}/", secure=True)
                prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(40)
            continue
        r = run_set(client, ids, args.n, args.warmup or len(ids), cold=args.cold, first=args.first)
        events = statistics.median(TicketEvent.objects.filter(ticket_id=pk).count() for pk in ids[: min(len(ids), 20)])
        print(
            f"{name:8} {statistics.median(r['wall']):7.1f}/{pct(r['wall'], 0.95):<7.1f}"
            f"{statistics.median(r['sql']):7.1f}/{pct(r['sql'], 0.95):<7.1f}"
            f"{statistics.median(r['cpu']):7.1f}/{pct(r['cpu'], 0.95):<7.1f}"
            f"{max(r['count']):6} {events:12.0f} {r['calls']:10,}",
            flush=True,
        )
        if args.statements:
            for shape, times in sorted(r["shapes"].items(), key=lambda kv: -statistics.median(kv[1])):
                print(f"    {statistics.median(times):6.2f} ms  x{len(times) / args.n:4.1f}  {shape}")
    if args.explain:
        run_explain(client, sets)
    print(f"load after: {os.getloadavg()[0]:.2f}")


def run_explain(client: Client, sets: dict[str, list[int]]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of each SELECT of the page, for the first
    ticket of each set: the statements are captured with their parameters
    (CaptureQueriesContext interpolates them) and explained one by one."""
    from django.test.utils import CaptureQueriesContext

    for name, ids in sets.items():
        with CaptureQueriesContext(connection) as ctx:
            client.get(f"/agent/tickets/{ids[0]}/", secure=True)
        print(f"\n== {name}: /agent/tickets/{ids[0]}/ ({len(ctx.captured_queries)} statements)")
        with connection.cursor() as cursor:
            for q in ctx.captured_queries:
                sql = q["sql"]
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
                plan = cursor.fetchone()[0][0]
                top = plan["Plan"]
                buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
                print(
                    f"  {plan['Execution Time']:7.3f} ms  buffers {buffers:5}"
                    f"  rows {top.get('Actual Rows', 0):5}  {top['Node Type']:18} {sql[:120]}"
                )


if __name__ == "__main__":
    main()
