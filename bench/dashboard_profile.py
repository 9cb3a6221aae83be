"""Where the manager dashboard's time goes: per statement, Python vs PostgreSQL CPU (issue 22).

    BENCH_DB=helpdesk_bench_x .venv/bin/python bench/dashboard_profile.py --days 30,90,365 --repeat 10
    BENCH_DB=... .venv/bin/python bench/dashboard_profile.py --days 90 --filter kind --explain

Runs `metrics.dashboard.dashboard_build` in-process (no view, no template) for ranges ending
today, unfiltered / one queue / one kind, and prints per call site (the dashboard function that
issued the statement) the median wall time and rows returned, then per run the Python CPU
(time.process_time of this process) and the PostgreSQL backend's CPU (utime + stime of the
backend from /proc, same machine), which do not depend on the machine's load the way wall
time does. `--explain` prints EXPLAIN (ANALYZE, BUFFERS) of each statement of the last run.
"""

import argparse
import os
import statistics
import sys
import time
import traceback
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = os.environ.get("BENCH_DB", "helpdesk_dash_bench")
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.test")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")

TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    """Seconds of CPU the backend has used (user + system)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def call_site() -> str:
    label = ""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if frame.name in ("_fetch", "_agent_fetch"):  # shared readers: name their caller too
            label = f">{frame.name}"
            continue
        name = frame.filename
        if ("/metrics/" in name or "/tickets/" in name) and not name.endswith(("dashboard/db.py", "wrapper.py")):
            if frame.name in ("_run", "_tuples", "_rows", "_run_plain"):
                continue
            return f"{Path(name).parent.name}/{Path(name).name}:{frame.name}{label}{_cohort_label(frame.name)}"
    return "?"


def _cohort_label(function: str) -> str:
    """`[cohort]` for a per-cohort statement (one site per cohort, not their sum)."""
    if function != "_cohort_result_sql":
        return ""
    frame = sys._getframe()
    while frame is not None:
        if frame.f_code.co_name == function:
            return f"[{frame.f_locals.get('cohort')}]"
        frame = frame.f_back  # type: ignore[assignment]
    return ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", default="30,90,365")
    parser.add_argument(
        "--filter", default="none,queue,kind", help="comma-separated: none, queue, kind, agent, my (My stats' scope)"
    )
    parser.add_argument("--agent", default=os.environ.get("BENCH_AGENT", ""), help="agent id (default: the busiest)")
    parser.add_argument("--queue", default=os.environ.get("BENCH_QUEUE", ""))
    parser.add_argument("--kind", default="support")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    from metrics import dashboard
    from metrics.services import reporting_zone

    zone = reporting_zone()
    today = dashboard.local_today(zone)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        if not args.queue:  # the busiest queue
            cur.execute("SELECT queue_id FROM metrics_ticketmetrics GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
            args.queue = str(cur.fetchone()[0])
        if not args.agent:  # the busiest resolver
            cur.execute(
                "SELECT resolver_id FROM metrics_ticketmetrics WHERE resolver_id IS NOT NULL"
                " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
            )
            args.agent = str(cur.fetchone()[0])
    print(f"database {DB}; zone {zone}; {args.repeat} runs after 1 warm-up; load {os.getloadavg()[0]:.2f}")

    for days in (int(d) for d in args.days.split(",")):
        for flt in args.filter.split(","):
            extra: dict[str, Any] = {}
            if flt == "queue":
                extra["queue_id"] = int(args.queue)
            elif flt == "kind":
                extra["kind"] = args.kind
            elif flt in ("agent", "my"):
                extra["agent_id"] = int(args.agent)
                extra["with_agents"] = flt == "agent"
            scope = dashboard.Scope(
                period=dashboard.Period(today - timedelta(days=days - 1), today, zone),
                bucket="week" if days > 62 else "day",
                **extra,
            )
            per_site: dict[str, list[float]] = defaultdict(list)
            rows_site: dict[str, int] = {}
            sqls: dict[str, tuple[str, Any]] = {}
            walls, pys, pgs, nq = [], [], [], 0
            for i in range(args.repeat + 1):
                stmts: list[tuple[str, float, str, Any, int]] = []

                def wrapper(execute, sql, params, many, context, stmts=stmts):  # type: ignore[no-untyped-def]
                    t0 = time.perf_counter()
                    out = execute(sql, params, many, context)
                    dt = time.perf_counter() - t0
                    cur = context["cursor"]
                    stmts.append((call_site(), dt, sql, params, cur.rowcount))
                    return out

                cpu0, pg0, w0 = time.process_time(), backend_cpu(pid), time.perf_counter()
                with connection.execute_wrapper(wrapper):
                    dashboard.dashboard_build(scope=scope)
                w1, pg1, cpu1 = time.perf_counter(), backend_cpu(pid), time.process_time()
                if i == 0:
                    continue
                walls.append((w1 - w0) * 1000)
                pgs.append((pg1 - pg0) * 1000)
                sql_wall = sum(s[1] for s in stmts)
                pys.append((cpu1 - cpu0) * 1000)
                nq = len(stmts)
                agg: dict[str, float] = defaultdict(float)
                for site, dt, sql, params, rc in stmts:
                    agg[site] += dt * 1000
                    rows_site[site] = rc
                    sqls[site] = (sql, params)
                for site, ms in agg.items():
                    per_site[site].append(ms)
            print(
                f"\n{days} d, filter {flt}: wall p50 {statistics.median(walls):.1f} ms "
                f"(max {max(walls):.1f}); PG backend CPU {statistics.mean(pgs):.1f} ms/run; "
                f"Python process CPU {statistics.mean(pys):.1f} ms/run (incl. client-side of {nq} statements); "
                f"SQL wall {sql_wall * 1000:.1f} ms last run; load {os.getloadavg()[0]:.2f}"
            )
            ranked = sorted(per_site.items(), key=lambda kv: -statistics.median(kv[1]))
            for site, ms in ranked[: args.top]:
                print(f"   {statistics.median(ms):8.2f} ms  rows {rows_site[site]:>6}  {site}")
            if args.explain:
                for site, _ in ranked[: args.top]:
                    sql, params = sqls[site]
                    if not sql.lstrip().upper().startswith(("SELECT", "WITH", "(")):
                        continue
                    from django.db import transaction

                    with transaction.atomic(), connection.cursor() as cur:
                        cur.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
                        if "dashboard/rollup.py" in site:  # as `hash_grouping` does
                            cur.execute("SET LOCAL enable_sort = off")
                        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                        plan = "\n".join(r[0] for r in cur.fetchall())
                    print(f"\n--- {site}\n{plan}")


if __name__ == "__main__":
    main()
