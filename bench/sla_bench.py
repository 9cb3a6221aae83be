"""SLA breach scan benchmark (issue 7).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_sla_bench \
        .venv/bin/python bench/sla_bench.py [--tickets 1000000] [--open 50000] [--latency-seconds 200]

1. Creates (drops first) the database, migrates, bulk-generates N tickets with
   SQL (INSERT ... SELECT generate_series): `open` unsolved tickets with a
   `ticket.created` event and an SLA policy (first response 8 h, 24/7), their
   due instants spread over the next 7 days; the rest solved/closed.
2. Times `sla_breach_scan()`: nothing due (the every-minute common case), a
   typical minute (the tickets whose due instant falls in one minute), and a
   burst of 500 due at once; prints EXPLAIN of the claim query.
3. Latency: a real Celery worker with embedded beat (the schedule as
   configured) on Redis db 12; tickets whose first-response target falls due
   over the next minutes; reports recorded_at - due instant of each breach event.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sh(*args: str, env: dict | None = None) -> None:
    subprocess.run(args, check=True, cwd=ROOT, env=env)


def setup_db(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    base = url.rsplit("/", 1)[0] + "/postgres"
    import psycopg2

    conn = psycopg2.connect(base)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    sh(sys.executable, "manage.py", "migrate", "-v", "0", env={**os.environ, "DATABASE_URL": url})


def generate(n_tickets: int, n_open: int) -> None:
    from django.db import connection

    from accounts.models import User
    from tickets.models import Queue, SLAPolicy

    policy = SLAPolicy.objects.create(
        name="bench", targets={"normal": {"first_response": 8 * 3600, "business_hours": False}}
    )
    queue = Queue.objects.create(slug="bench", name="Bench", kind="support", sla_policy=policy)
    requester = User.objects.create_user(email="bench@example.com", password=None, role="customer")
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT column_name, data_type FROM information_schema.columns
            WHERE table_name = 'tickets_ticket' AND is_nullable = 'NO' AND column_default IS NULL
              AND is_generated = 'NEVER' AND is_identity = 'NO' AND column_name <> 'id'
            """
        )
        required = dict(cur.fetchall())
        # Open ticket i (0 <= i < n_open) is due at now + (i / n_open) * 7 days; created 8 h before.
        given = {
            "subject": "'Bench ticket ' || g",
            "queue_id": str(queue.pk),
            "kind": "'support'",
            "status": f"CASE WHEN g <= {n_open} THEN 'open' WHEN g % 2 = 0 THEN 'solved' ELSE 'closed' END",
            "priority": "'normal'",
            "channel": "'portal'",
            "requester_id": str(requester.pk),
            "import_digest": "''",
            "is_spam": "false",
            "is_deleted": "false",
            "created_at": "c",
            "updated_at": "c",
            "status_changed_at": "c",
        }
        defaults = {"boolean": "false", "integer": "0", "bigint": "0", "smallint": "0", "jsonb": "'{}'::jsonb"}
        cols, exprs = [], []
        for col, typ in required.items():
            cols.append(col)
            exprs.append(given.get(col) or defaults.get(typ) or ("now()" if "timestamp" in typ else "''"))
        for col in ("first_response_due_at", "sla_due_at", "sla_next_check_at", "solved_at"):
            cols.append(col)
            if col == "solved_at":
                exprs.append(f"CASE WHEN g > {n_open} THEN c + interval '1 hour' END")
            elif col == "sla_next_check_at":
                # The scan's next look: the breach (this bench skips the 75 % warning).
                exprs.append(f"CASE WHEN g <= {n_open} THEN c + interval '8 hours' END")
            else:
                exprs.append(f"CASE WHEN g <= {n_open} THEN c + interval '8 hours' END")
        t = time.monotonic()
        cur.execute(
            f"""
            INSERT INTO tickets_ticket ({", ".join(cols)})
            SELECT {", ".join(exprs)} FROM (
              SELECT g, CASE WHEN g <= {n_open}
                        THEN now() + (g::float / {n_open}) * interval '7 days' - interval '8 hours'
                        ELSE now() - interval '30 days' - g * interval '1 second' END AS c
              FROM generate_series(1, {n_tickets}) AS g) s
            """  # noqa: S608 - generated benchmark SQL, no user input
        )
        cur.execute(
            """
            INSERT INTO tickets_ticketevent (ticket_id, kind, actor_id, actor_role, occurred_at, visibility,
                                             is_automated, data, recorded_at)
            SELECT id, 'ticket.created', requester_id, 'customer', created_at, '', false,
                   jsonb_build_object('to', 'open', 'queue_id', queue_id, 'priority', 'normal',
                                      'created_by_role', 'customer', 'channel', 'portal'), created_at
            FROM tickets_ticket WHERE status = 'open'
            """
        )
        cur.execute("ANALYZE tickets_ticket")
        cur.execute("ANALYZE tickets_ticketevent")
        print(f"generated {n_tickets} tickets ({n_open} open) + events in {time.monotonic() - t:.1f} s")


