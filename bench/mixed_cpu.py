"""CPU per request of each kind in `make loadtest`'s mix (issue #22, mixed
load), by process: gunicorn, the Celery worker (the tasks a write enqueues),
PostgreSQL (the backends of the database), Redis and the client itself.

Starts gunicorn and a Celery worker the way scripts/loadtest.sh does, on a
database that `make loadtest` (seed_demo) already filled, then for each kind
sends N requests back to back from one client (the same URLs, forms and
headers as bench/loadtest/locustfile.py, redirects followed as locust does) and
reads each process's user+system time from /proc before and after. After the
last request it waits until the worker's queue is empty and its CPU is quiet,
so the tasks a write enqueued are in the figure. The processes' idle rates
(beat, polls) are measured first and taken off. CPU time does not grow with
the wait for a core that wall times suffer on a shared machine.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_load REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/mixed_cpu.py --port 8456 --n 200 [--kinds "api list,agent list"] \\
        [--web-workers 2] [--threads 1] [--locust-csv load_stats.csv]

`--locust-csv` weights the kinds by the request counts of a locust run (the
`*_stats.csv` of `make loadtest`) and prints the weighted CPU per request and
the capacity it leaves on 2 cores. The environment is scripts/loadtest.sh's
(DJANGO_DEBUG=false, base settings).
"""

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg2
import requests

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parents[1])
TICK = os.sysconf("SC_CLK_TCK")
PASSWORD = os.environ.get("LOADTEST_PASSWORD", "demo-pass-123")
ENV = {
    "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "loadtest-only-not-a-secret",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_SECURE_COOKIES": "false",
    "DJANGO_SECURE_HSTS_SECONDS": "0",
    "EMAIL_URL": "dummymail://",
}


# --- /proc ---------------------------------------------------------------


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def proc_cpu(pid: int) -> float:
    """User + system seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def tree(pid: int) -> list[int]:
    """The process and its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                children = Path(f"/proc/{p}/task/{tid}/children").read_text().split()
                todo.extend(int(c) for c in children)
        except FileNotFoundError:
            pass
    return out


class Meter:
    """CPU seconds per group of processes (groups are re-read each time: a
    PostgreSQL backend may come and go)."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups

    def read(self) -> dict[str, dict[int, float]]:
        return {name: {p: proc_cpu(p) for p in pids()} for name, pids in self.groups.items()}

    @staticmethod
    def delta(a: dict[str, dict[int, float]], b: dict[str, dict[int, float]]) -> dict[str, float]:
        return {name: sum(cpu - a[name].get(p, 0.0) for p, cpu in b[name].items()) for name in b}


def pg_backends(dsn: str, dbname: str) -> Callable[[], list[int]]:
    conn = psycopg2.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True

    def pids() -> list[int]:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [dbname],
            )
            return [r[0] for r in cur.fetchall()]

    return pids


def redis_pid(port: int) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"redis-server .*:{port}"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


# --- the servers ---------------------------------------------------------


def start_servers(port: int, workers: int, threads: int, preload: bool) -> tuple[subprocess.Popen, subprocess.Popen]:
    env = {**os.environ, **ENV}
    venv = ROOT / ".venv/bin"
    beat_file = str(Path(tempfile.gettempdir()) / f"mixed-cpu-beat-{port}")
    worker = subprocess.Popen(
        [str(venv / "celery"), "-A", "helpdesk", "worker", "-B", "-s", beat_file,
         "-l", "warning", "--concurrency", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    web_cmd = [str(venv / "gunicorn"), "helpdesk.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}",
               "--access-logfile", "/dev/null"]  # fmt: skip
    if threads > 1:
        web_cmd += ["--threads", str(threads)]
    if preload:
        web_cmd += ["--preload"]
    web = subprocess.Popen(web_cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(120):
        try:
            requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=30)
            break
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.5)
    return web, worker


# --- the clients (bench/loadtest/locustfile.py) ----------------------------


def session_client(host: str, email: str) -> requests.Session:
    s = requests.Session()
    s.get(f"{host}/accounts/login/")
    s.post(
        f"{host}/accounts/login/",
        {"email": email, "password": PASSWORD, "csrfmiddlewaretoken": s.cookies.get("csrftoken", "")},
        headers={"Referer": f"{host}/accounts/login/"},
    )
    return s


def post_form(s: requests.Session, host: str, path: str, data: dict[str, Any]) -> requests.Response:
    data = {**data, "csrfmiddlewaretoken": s.cookies.get("csrftoken", "")}
    return s.post(f"{host}{path}", data, headers={"Referer": f"{host}{path}"})


def api_token(dsn: str) -> str:
    env = {**os.environ, **ENV, "DATABASE_URL": dsn}
    code = (
        "from accounts.models import User\nfrom apikeys.services import api_token_create\n"
        "print(api_token_create(user=User.objects.get(email='customer@example.com'), name='mixed-cpu').key)"
    )
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


def kinds(host: str, token: str) -> dict[str, Callable[[], requests.Response]]:
    agent = session_client(host, "agent@example.com")
    customer = session_client(host, "customer@example.com")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    ticket_ids = [row["id"] for row in agent.get(f"{host}/api/v1/tickets/?limit=50").json()["results"]]
    body = customer.get(f"{host}/api/v1/request-types/").json()
    request_types = [row["id"] for row in (body.get("results", body) if isinstance(body, dict) else body)]
    words = ["refund", "password", "invoice", "error"]
    return {
        "agent list": lambda: agent.get(f"{host}/agent/tickets/"),
        "agent ticket page": lambda: agent.get(f"{host}/agent/tickets/{random.choice(ticket_ids)}/"),
        "agent search": lambda: agent.get(f"{host}/agent/tickets/?q={random.choice(words)}"),
        "agent reply (note)": lambda: post_form(
            agent,
            host,
            f"/agent/tickets/{random.choice(ticket_ids)}/reply/",
            {"body": "Thanks, looking into it.", "visibility": "internal"},
        ),
        "portal my requests": lambda: customer.get(f"{host}/portal/"),
        "kb search": lambda: customer.get(f"{host}/kb/search/?q={random.choice(words[:3])}"),
        "portal new request": lambda: post_form(
            customer,
            host,
            "/portal/new/",
            {
                "subject": "Load test request",
                "description": "Generated by make loadtest.",
                "request_type": random.choice(request_types),
            },
        ),
        "api list": lambda: api.get(f"{host}/api/v1/tickets/?page_size=25"),
        "api create": lambda: api.post(
            f"{host}/api/v1/tickets/",
            json={"subject": "API load test", "body": "Generated by make loadtest.", "request_type": "billing"},
        ),
    }


# --- measuring -------------------------------------------------------------


def queue_empty(redis_url: str) -> bool:
    import redis

    client = redis.Redis.from_url(redis_url)
    queues = ("default", "mail", "outbox", "metrics", "long_running")  # helpdesk/celery.py QUEUES
    return all(
        client.llen(f"{q}{sep}{pri}") == 0
        for q in queues
        for sep, pri in (("", ""), ("\x06\x16", 3), ("\x06\x16", 6), ("\x06\x16", 9))
    )


def settle(meter: Meter, broker: str, idle: dict[str, float]) -> None:
    """Until the broker's lists are empty and the worker is back at its idle rate."""
    for _ in range(60):
        a = meter.read()
        time.sleep(0.5)
        d = Meter.delta(a, meter.read())
        if queue_empty(broker) and d["worker"] <= idle["worker"] * 0.5 + 0.01:
            return


