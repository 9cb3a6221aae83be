"""Load the REST API with gunicorn from a second process and print
throughput and latency percentiles.

    # a populated PostgreSQL database (e.g. 1,000,000 tickets):
    .venv/bin/python bench/gen_jsonl.py 1000000 /tmp/bench_1m.jsonl
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_h6_bench .venv/bin/python manage.py migrate
    DATABASE_URL=... .venv/bin/python manage.py import_tickets /tmp/bench_1m.jsonl
    # then:
    BENCH_DB=helpdesk_h6_bench .venv/bin/python bench/api_bench.py --seconds 20 --concurrency 8

What it does: creates (or reuses) a manager, an agent of the busiest queue
and a customer with API tokens in BENCH_DB; starts gunicorn (sync workers,
DJANGO_DEBUG off, throttles raised so the limiter does not cap the test);
then a separate load process runs keep-alive HTTP clients in threads for
each scenario and reports req/s and p50/p95/p99 (client-side, loopback).
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")


def env_for(db: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-not-secret"),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "HELPDESK_API_RATE_READ": "10000000/min",
        "HELPDESK_API_RATE_WRITE": "10000000/min",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"),
    }


SETUP = r"""
import json
from django.db.models import Count
from accounts.models import User
from apikeys.services import api_token_create
from tickets.models import Queue, RequestType, Ticket

queue = Queue.objects.annotate(n=Count("tickets")).order_by("-n").first()
if queue is None:
    raise SystemExit("the bench database has no tickets: import some first")
def user(email, role):
    u, _ = User.objects.get_or_create(email=email, defaults={"username": email, "role": role, "name": email})
    return u
manager = user("bench-manager@bench.test", "manager")
agent = user("bench-agent@bench.test", "agent")
customer = user("bench-customer@bench.test", "customer")
queue.members.add(agent)
rt, _ = RequestType.objects.get_or_create(slug="bench-type", defaults={"name": "Bench", "queue": queue})
# The write scenarios pay for the SLA like a real desk: the queue has a policy.
from tickets.models import SLAPolicy
hours = {"first_response": 4 * 3600, "next_reply": 8 * 3600, "resolution": 48 * 3600, "business_hours": False}
policy, _ = SLAPolicy.objects.get_or_create(
    name="bench-sla", defaults={"targets": {p: hours for p in ("low", "normal", "high", "urgent")}}
)
if queue.sla_policy_id is None:
    queue.sla_policy = policy
    queue.save(update_fields=["sla_policy"])