def explain(now: datetime) -> None:
    from django.db import connection, transaction

    from tickets.models import Ticket

    qs = (
        Ticket.objects.select_for_update(skip_locked=True, no_key=True)
        .filter(sla_next_check_at__lte=now)
        .order_by("sla_next_check_at")
        .values_list("pk", flat=True)[:500]
    )
    with transaction.atomic(), connection.cursor() as cur:
        sql, params = qs.query.sql_with_params()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    print("claim query plan:\n" + plan)


def timed_scan(label: str, now: datetime) -> float:
    from tickets.sla_services import sla_breach_scan

    t = time.perf_counter()
    r = sla_breach_scan(now=now)
    dt = time.perf_counter() - t
    print(f"{label}: {dt * 1000:.1f} ms  (tickets {r.tickets}, warnings {r.warnings}, breaches {r.breaches})")
    return dt


def scan_bench(n_open: int) -> dict[str, float]:
    from django.utils import timezone

    now = timezone.now()
    out = {}
    explain(now)
    out["idle"] = min(timed_scan(f"scan, nothing due (run {i + 1})", now) for i in range(5))
    # A typical minute: the tickets whose next action falls within one minute.
    per_minute = n_open / (7 * 24 * 60)
    later = now + timedelta(minutes=10)
    out["minute"] = timed_scan(f"scan, one minute of due actions (~{per_minute:.1f} expected)", later)
    out["minute2"] = timed_scan("scan, the next minute", later + timedelta(minutes=1))
    # A burst: everything due within the next 500 * (7 d / n_open) at once.
    burst_to = later + timedelta(minutes=1) + timedelta(days=7) * 500 / n_open
    out["burst"] = timed_scan("scan, burst (~500 due at once)", burst_to)
    return out


def latency_bench(url: str, seconds: int) -> list[float]:
    """Real worker + embedded beat; tickets falling due over `seconds`."""
    from django.utils import timezone

    from tests.factories import CustomerFactory
    from tickets import services
    from tickets.models import Queue, SLAPolicy, TicketEvent

    policy, _ = SLAPolicy.objects.update_or_create(
        name="latency", defaults={"targets": {"normal": {"first_response": 600, "business_hours": False}}}
    )
    queue, _ = Queue.objects.update_or_create(
        slug="latency", defaults={"name": "Latency", "kind": "support", "sla_policy": policy}
    )
    import uuid

    email = f"latency-{uuid.uuid4().hex[:8]}@example.com"
    customer = CustomerFactory(email=email, username=email)
    now = timezone.now()
    n = 24
    ids = []
    for i in range(n):
        due = now + timedelta(seconds=15 + (seconds - 30) * i / (n - 1))
        t = services.ticket_create(
            subject=f"latency {i}",
            body="x",
            queue=queue,
            requester=customer,
            actor=customer,
            occurred_at=due - timedelta(seconds=600),
        )
        ids.append(t.pk)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": "redis://127.0.0.1:6379/12",
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
        "DJANGO_SECRET_KEY": "bench",
    }
    subprocess.run(["redis-cli", "-n", "12", "FLUSHDB"], check=False, capture_output=True)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "worker",
            "-B",
            "-s",
            "/tmp/sla-bench-beat-schedule",  # noqa: S108 - a throwaway bench file
            "--pool=solo",
            "-l",
            "warning",
            # No -Q: every queue of helpdesk/celery.py.
            "-n",
            f"sla-bench-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + seconds + 90
        while time.monotonic() < deadline:
            done = TicketEvent.objects.filter(ticket_id__in=ids, kind="sla.breached").count()
            if done == n:
                break
            time.sleep(2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    late = []
    for e in TicketEvent.objects.filter(ticket_id__in=ids, kind="sla.breached"):
        due = datetime.fromisoformat(e.data["due_at"].replace("Z", "+00:00"))
        late.append((e.recorded_at - due).total_seconds())
    print(f"breach events: {len(late)}/{n}")
    if late:
        late.sort()
        print(
            f"lateness (recorded_at - due): min {late[0]:.1f} s, median {statistics.median(late):.1f} s, "
            f"p90 {late[int(0.9 * (len(late) - 1))]:.1f} s, max {late[-1]:.1f} s"
        )
    return late


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=50_000)
    parser.add_argument("--latency-seconds", type=int, default=200)
    parser.add_argument("--skip-setup", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/helpdesk_sla_bench")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench")
    # Tasks go to a broker as in production (not run in-process on commit).
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
    if not args.skip_setup:
        setup_db(url)
    import django

    django.setup()
    if not args.skip_setup:
        generate(args.tickets, args.open)
    else:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # a kept bench DB follows the code
    print(f"started {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    scan_bench(args.open)
    if args.latency_seconds:
        latency_bench(url, args.latency_seconds)


if __name__ == "__main__":
    main()