def measure(meter: Meter, call: Callable[[], requests.Response], n: int, broker: str, idle: dict[str, float]) -> dict:
    for _ in range(min(20, n)):  # warm: connections, per-process caches of this kind
        call().raise_for_status()
    settle(meter, broker, idle)
    start, t0, c0 = meter.read(), time.monotonic(), time.process_time()
    for _ in range(n):
        r = call()
        r.raise_for_status()
    client = time.process_time() - c0
    settle(meter, broker, idle)
    elapsed = time.monotonic() - t0
    d = Meter.delta(start, meter.read())
    out = {name: max(0.0, d[name] - idle[name] * elapsed) * 1000 / n for name in d}
    out["client"] = client * 1000 / n
    return out


def idle_rates(meter: Meter, seconds: float) -> dict[str, float]:
    a = meter.read()
    time.sleep(seconds)
    return {k: v / seconds for k, v in Meter.delta(a, meter.read()).items()}


def locust_weights(path: str) -> dict[str, int]:
    with open(path) as fh:
        return {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(fh) if row["Name"] != "Aggregated"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8456)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--kinds", default="")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--preload", action="store_true")
    parser.add_argument("--locust-csv", default="")
    parser.add_argument("--idle", type=float, default=20, help="seconds to measure the idle rates")
    args = parser.parse_args()
    dsn = os.environ["DATABASE_URL"]
    broker = os.environ["REDIS_URL"]
    host = f"http://127.0.0.1:{args.port}"
    token = api_token(dsn)
    web, worker = start_servers(args.port, args.web_workers, args.threads, args.preload)
    try:
        run(args, web, worker, host, dsn, broker, token)
    finally:
        for proc in (web, worker):
            proc.terminate()
        for proc in (web, worker):
            proc.wait(timeout=30)


def run(args: argparse.Namespace, web: subprocess.Popen, worker: subprocess.Popen, host: str, dsn: str,
        broker: str, token: str) -> None:  # fmt: skip
    dbname = urllib.parse.urlparse(dsn).path.lstrip("/")
    redis_port = urllib.parse.urlparse(broker).port or 6379
    if True:
        meter = Meter(
            {
                "web": lambda: tree(web.pid),
                "worker": lambda: tree(worker.pid),
                "postgres": pg_backends(dsn, dbname),
                "redis": lambda: redis_pid(redis_port),
            }
        )
        calls = kinds(host, token)
        for _ in range(60):  # start-up: imports, beat's first due tasks
            if idle_rates(meter, 2)["worker"] < 0.02:
                break
        idle = idle_rates(meter, args.idle)
        print(f"# load {loadavg()}; idle ms/s: "
              + ", ".join(f"{k} {v * 1000:.1f}" for k, v in idle.items()))  # fmt: skip
        wanted = [k.strip() for k in args.kinds.split(",") if k.strip()] or list(calls)
        cols = ["web", "postgres", "worker", "redis", "client"]
        print("| kind | " + " | ".join(cols) + " | server total | load |")
        print("|---|" + "---:|" * (len(cols) + 2))
        results = {}
        for name in wanted:
            res = measure(meter, calls[name], args.n, broker, idle)
            results[name] = res
            total = res["web"] + res["postgres"] + res["worker"] + res["redis"]
            load = loadavg()
            print(f"| {name} | " + " | ".join(f"{res[c]:.1f}" for c in cols) + f" | {total:.1f} | {load} |", flush=True)
        if args.locust_csv:
            weights = locust_weights(args.locust_csv)
            shared = {k: w for k, w in weights.items() if k in results}
            total_w = sum(shared.values())
            server = sum(w * sum(results[k][c] for c in cols[:4]) for k, w in shared.items()) / total_w
            print(f"weighted server CPU per request: {server:.1f} ms over {total_w} requests of {len(shared)} kinds")
            print(f"2 cores / that: {2000 / server:.0f} requests/s before the load generator")


if __name__ == "__main__":
    sys.exit(main())
