"""The manager dashboard's Python side: build vs presentation vs template, per request (issue 22).

    BENCH_DB=helpdesk_bench_x .venv/bin/python bench/dashboard_page_profile.py --days 30,90 --repeat 10
    BENCH_DB=... .venv/bin/python bench/dashboard_page_profile.py --days 30 --cprofile 25
    BENCH_DB=... .venv/bin/python bench/dashboard_page_profile.py --days 30 --html /tmp/page.html

Requests the page with the Django test client as a manager (ranges ending today; `--filter`
queue=N / kind=K / priority=P / channel=C) and prints, per run's median, the process CPU of the
whole request, of `dashboard_build` alone (wrapped) and of template rendering (`render`
wrapped), plus the response size and the statement count. CPU (time.process_time) does not
depend on the machine's load the way wall time does. `--cprofile N` prints the top N functions by
internal time over the runs; `--html` writes the last page (to diff two versions' output).
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = os.environ.get("BENCH_DB", "helpdesk_dash_bench")
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.test")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", default="30,90")
    parser.add_argument("--filter", default="", help="e.g. priority=normal or queue=1 (comma-separated)")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--cprofile", type=int, default=0)
    parser.add_argument("--html", default="")
    parser.add_argument("--dump", default="", help="write the cProfile stats to this file")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    import metrics.views as views
    from accounts.models import User
    from metrics import dashboard
    from metrics.services import reporting_zone

    spent: dict[str, float] = {"build": 0.0, "render": 0.0}

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*a: Any, **kw: Any) -> Any:
            c0 = time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                spent[name] += time.process_time() - c0

        return wrapper

    views.dashboard.dashboard_build = timed("build", dashboard.dashboard_build)  # type: ignore[attr-defined]
    views.render = timed("render", views.render)  # type: ignore[attr-defined]

    manager, _ = User.objects.get_or_create(email="bench-manager@acme.test", defaults={"role": "manager"})
    client = Client(HTTP_HOST="localhost")
    client.force_login(manager)
    today = dashboard.local_today(reporting_zone())
    extra = dict(kv.split("=", 1) for kv in args.filter.split(",") if kv)
    prof = cProfile.Profile() if args.cprofile else None
    load = os.getloadavg()[0]
    print(f"database {DB}; filter {extra or 'none'}; {args.repeat} runs after 2 warm-ups; load {load:.2f}")
    print(
        f"{'range':>6} {'page cpu':>9} {'build cpu':>10} {'render cpu':>11} {'rest cpu':>9} {'wall p50':>9}"
        f" {'KB':>6} {'stmts':>6}"
    )
    for days in (int(d) for d in args.days.split(",")):
        params = {"range": "custom", "start": str(today - timedelta(days=days - 1)), "end": str(today), **extra}
        page, build, render, wall = [], [], [], []
        body = b""
        for i in range(args.repeat + 2):
            spent.update(build=0.0, render=0.0)
            t0, c0 = time.perf_counter(), time.process_time()
            if prof and i >= 2:
                prof.enable()
            with CaptureQueriesContext(connection) as ctx:
                r = client.get("/manager/dashboard/", params)
            if prof and i >= 2:
                prof.disable()
            c1, t1 = time.process_time(), time.perf_counter()
            if r.status_code != 200:
                raise SystemExit(f"the dashboard answered {r.status_code}")
            body = r.content
            if i >= 2:
                page.append((c1 - c0) * 1000)
                build.append(spent["build"] * 1000)
                render.append(spent["render"] * 1000)
                wall.append((t1 - t0) * 1000)
        med = statistics.median
        print(
            f"{days:>5}d {med(page):>7.1f}ms {med(build):>8.1f}ms {med(render):>9.1f}ms"
            f" {med(page) - med(build) - med(render):>7.1f}ms {med(wall):>7.1f}ms {len(body) / 1024:>6.0f}"
            f" {len(ctx.captured_queries):>6}"
        )
        if args.html:
            Path(args.html.replace(".html", f"-{days}.html")).write_bytes(body)
    if prof:
        if args.dump:
            prof.dump_stats(args.dump)
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.cprofile)


if __name__ == "__main__":
    main()
