"""Metrics benchmark: rebuild throughput and aggregate query time.

Usage (own database; generates data only when asked):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_h3_bench \
      .venv/bin/python bench/metrics_bench.py --generate 20000 --days 180

1. --generate N: writes N synthetic tickets (about 10 events each, spread over
   --days days) as import JSONL and loads them with `import_tickets` (after
   `helpdesk_config apply` of the worked-example configuration).
2. Inline full rebuild (`metrics_rebuild --reset --inline --processes N` for each N
   of --processes, default 1; --escalate P moves P % of the tickets between kinds):
   wall events/s, load average, and the CPU seconds of the Python processes and of their
   PostgreSQL backends (printed by the command).
3. Aggregate queries over the last 90 days (durations with percentile_cont,
   CSAT, FCR, SLA): wall time per query, best of 5.
"""

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from metrics import selectors  # noqa: E402
from tickets.models import Ticket, TicketEvent  # noqa: E402

AGENTS = ["alice@acme.test", "bob@acme.test", "carol@acme.test"]


def iso(dt):
    return dt.isoformat()


def synthetic_line(i, start, rnd):
    created = start + timedelta(seconds=rnd.randint(0, 86400 * 170))
    agent = rnd.choice(AGENTS)
    t = created
    events = []

    def step(lo, hi):
        nonlocal t
        t = t + timedelta(seconds=rnd.randint(lo, hi))
        return iso(t)

    events.append({"at": step(60, 7200), "type": "assign", "to": agent})
    events.append({"at": iso(t), "type": "status", "to": "open"})
    at = step(60, 20000)
    events.append(
        {"at": at, "type": "message", "author": {"email": agent, "role": "agent"}, "visibility": "public", "body": "r"}
    )
    events.append({"at": at, "type": "status", "to": "pending"})
    at = step(600, 90000)
    events.append(
        {
            "at": at,
            "type": "message",
            "author": {"email": f"c{i}@example.com", "role": "customer"},
            "visibility": "public",
            "body": "c",
        }
    )
    events.append({"at": at, "type": "status", "to": "open"})
    s0 = t
    at = step(300, 30000)
    events.append(
        {
            "at": at,
            "type": "work_session",
            "agent": agent,
            "started_at": iso(s0),
            "ended_at": iso(s0 + timedelta(seconds=240)),
        }
    )
    events.append(
        {"at": at, "type": "message", "author": {"email": agent, "role": "agent"}, "visibility": "public", "body": "r2"}
    )
    events.append({"at": at, "type": "status", "to": "solved"})
    if rnd.random() < 0.6:
        events.append({"at": step(3600, 86400), "type": "survey_offered", "survey": "csat"})
        events.append({"at": step(60, 86400), "type": "csat", "scale": "1-5", "value": rnd.randint(1, 5)})
    return {
        "external_id": f"B-{i}",
        "queue": rnd.choice(["tier1", "tier2"]),
        "subject": "bench",
        "priority": rnd.choice(["normal", "normal", "high"]),
        "channel": "email",
        "requester": {"email": f"c{i}@example.com", "name": "C"},
        "created_at": iso(created),
        "created_by": {"email": f"c{i}@example.com", "role": "customer"},
        "description": "d",
        "events": events,
    }


def escalated(line, i, percent):
    """`percent` % of the tickets move to the other queue (tier1 service <-> tier2 support) a minute
    after the first reply; a third of those move back a minute after the customer's answer
    (segment attribution, docs/metrics.md section 1.8). Deterministic in i."""
    if i % 100 >= percent:
        return line
    other = "tier2" if line["queue"] == "tier1" else "tier1"
    events = line["events"]
    reply_at = datetime.fromisoformat(events[2]["at"])
    moves = [{"at": iso(reply_at + timedelta(seconds=60)), "type": "queue", "to": other, "reason": "bench"}]
    if i % 3 == 0:
        customer_at = datetime.fromisoformat(events[4]["at"])
        moves.append(
            {"at": iso(customer_at + timedelta(seconds=60)), "type": "queue", "to": line["queue"], "reason": "b"}
        )
    return {**line, "events": [*events, *moves]}


