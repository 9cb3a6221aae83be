"""Event log: plain vs partitioned by month (bench/PARTITIONS.md, docs/event-partitions.md).

    .venv/bin/python bench/partitions_bench.py setup --events 10000000 --tickets 500000
    .venv/bin/python bench/partitions_bench.py measure --label plain
    .venv/bin/python bench/partitions_bench.py convert
    .venv/bin/python bench/partitions_bench.py measure --label partitioned

`setup` (re)creates the database BENCH_DB (default helpdesk_partitions_bench),
migrates it, drops the event table's FKs to tickets/users (the bench has
no ticket rows; the queries measured never join them) and fills the event
log set-based, spread evenly over 24 months of `recorded_at`. `convert`
runs the real `events_partition --convert`. `measure` times, through the
ORM and the queries the application issues:
- inserts: single-row `TicketEvent.objects.create` (the services' path)
  and `bulk_create` of 1,000 (the importer's path), for a few seconds each;
- the event feed (`/api/v1/events/`, manager: id > cursor, id order, 500),
  from a random cursor and from the newest rows, and the feed of one ticket;
- the ticket timeline query (ticket_id = X order by occurred_at, id).
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = os.environ.get("BENCH_DB", "helpdesk_partitions_bench")
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = URL
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
    import django

    django.setup()


def _psql(sql: str, db: str = DB) -> str:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


FILL = """
INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, actor_role, occurred_at, visibility, is_automated,
                                 data, recorded_at)
SELECT 1 + (g::bigint * 7919) %% {tickets},
       (ARRAY['ticket.created','message.created','status.changed','assignee.changed','priority.changed'])[1 + g %% 5],
       NULL, 'agent', t, '', false, jsonb_build_object('n', g), t
FROM generate_series({lo}, {hi}) g,
     LATERAL (SELECT now() - interval '730 days' + (g::float8 / {events}) * interval '730 days' AS t) x
"""


def setup(events: int, tickets: int, chunk: int = 1_000_000) -> None:
    _psql(f'DROP DATABASE IF EXISTS "{DB}"', db="postgres")
    _psql(f'CREATE DATABASE "{DB}"', db="postgres")
    env = {**os.environ, "DATABASE_URL": URL, "DJANGO_SECRET_KEY": "bench"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    _psql(
        "DO $$ DECLARE c record; BEGIN FOR c IN SELECT conname FROM pg_constraint"
        " WHERE conrelid = 'tickets_ticketevent'::regclass AND contype = 'f' LOOP"
        " EXECUTE format('ALTER TABLE tickets_ticketevent DROP CONSTRAINT %I', c.conname); END LOOP; END $$"
    )
    started = time.monotonic()
    for lo in range(1, events + 1, chunk):
        hi = min(lo + chunk - 1, events)
        _psql(FILL.replace("%%", "%").format(tickets=tickets, lo=lo, hi=hi, events=events))
        print(f"{hi:,} events, {time.monotonic() - started:.0f} s", flush=True)
    _psql("VACUUM ANALYZE tickets_ticketevent")


def _timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _row(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(f"{name:<48} n={len(ms):<4} p50 {statistics.median(ms):8.2f} ms   p95 {p95:8.2f} ms", flush=True)


def _insert_rates(seconds: float) -> None:
    from django.utils import timezone

    from tickets.models import TicketEvent

    def make(i: int) -> TicketEvent:
        return TicketEvent(ticket_id=1 + i % 1000, kind="status.changed", actor_role="agent", data={"i": i})

    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        TicketEvent.objects.create(ticket_id=1 + n % 1000, kind="status.changed", actor_role="agent", data={"n": n})
        n += 1
    print(f"{'insert, one row per statement (autocommit)':<48} {n / (time.perf_counter() - t0):10.0f} rows/s")
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        TicketEvent.objects.bulk_create([make(n + i) for i in range(1000)])
        n += 1000
    print(f"{'insert, bulk_create of 1,000':<48} {n / (time.perf_counter() - t0):10.0f} rows/s")
    del timezone


def measure(label: str, repeat: int, seconds: float) -> None:
    _django()
    from django.db import connection

    from tickets.models import TicketEvent

    with connection.cursor() as cur:
        cur.execute("SELECT count(*), max(id), max(ticket_id) FROM tickets_ticketevent")
        count, top, tickets = cur.fetchone()
    print(f"== {label}: {count:,} events, {tickets:,} tickets; load {os.getloadavg()}", flush=True)
    rnd = random.Random(7)

    def feed(after: int, ticket_id: int | None = None) -> None:
        qs = TicketEvent.objects.filter(id__gt=after).order_by("id")
        if ticket_id is not None:
            qs = qs.filter(ticket_id=ticket_id)
        list(qs[:501])

    _row("feed, 500 after a random id", _timed(lambda: feed(rnd.randrange(top)), repeat))
    _row("feed, 500 after the newest - 500", _timed(lambda: feed(top - 500), repeat))
    _row(
        "feed of one ticket, after a random id",
        _timed(lambda: feed(rnd.randrange(top), rnd.randrange(tickets)), repeat),
    )

    def timeline() -> None:
        list(TicketEvent.objects.filter(ticket_id=rnd.randrange(1, tickets)).order_by("occurred_at", "id"))

    _row("timeline of one ticket (all its events)", _timed(timeline, repeat))

    def last_30_days_by_kind() -> None:
        from datetime import timedelta

        from django.db.models import Count
        from django.utils import timezone

        since = timezone.now() - timedelta(days=30)
        list(TicketEvent.objects.filter(recorded_at__gte=since).values("kind").annotate(n=Count("id")))

    _row("count by kind, last 30 days (recorded_at)", _timed(last_30_days_by_kind, max(3, repeat // 10)))
    _insert_rates(seconds)


def convert() -> None:
    _django()
    from django.core.management import call_command

    t0 = time.monotonic()
    call_command("events_partition", "--convert", "--batch", "200000")
    print(f"conversion: {time.monotonic() - t0:.0f} s", flush=True)
    _psql("ANALYZE tickets_ticketevent")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--events", type=int, default=10_000_000)
    s.add_argument("--tickets", type=int, default=500_000)
    m = sub.add_parser("measure")
    m.add_argument("--label", default="run")
    m.add_argument("--repeat", type=int, default=50)
    m.add_argument("--seconds", type=float, default=10)
    sub.add_parser("convert")
    args = parser.parse_args()
    if args.cmd == "setup":
        setup(args.events, args.tickets)
    elif args.cmd == "measure":
        measure(args.label, args.repeat, args.seconds)
    else:
        convert()


if __name__ == "__main__":
    main()
