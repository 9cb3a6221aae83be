"""Dashboard rollup reader: `metrics.dashboard.rollup.cohort_results` per scope (issue #22,
bench/PERF_SECOND_PASS.md). Read-only; run the same file against two checkouts to compare.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_cells_bench DJANGO_SECRET_KEY=x \\
      .venv/bin/python bench/rollup_read_bench.py [--repeat 7]

Per scope: wall p50 (min) and process CPU p50 in ms, statements, and the result rows the
statements returned (load-independent). Periods end on the newest ticket's local day.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, os.environ.get("BENCH_ROOT", str(Path(__file__).resolve().parent.parent)))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django

django.setup()

from datetime import timedelta  # noqa: E402

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from metrics import rollup  # noqa: E402
from metrics.dashboard import rollup as reader  # noqa: E402
from metrics.dashboard.period import Period, Scope  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    zone = rollup.cells_zone()
    with connection.cursor() as cur:
        cur.execute("SELECT max(created_at) FROM metrics_ticketmetrics")
        last = cur.fetchone()[0].astimezone(zone).date()
        cur.execute("SELECT queue_id FROM metrics_ticketmetrics GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        queue = cur.fetchone()[0]
    print(f"load {os.getloadavg()[0]:.2f}; periods end {last}; queue {queue}; module {reader.__file__}")
    for days in (30, 90, 180):
        period = Period(last - timedelta(days=days - 1), last, zone)
        for label, scope in (
            ("no filter", Scope(period=period)),
            (f"queue {queue}", Scope(period=period, queue_id=queue)),
            ("kind support", Scope(period=period, kind="support")),
        ):
            walls, cpus, stmts, rows = [], [], 0, 0
            for _ in range(args.repeat):
                with transaction.atomic(), reader.hash_grouping(), CaptureQueriesContext(connection) as q:
                    w, c = time.perf_counter(), time.process_time()
                    out = reader.cohort_results(scope)
                    walls.append((time.perf_counter() - w) * 1000)
                    cpus.append((time.process_time() - c) * 1000)
                stmts = len(q.captured_queries)
            rows = sum(len(r.cells) for r in out.values())
            print(
                f"{days:4d} d {label:14} wall p50 {statistics.median(walls):7.1f} (min {min(walls):6.1f}) ms"
                f"  cpu p50 {statistics.median(cpus):6.1f} ms  statements {stmts}  result cells {rows}"
            )
            if days == 90 and label == "no filter":  # a fingerprint, to compare two checkouts' numbers
                frt = out["frt"].cells[("all", "cur")]
                print("      90 d frt all:", {k: v for k, v in frt.items() if not k.endswith("pct")})


if __name__ == "__main__":
    main()