def with_ces_nps(line, i):
    """--ces-nps: a CES survey offered after the resolution of 60 % of the tickets (answered by
    half) and an NPS answer on 15 % (the dashboard's survey tiles, issue 22). Deterministic in i."""
    rnd = random.Random(i)
    events = list(line["events"])
    solved = datetime.fromisoformat(next(e["at"] for e in events if e.get("to") == "solved"))
    extra = []
    if rnd.random() < 0.6:
        offered = solved + timedelta(seconds=rnd.randint(3600, 86400))
        extra.append({"at": iso(offered), "type": "survey_offered", "survey": "ces"})
        if rnd.random() < 0.5:
            extra.append({"at": iso(offered + timedelta(seconds=rnd.randint(60, 86400))), "type": "ces",
                          "scale": "1-7", "value": rnd.randint(1, 7)})  # fmt: skip
    if rnd.random() < 0.15:
        extra.append({"at": iso(solved + timedelta(seconds=rnd.randint(3600, 172800))), "type": "nps",
                      "scale": "0-10", "value": rnd.randint(0, 10)})  # fmt: skip
    return {**line, "events": sorted([*events, *extra], key=lambda e: e["at"])}


def generate(n, seed=7, escalate=0, ces_nps=False):
    call_command(
        "helpdesk_config", "apply", str(ROOT / "tests/fixtures/metrics_examples/config.json"), stdout=io.StringIO()
    )
    rnd = random.Random(seed)
    start = datetime.now(tz=UTC) - timedelta(days=180)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for i in range(n):
            line = escalated(synthetic_line(i, start, rnd), i, escalate)
            f.write(json.dumps(with_ces_nps(line, i) if ces_nps else line) + "\n")
        path = f.name
    t0 = time.monotonic()
    call_command("import_tickets", path, "--batch-size", "2000", stdout=io.StringIO(), stderr=io.StringIO())
    print(f"import: {n} tickets in {time.monotonic() - t0:.1f} s")
    os.unlink(path)


def best_of(fn, k=5):
    times = []
    for _ in range(k):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000, sorted(times)[len(times) // 2] * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--generate", type=int, default=0)
    ap.add_argument("--escalate", type=int, default=0, help="percent of generated tickets moved between kinds")
    ap.add_argument("--skip-rebuild", action="store_true")
    ap.add_argument("--processes", default="1", help="comma-separated process counts to measure, e.g. 1,2")
    ap.add_argument("--skip-queries", action="store_true")
    ap.add_argument("--ces-nps", action="store_true", help="also CES offers/answers and NPS answers")
    args = ap.parse_args()
    if args.generate:
        generate(args.generate, escalate=args.escalate, ces_nps=args.ces_nps)
    tickets = Ticket.objects.count()
    events = TicketEvent.objects.count()
    print(f"data: {tickets} tickets, {events} events")
    if not args.skip_rebuild:
        for processes in [int(p) for p in args.processes.split(",")]:
            load = os.getloadavg()[0]
            t0 = time.monotonic()
            out = io.StringIO()
            call_command(
                "metrics_rebuild",
                "--reset",
                "--inline",
                "--processes",
                str(processes),
                stdout=out,
                stderr=io.StringIO(),
            )
            dt = time.monotonic() - t0
            print(
                f"rebuild --reset --inline --processes {processes} (load {load:.1f} -> {os.getloadavg()[0]:.1f}):"
                f" {dt:.1f} s = {events / dt:,.0f} events/s, {tickets / dt:,.0f} tickets/s"
            )
            print("  " + out.getvalue().strip().splitlines()[-1])
    if args.skip_queries:
        return
    with connection.cursor() as cur:
        cur.execute("ANALYZE metrics_ticketmetrics")
    end = datetime.now(tz=UTC)
    start = end - timedelta(days=90)
    queries = {
        "frt_cal_s n/mean/median/p90": lambda: selectors.duration_summary(metric="frt_cal_s", start=start, end=end),
        "full_resolution_bus_s": lambda: selectors.duration_summary(
            metric="full_resolution_bus_s", start=start, end=end
        ),
        "full_resolution_bus_s, one queue": lambda: selectors.duration_summary(
            metric="full_resolution_bus_s", start=start, end=end, queue_id=1
        ),
        "csat": lambda: selectors.csat_summary(start=start, end=end),
        "fcr": lambda: selectors.fcr_summary(start=start, end=end),
        "sla breach rate": lambda: selectors.sla_summary(start=start, end=end),
    }
    total = 0.0
    for name, fn in queries.items():
        best, median = best_of(fn)
        total += median
        print(f"query 90 days {name}: best {best:.1f} ms, median {median:.1f} ms")
    print(f"all six 90-day aggregates: {total:.1f} ms (sum of medians)")


if __name__ == "__main__":
    main()
