"""Time seed_demo / import_tickets on a fresh PostgreSQL database and print
duration, peak memory (RSS of the command) and the database size.

    .venv/bin/python bench/import_bench.py seed 100000
    .venv/bin/python bench/gen_jsonl.py 1000000 /tmp/bench_1m.jsonl
    .venv/bin/python bench/import_bench.py import /tmp/bench_1m.jsonl

Environment: BENCH_DB (default helpdesk_bench; dropped and re-created!),
PGHOST/PGUSER (default 127.0.0.1/postgres), REDIS_URL (default
redis://127.0.0.1:6379/14 so metrics wake-ups are queued, not run in-process:
use a Redis db no worker listens on, so the figures are the import's alone).

Besides wall time it prints the load-independent figures: CPU seconds of the
command (user+sys, from getrusage) and of its PostgreSQL backends (sampled
from /proc every 0.5 s by their `postgres: user DB host` process title; a
backend's last half second can be missed), plus the load average before/after.
"""

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")


def psql(db: str, sql: str) -> str:
    host = os.environ.get("PGHOST", "127.0.0.1")
    user = os.environ.get("PGUSER", "postgres")
    out = subprocess.run(
        ["psql", "-h", host, "-U", user, "-d", db, "-tAc", sql], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


class BackendCPU(threading.Thread):
    """CPU seconds of the PostgreSQL backends serving database `db`."""

    def __init__(self, db: str):
        super().__init__(daemon=True)
        self.marker = f" {db} ".encode()
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as fh:
                        cmd = fh.read()
                    if not cmd.startswith(b"postgres: ") or self.marker not in cmd:
                        continue
                    with open(f"/proc/{pid}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                    self.seen[pid] = (int(fields[11]) + int(fields[12])) / self.tick
                except OSError:
                    continue
            self.stop.wait(0.5)

    def total(self) -> float:
        self.stop.set()
        self.join()
        return sum(self.seen.values())


def manage(env: dict[str, str], *args: str) -> float:
    started = time.monotonic()
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["seed", "import"])
    parser.add_argument("arg", help="number of tickets (seed) or JSONL file (import)")
    parser.add_argument("--keep", action="store_true", help="do not re-create the database")
    args = parser.parse_args()
    db = os.environ.get("BENCH_DB", "helpdesk_bench")
    host = os.environ.get("PGHOST", "127.0.0.1")
    user = os.environ.get("PGUSER", "postgres")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{user}@{host}:5432/{db}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
    }
    if not args.keep:
        psql("postgres", f"DROP DATABASE IF EXISTS {db}")
        psql("postgres", f"CREATE DATABASE {db}")
        manage(env, "migrate", "-v0")
    if args.mode == "import":
        code = "from tickets import config; from tickets.importing import demo; config.config_apply(demo.demo_config())"
        manage(env, "shell", "-c", code)
    load_before = os.getloadavg()
    sampler = BackendCPU(db)
    sampler.start()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    if args.mode == "seed":
        seconds = manage(env, "seed_demo", "--tickets", args.arg)
    else:
        seconds = manage(env, "import_tickets", args.arg)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    pg_cpu = sampler.total()
    load_after = os.getloadavg()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak_mb = after.ru_maxrss / 1024
    tickets = int(psql(db, "SELECT count(*) FROM tickets_ticket"))
    events = int(psql(db, "SELECT count(*) FROM tickets_ticketevent"))
    messages = int(psql(db, "SELECT count(*) FROM tickets_message"))
    size = int(psql(db, f"SELECT pg_database_size('{db}')"))
    load = "load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(*load_before, *load_after)
    print(
        f"BENCH {args.mode} {args.arg}: {seconds:.1f} s wall, peak RSS {peak_mb:.0f} MB, "
        f"{tickets:,} tickets, {events:,} events ({events / seconds:,.0f}/s), {messages:,} messages, "
        f"database {size / 1e9:.2f} GB\n"
        f"BENCH CPU: command {cpu:.1f} s ({cpu / max(tickets, 1) * 1000:.3f} ms/ticket), "
        f"PostgreSQL backends {pg_cpu:.1f} s ({pg_cpu / max(tickets, 1) * 1000:.3f} ms/ticket); {load}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
