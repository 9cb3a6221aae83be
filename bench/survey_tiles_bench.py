"""The dashboard's survey tiles (CES, NPS: `metrics.dashboard.surveys.survey_tiles`) alone, issue 22.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_surveyfacts_bench \\
      .venv/bin/python bench/survey_tiles_bench.py [--repeat 20] [--days 30,90,365] [--queue ID]

Runs `survey_tiles` for ranges ending today (with and without a queue filter) in the code of the
current directory (run it from another checkout to measure that version) and prints per range:
wall p50 / p95 ms, Python CPU ms per call, PostgreSQL backend CPU ms per call (the leader's: parallel
workers not counted), statements per call (the survey statements; savepoint statements excluded by Django).
Data: `bench/metrics_bench.py --generate N --ces-nps` then `manage.py metrics_rebuild --reset --inline`
(bench/DASHBOARD.md "Survey tiles from survey facts").
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from metrics import dashboard  # noqa: E402
from metrics.dashboard.build import DASHBOARD_SESSION_SQL  # noqa: E402
from metrics.dashboard.surveys import survey_tiles  # noqa: E402
from metrics.services import reporting_zone  # noqa: E402


def _backend_cpu() -> float:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tiles(scope: dashboard.Scope) -> None:
    """As the page reads them: in the dashboard's read transaction with its planner settings."""
    from django.db import transaction

    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(DASHBOARD_SESSION_SQL)
        survey_tiles(scope)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--days", default="30,90,365")
    ap.add_argument("--queue", default=None)
    args = ap.parse_args()
    zone = reporting_zone()
    today = timezone.now().astimezone(zone).date()
    print(f"load {os.getloadavg()}")
    for days in [int(d) for d in args.days.split(",")]:
        period = dashboard.Period(today - timedelta(days=days - 1), today, zone)
        for label, extra in (("none", {}), ("queue", {"queue_id": args.queue} if args.queue else None)):
            if extra is None:
                continue
            scope = dashboard.Scope(period=period, **extra)
            statements: list[str] = []

            def count(execute, sql, params, many, context, statements=statements):
                statements.append(sql)
                return execute(sql, params, many, context)

            tiles(scope)  # warm
            walls, cpus, pgs = [], [], []
            with connection.execute_wrapper(count):
                for _ in range(args.repeat):
                    pg0, cpu0, t0 = _backend_cpu(), time.process_time(), time.perf_counter()
                    tiles(scope)
                    walls.append((time.perf_counter() - t0) * 1000)
                    cpus.append((time.process_time() - cpu0) * 1000)
                    pgs.append((_backend_cpu() - pg0) * 1000)
            n = len(walls)
            p95 = sorted(walls)[max(0, round(0.95 * n) - 1)]
            per_call = (len(statements) - 3 * n) / n  # minus the two pid probes and the SET per call
            print(
                f"{days:>3} d filter={label:<5} wall p50 {statistics.median(walls):8.1f} ms  p95 {p95:8.1f} ms"
                f"  python cpu {statistics.mean(cpus):7.1f} ms  pg cpu {statistics.mean(pgs):7.1f} ms"
                f"  statements {per_call:.0f}  (n={n})"
            )


if __name__ == "__main__":
    main()