reply_to = list(
    Ticket.objects.filter(queue=queue, status__in=["new", "open", "pending"])
    .order_by("-id")
    .values_list("id", flat=True)[:400]
)
print(json.dumps({
    "tickets": Ticket.objects.count(),
    "queue": queue.slug,
    "queue_tickets": queue.n,
    "request_type": rt.slug,
    "reply_to": reply_to,
    "manager": api_token_create(user=manager, name="bench").key,
    "agent": api_token_create(user=agent, name="bench").key,
    "customer": api_token_create(user=customer, name="bench").key,
}))
"""


def setup(db: str) -> dict:
    out = subprocess.run(
        [PY, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env_for(db), check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_gunicorn(db: str, port: int, workers: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            GUNICORN,
            "helpdesk.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env_for(db),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/queues/")  # 401: cheap (the schema takes seconds under load)
            if conn.getresponse().status in (200, 401, 403):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("gunicorn did not start")


def start_worker(db: str) -> subprocess.Popen:
    """A Celery worker (one process) doing the after-commit work the writes
    enqueue: SLA refresh, notification rendering and sending (console
    backend, to /dev/null), metrics recompute, webhooks."""
    env = {**env_for(db), "EMAIL_URL": "consolemail://"}
    return subprocess.Popen(
        [
            PY,
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "worker",
            "--pool=solo",
            "-l",
            "warning",
            "-Q",
            "default,outbox,metrics",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def backlog(db: str) -> str:
    """What the worker still has to do after a run (dirty marks, unsent mail)."""
    code = (
        "from tickets.models import SLADirty; from metrics.models import MetricsDirty; "
        "from mail.models import Notification as N; "
        "print(SLADirty.objects.count(), MetricsDirty.objects.count(), N.objects.filter(status='pending').count())"
    )
    out = subprocess.run(
        [PY, "manage.py", "shell", "-c", code], cwd=ROOT, env=env_for(db), capture_output=True, text=True, check=True
    )
    sla, metrics, mail = out.stdout.strip().splitlines()[-1].split()
    return f"backlog: {sla} SLA marks, {metrics} metrics marks, {mail} pending notifications"


# --- the load process -------------------------------------------------------


def load(args: argparse.Namespace) -> None:
    """Run one scenario; print one JSON line with the figures."""
    scenario = json.loads(args.load)
    stop_at = time.monotonic() + args.seconds
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        conn = HTTPConnection("127.0.0.1", args.port, timeout=30)
        headers = {"Authorization": f"Bearer {scenario['token']}", "Content-Type": "application/json"}
        mine: list[float] = []
        bad: list[int] = []
        i = 0
        while time.monotonic() < stop_at:
            i += 1
            body = None
            path = scenario["path"]
            if scenario.get("paths"):  # spread over tickets: thread n takes every n-th one
                paths = scenario["paths"]
                path = paths[(n + i * args.concurrency) % len(paths)]
                body = json.dumps({"body": f"Bench reply {n}-{i}"})
            elif scenario.get("bulk"):  # create-many: `bulk` tickets per request
                rt = scenario["request_type"]
                items = [
                    {"subject": f"Bulk {n}-{i}-{j}", "body": "Load test ticket", "request_type": rt}
                    for j in range(scenario["bulk"])
                ]
                body = json.dumps({"tickets": items})
            elif scenario["method"] == "POST":
                body = json.dumps(
                    {"subject": f"Bench {n}-{i}", "body": "Load test ticket", "request_type": scenario["request_type"]}
                )
            started = time.perf_counter()
            conn.request(scenario["method"], path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status >= 300:
                bad.append(response.status)
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.concurrency)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    latencies.sort()

    def pct(p: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    print(
        json.dumps(
            {
                "requests": len(latencies),
                "errors": len(errors),
                "error_codes": sorted(set(errors)),
                "rps": len(latencies) / elapsed,
                "p50_ms": pct(0.50),
                "p95_ms": pct(0.95),
                "p99_ms": pct(0.99),
                "mean_ms": 1000 * statistics.fmean(latencies),
            }
        )
    )


def first_page(port: int, token: str, path: str) -> tuple[str, int]:
    """The path of the next page and the id of the newest ticket."""
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    body = json.loads(conn.getresponse().read())
    url = urllib.parse.urlsplit(body["next"])
    return f"{url.path}?{url.query}", body["results"][0]["id"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "helpdesk_h6_bench"))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument(
        "--only",
        choices=("all", "read", "write", "bulk"),
        default="all",
        help="write: create and reply only (issue 22); bulk: create-many only",
    )
    parser.add_argument("--bulk-size", type=int, default=50, help="tickets per create-many request")
    parser.add_argument("--worker", action="store_true", help="run a Celery worker beside the web workers")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load(args)
        return
    info = setup(args.db)
    print(
        f"database {args.db}: {info['tickets']:,} tickets; queue {info['queue']} has {info['queue_tickets']:,}; "
        f"gunicorn {args.workers} sync workers; {args.concurrency} client threads x {args.seconds:.0f} s each"
    )
    server = start_gunicorn(args.db, args.port, args.workers)
    worker = start_worker(args.db) if args.worker else None
    try:
        page2, newest = first_page(args.port, info["manager"], "/api/v1/tickets/?page_size=50")
        scenarios = [
            ("list, manager, first page (50)", "GET", "/api/v1/tickets/?page_size=50", info["manager"]),
            ("list, manager, second page (cursor)", "GET", page2, info["manager"]),
            (
                "list, manager, status=open&priority=high",
                "GET",
                "/api/v1/tickets/?status=open&priority=high",
                info["manager"],
            ),
            ("list, agent of the queue, unsolved", "GET", "/api/v1/tickets/?status=unsolved", info["agent"]),
            ("list, customer (own tickets)", "GET", "/api/v1/tickets/", info["customer"]),
            ("retrieve, manager", "GET", f"/api/v1/tickets/{newest}/", info["manager"]),
            ("events feed, manager, 500 after id 0", "GET", "/api/v1/events/?after=0&limit=500", info["manager"]),
        ]
        writes = [
            ("create, customer (request type)", "POST", "/api/v1/tickets/", info["customer"]),
            ("reply, agent of the queue (public)", "POST", "reply", info["agent"]),
        ]
        bulk = [(f"create-many, customer ({args.bulk_size} per request)", "POST", "bulk", info["customer"])]
        scenarios = {"all": scenarios + writes, "read": scenarios, "write": writes, "bulk": bulk}[args.only]
        print(f"{'scenario':45} {'req':>7} {'err':>5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for name, method, path, token in scenarios:
            paths = [f"/api/v1/tickets/{tid}/reply/" for tid in info["reply_to"]] if path == "reply" else []
            size = args.bulk_size if path == "bulk" else 0
            path = "/api/v1/tickets/create-many/" if path == "bulk" else path
            spec = json.dumps(
                {
                    "method": method,
                    "path": path,
                    "paths": paths,
                    "token": token,
                    "request_type": info["request_type"],
                    "bulk": size,
                }
            )
            out = subprocess.run(
                [
                    PY,
                    __file__,
                    "--load",
                    spec,
                    "--port",
                    str(args.port),
                    "--concurrency",
                    str(args.concurrency),
                    "--seconds",
                    str(args.seconds),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            codes = f" codes {r['error_codes']}" if r["errors"] else ""
            print(
                f"{name:45} {r['requests']:>7} {r['errors']:>5} {r['rps']:>8.1f} {r['p50_ms']:>8.1f} "
                f"{r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f}  load {os.getloadavg()[0]:.1f}{codes}",
                flush=True,
            )
            if size:
                print(f"{'':45} = {r['rps'] * size:.1f} tickets/s ({size} per request)", flush=True)
        if args.only in ("write", "bulk"):
            print(backlog(args.db), flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
