"""Run `manage.py metrics_rebuild --reset --inline --processes N` on BENCH_DB and print the
load-independent figures beside the wall time: CPU seconds of the command (user+sys of it and its
children, from getrusage), of every PostgreSQL backend of the database (sampled from /proc by
`import_bench.BackendCPU`, so the cell chunks' extra connections count too), peak RSS and the load.

    BENCH_DB=helpdesk_bench_copy .venv/bin/python bench/rebuild_bench.py [--processes 2] [--tree DIR]

--tree runs another code tree's manage.py (e.g. a `git archive` of main) for a before/after on the
same database (bench/METRICS.md, "Third round").
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_bench import PY, ROOT, BackendCPU, psql


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--as-of", help="fixed evaluation instant (ISO 8601), to compare two trees' rows")
    parser.add_argument("--tree", default=str(ROOT), help="code tree whose manage.py runs")
    args = parser.parse_args()
    db = os.environ.get("BENCH_DB", "helpdesk_bench")
    host = os.environ.get("PGHOST", "127.0.0.1")
    user = os.environ.get("PGUSER", "postgres")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{user}@{host}:5432/{db}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    load_before = os.getloadavg()
    sampler = BackendCPU(db)
    sampler.start()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    cmd = [PY, "manage.py", "metrics_rebuild", "--reset", "--inline", "--processes", str(args.processes)]
    if args.as_of:
        cmd += ["--as-of", args.as_of]
    out = subprocess.run(cmd, cwd=args.tree, env=env, check=True, capture_output=True, text=True).stdout
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    pg_cpu = sampler.total()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cells = int(psql(db, "SELECT count(*) FROM metrics_dashboardrollup"))
    events = int(psql(db, "SELECT count(*) FROM tickets_ticketevent"))
    load = f"load {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}"
    print(out.strip().splitlines()[-1])
    print(
        f"BENCH rebuild ({args.tree}): {seconds:.1f} s wall = {events / seconds:,.0f} events/s, {cells:,} cells; "
        f"CPU command {cpu:.1f} s, PostgreSQL backends {pg_cpu:.1f} s; peak RSS {after.ru_maxrss / 1024:.0f} MB; {load}"
    )


if __name__ == "__main__":
    main()
