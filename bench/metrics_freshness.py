"""Freshness: time from an event's commit to its ticket's updated metrics row.

Runs against its own database with a real Celery worker (started here, on a
Redis db of its own). Posts N public agent replies through the service at a
steady rate, round-robin over M tickets, and polls metrics_ticketmetrics
every 20 ms until each reply is counted; prints p50/p95/max.

    createdb -h 127.0.0.1 -U postgres helpdesk_fresh_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_fresh_bench \
    REDIS_URL=redis://127.0.0.1:6379/11 DJANGO_SECRET_KEY=bench \
      .venv/bin/python bench/metrics_freshness.py --events 1000 --rate 20
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402

from accounts.models import User  # noqa: E402
from tickets import services  # noqa: E402
from tickets.models import Queue  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--tickets", type=int, default=200)
    ap.add_argument("--rate", type=float, default=20.0, help="events per second")
    ap.add_argument("--concurrency", type=int, default=2, help="worker processes")
    args = ap.parse_args()

    call_command("migrate", verbosity=0)
    queue, _ = Queue.objects.get_or_create(slug="fresh", defaults={"name": "Fresh", "kind": "support"})
    agent, _ = User.objects.get_or_create(
        email="fresh-agent@acme.test", defaults={"username": "fresh-agent@acme.test", "role": "agent"}
    )
    customer, _ = User.objects.get_or_create(
        email="fresh-cust@example.com", defaults={"username": "fresh-cust@example.com"}
    )
    tickets = [
        services.ticket_create(subject=f"fresh {i}", body="x", queue=queue, requester=customer, actor=customer).pk
        for i in range(args.tickets)
    ]
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "worker",
            "-l",
            "warning",
            "--concurrency",
            str(args.concurrency),
            # No -Q: every queue of helpdesk/celery.py.
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"fresh-{os.getpid()}@%h",
        ],
        env=os.environ.copy(),
    )
    try:
        time.sleep(6)  # worker start + initial ticket recomputes
        pending: dict[int, tuple[int, float]] = {}  # ticket -> (expected replies, commit time)
        latencies: list[float] = []
        lock = threading.Lock()
        done = threading.Event()

        def poll() -> None:
            conn = connections.create_connection("default")
            conn.connect()
            while not done.is_set() or pending:
                with lock:
                    snapshot = dict(pending)
                if snapshot:
                    with conn.cursor() as cur:
                        cur.execute(
                            "SELECT ticket_id, public_agent_replies FROM metrics_ticketmetrics"
                            " WHERE ticket_id = ANY(%s)",
                            [list(snapshot)],
                        )
                        now = time.monotonic()
                        for tid, replies in cur.fetchall():
                            expected, t0 = snapshot[tid]
                            if replies is not None and replies >= expected:
                                with lock:
                                    if pending.get(tid, (None,))[0] == expected:
                                        del pending[tid]
                                        latencies.append(now - t0)
                time.sleep(0.02)
            conn.close()

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        counts = dict.fromkeys(tickets, 0)
        start = time.monotonic()
        for i in range(args.events):
            tid = tickets[i % len(tickets)]
            # One reply per ticket in flight, so each measurement is unambiguous.
            while True:
                with lock:
                    busy = tid in pending
                if not busy:
                    break
                time.sleep(0.005)
            services.message_post(ticket_id=tid, author=agent, body=f"reply {i}")
            counts[tid] += 1
            with lock:
                pending[tid] = (counts[tid], time.monotonic())
            delay = start + (i + 1) / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            time.sleep(0.1)
        done.set()
        poller.join(timeout=5)
        lat = sorted(latencies)
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else lat * 99
        print(
            f"freshness over {len(lat)} events at {args.rate}/s ({args.concurrency} worker processes, "
            f"load {os.getloadavg()[0]:.1f}): p50 {statistics.median(lat):.3f} s, p95 {q[94]:.3f} s, "
            f"max {lat[-1]:.3f} s; not counted: {len(pending)}"
        )
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        connection.close()


if __name__ == "__main__":
    main()
