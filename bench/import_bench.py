"""Time seed_demo / import_tickets on a fresh PostgreSQL database and print
duration, peak memory (RSS of the command) and the database size.

    .venv/bin/python bench/import_bench.py seed 100000
    .venv/bin/python bench/gen_jsonl.py 1000000 /tmp/bench_1m.jsonl
    .venv/bin/python bench/import_bench.py import /tmp/bench_1m.jsonl

Environment: BENCH_DB (default helpdesk_bench; dropped and re-created!),
PGHOST/PGUSER (default 127.0.0.1/postgres), REDIS_URL (default
redis://127.0.0.1:6379/14 so metrics wake-ups are queued, not run in-process).
"""

import argparse
import os
import resource
import subprocess
import sys
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
    if args.mode == "seed":
        seconds = manage(env, "seed_demo", "--tickets", args.arg)
    else:
        code = "from tickets import config; from tickets.importing import demo; config.config_apply(demo.demo_config())"
        manage(env, "shell", "-c", code)
        seconds = manage(env, "import_tickets", args.arg)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    tickets = int(psql(db, "SELECT count(*) FROM tickets_ticket"))
    events = int(psql(db, "SELECT count(*) FROM tickets_ticketevent"))
    messages = int(psql(db, "SELECT count(*) FROM tickets_message"))
    size = int(psql(db, f"SELECT pg_database_size('{db}')"))
    print(
        f"BENCH {args.mode} {args.arg}: {seconds:.1f} s wall, peak RSS {peak_mb:.0f} MB, "
        f"{tickets:,} tickets, {events:,} events ({events / seconds:,.0f}/s), {messages:,} messages, "
        f"database {size / 1e9:.2f} GB",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
