"""CPU of the bulk rebuild per phase, Python beside its PostgreSQL backend (one process, one
connection, so /proc/<backend pid>/stat holds all of the database's work): read events, fold and
COPY lines, COPY, deletes, index builds, dashboard cells (bench/METRICS.md, sixth round).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench_copy DJANGO_SECRET_KEY=x \\
      .venv/bin/python bench/rebuild_phases.py TREE [--as-of ISO] [--profile N]

TREE is the code tree to import (this checkout, or a `git archive` of main for a before / after on
the same database). `--profile N`: cProfile (CPU-time clock) of the first N ticket ids instead.
The metrics tables are emptied first, as by `metrics_rebuild --reset`.
"""

import argparse
import os
import sys
import time
from typing import Any

TCK = os.sysconf("SC_CLK_TCK")
acc: dict[str, list[float]] = {}


def add(key: str, py: float, pg: float, wall: float) -> None:
    a = acc.setdefault(key, [0.0, 0.0, 0.0, 0])
    a[0] += py
    a[1] += pg
    a[2] += wall
    a[3] += 1


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        x = f.read().rsplit(")", 1)[1].split()
    return (int(x[11]) + int(x[12])) / TCK


class TimedCursor:
    """The raw cursor of `_bulk_rebuild_batch`, timing each statement and COPY by kind."""

    def __init__(self, cur: Any, pid: int) -> None:
        self.cur, self.pid, self.rows = cur, pid, None

    def execute(self, sql: str, params: Any = None) -> Any:
        reading = sql.lstrip().startswith("SELECT ticket_id, id, kind")
        key = "read events" if reading else ("delete rows" if sql.startswith("DELETE") else "locks / dirty")
        p0, g0, w0 = time.process_time(), proc_cpu(self.pid), time.monotonic()
        out = self.cur.execute(sql, params)
        if reading:
            self.rows = self.cur.fetchall()
        add(key, time.process_time() - p0, proc_cpu(self.pid) - g0, time.monotonic() - w0)
        return out

    def fetchall(self) -> Any:
        if self.rows is not None:
            rows, self.rows = self.rows, None
            return rows
        return self.cur.fetchall()

    def copy_expert(self, sql: str, f: Any) -> Any:
        p0, g0, w0 = time.process_time(), proc_cpu(self.pid), time.monotonic()
        out = self.cur.copy_expert(sql, f)
        add("copy rows", time.process_time() - p0, proc_cpu(self.pid) - g0, time.monotonic() - w0)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cur, name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("tree")
    parser.add_argument("--as-of", default="2026-12-08T01:00:00+00:00")
    parser.add_argument("--profile", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, args.tree)
    os.chdir(args.tree)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
    import django

    django.setup()
    from datetime import datetime

    from django.db import connection

    from metrics import services

    def pg_cpu() -> float:
        with connection.cursor() as c:
            c.execute("SELECT pg_backend_pid()")
            return proc_cpu(c.fetchone()[0])

    original = services._bulk_rebuild_batch

    def batch(cur: Any, lo: int, hi: int, ctx: Any) -> Any:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        before = {k: list(v) for k, v in acc.items()}
        p0, g0, w0 = time.process_time(), proc_cpu(pid), time.monotonic()
        out = original(TimedCursor(cur, pid), lo, hi, ctx)
        total = (time.process_time() - p0, proc_cpu(pid) - g0, time.monotonic() - w0)
        inner = [sum(acc[k][i] - before.get(k, [0, 0, 0, 0])[i] for k in acc) for i in range(3)]
        add("fold + COPY lines (Python)", *(total[i] - inner[i] for i in range(3)))
        return out

    services._bulk_rebuild_batch = batch
    as_of = datetime.fromisoformat(args.as_of)
    services.metrics_reset()
    if args.profile:
        import cProfile
        import pstats

        lo = services.metrics_id_bounds()[0]
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        services.metrics_bulk_rebuild_range(lo=lo, hi=lo + args.profile, as_of=as_of)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(40)
        return
    t0 = (time.process_time(), pg_cpu(), time.monotonic())
    with connection.cursor() as cur:
        cur.execute("SET max_parallel_maintenance_workers = 0")
    dropped = services._bulk_indexes_drop()
    lo, hi = services.metrics_id_bounds()
    tickets, events = services.metrics_bulk_rebuild_range(lo=lo, hi=hi, as_of=as_of)
    t1 = (time.process_time(), pg_cpu(), time.monotonic())
    services._bulk_indexes_create(dropped)
    t2 = (time.process_time(), pg_cpu(), time.monotonic())
    add("index builds", *(t2[i] - t1[i] for i in range(3)))
    cells = services.metrics_rollups_rebuild(workers=1)
    t3 = (time.process_time(), pg_cpu(), time.monotonic())
    add("cells (rollup.rebuild)", *(t3[i] - t2[i] for i in range(3)))
    print(f"tickets {tickets} events {events} cells {cells} load {os.getloadavg()[0]:.1f}")
    print(f"{'phase':28s} {'py s':>8s} {'pg s':>8s} {'wall s':>8s} {'calls':>6s} {'py us/ev':>9s} {'pg us/ev':>9s}")
    for key, (py, pg, wall, n) in acc.items():
        print(f"{key:28s} {py:8.1f} {pg:8.1f} {wall:8.1f} {n:6d} {py / events * 1e6:9.1f} {pg / events * 1e6:9.1f}")
    py, pg = t3[0] - t0[0], t3[1] - t0[1]
    wall = t3[2] - t0[2]
    print(f"{'TOTAL':28s} {py:8.1f} {pg:8.1f} {wall:8.1f} {'':6s} {py / events * 1e6:9.1f} {pg / events * 1e6:9.1f}")


if __name__ == "__main__":
    main()
