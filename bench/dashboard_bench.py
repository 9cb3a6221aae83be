"""Manager dashboard server time at 1,000,000 tickets (bench/README.md: < 300 ms p95 for 90 days).

    .venv/bin/python bench/dashboard_bench.py setup          # (re)create helpdesk_dash_bench, COPY 1M rows
    .venv/bin/python bench/dashboard_bench.py run [--repeat 20]

`setup` drops and re-creates BENCH_DB (default helpdesk_dash_bench), migrates
it and bulk-loads synthetic per-ticket metrics rows (metrics_ticketmetrics)
and status intervals (metrics_ticketstatusinterval) with COPY: tickets spread
uniformly over the last two years (~1,370 a day), 60 % support / 40 % service,
8 queues, 60 agents, log-normal durations, reopens, CSAT, SLA outcomes.
`run` times the whole page (Django test client, logged in as a manager: view,
every query, template) and `dashboard_build` alone for 30/90/365-day ranges
ending today, with and without a queue filter, and prints p50/p95 and the
number of SQL queries per page.
"""

import argparse
import io
import math
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = os.environ.get("BENCH_DB", "helpdesk_dash_bench")
HOST = os.environ.get("PGHOST", "127.0.0.1")
USER = os.environ.get("PGUSER", "postgres")
URL = f"postgres://{USER}@{HOST}:5432/{DB}"

TM_COLUMNS_TEXT = (
    "ticket_id definition_version computed_at as_of excluded excluded_reason created_at created_resolved queue_id "
    "kind priority channel status assignee_id first_reply_at first_replier_id frt_cal_s frt_bus_s first_resolved_at "
    "first_resolution_cal_s first_resolution_bus_s last_resolved_at resolver_id full_resolution_cal_s "
    "full_resolution_bus_s requester_wait_cal_s requester_wait_bus_s agent_wait_cal_s agent_wait_bus_s "
    "time_in_progress_cal_s time_in_progress_bus_s reopens substantive_reopens public_agent_replies fcr_eligible "
    "fcr zero_touch assignee_stations group_stations csat_offered csat_offered_at csat_at csat_value csat_score "
    "csat_satisfied csat_agent_id handle_s sla_first_reply_target_s sla_first_reply_outcome "
    "sla_first_reply_outcome_at sla_resolution_target_s sla_resolution_outcome sla_resolution_outcome_at data "
    "sla_next_reply_achieved sla_next_reply_breached"
)
TM_COLUMNS = TM_COLUMNS_TEXT.split(" ")


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": URL,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-secret"),
    }


def psql(sql: str, db: str = DB) -> str:
    out = subprocess.run(
        ["psql", "-h", HOST, "-U", USER, "-d", db, "-tAc", sql], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def _ts(d: datetime | None) -> str:
    return "\\N" if d is None else d.isoformat()


def _f(x: float | None) -> str:
    return "\\N" if x is None else f"{x:.1f}"


def generate(n: int, seed: int = 8) -> tuple[io.StringIO, io.StringIO]:
    rnd = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    tm, iv = io.StringIO(), io.StringIO()
    span = 730 * 86400
    for tid in range(1, n + 1):
        created = now - timedelta(seconds=rnd.uniform(0, span))
        age = (now - created).total_seconds()
        kind = "support" if rnd.random() < 0.6 else "service"
        queue = rnd.randint(1, 4) if kind == "support" else rnd.randint(5, 8)
        agent = rnd.randint(1, 60)
        excluded = rnd.random() < 0.01
        frt = rnd.lognormvariate(math.log(7200), 1.2)
        replied = rnd.random() < 0.92 and frt < age
        first_res = frt + rnd.lognormvariate(math.log(86400), 1.0)
        resolved = first_res < age and rnd.random() < (0.97 if age > 14 * 86400 else 0.7)
        reopened = resolved and rnd.random() < 0.06
        last_res = first_res + (rnd.lognormvariate(math.log(86400), 0.8) if reopened else 0)
        resolved_now = False if reopened and last_res >= age else resolved
        fr_at = created + timedelta(seconds=frt) if replied else None
        fres_at = created + timedelta(seconds=first_res) if resolved else None
        lres_at = created + timedelta(seconds=last_res) if resolved_now else None
        status = rnd.choice(["solved", "closed"]) if resolved_now else rnd.choice(["new", "open", "pending", "on_hold"])
        full = last_res if resolved_now else None
        pending = full * rnd.uniform(0, 0.3) if full else None
        progress = full * rnd.uniform(0.1, 0.5) if full else None
        replies = (1 if rnd.random() < 0.5 else rnd.randint(2, 5)) if replied else 0
        fcr_eligible = bool(resolved_now and replies >= 1)
        fcr = fcr_eligible and replies == 1 and not reopened
        offered = resolved_now and rnd.random() < 0.6
        offered_at = lres_at + timedelta(hours=1) if offered else None
        responded = offered and rnd.random() < 0.35 and (offered_at + timedelta(days=1)) < now
        csat_at = offered_at + timedelta(days=1) if responded else None
        score = rnd.choices([1, 2, 3, 4, 5], [5, 5, 10, 30, 50])[0] if responded else None
        handle = rnd.uniform(120, 3600) if resolved_now and rnd.random() < 0.5 else None
        fr_target = 14400.0
        fr_bus = frt * 0.3 if replied else None
        fr_outcome, fr_out_at = "", None
        if replied:
            if fr_bus <= fr_target:
                fr_outcome, fr_out_at = "achieved", fr_at
            else:
                fr_outcome, fr_out_at = "breached", created + timedelta(seconds=fr_target / 0.3)
        res_outcome, res_out_at = "", None
        if resolved_now:
            res_outcome = "achieved" if last_res * 0.3 <= 57600 else "breached"
            res_out_at = lres_at if res_outcome == "achieved" else created + timedelta(seconds=57600 / 0.3)
        row = [
            str(tid), "1", _ts(now), _ts(now), "t" if excluded else "f", "spam" if excluded else "", _ts(created), "f",
            str(queue), kind, rnd.choice(["low", "normal", "normal", "high", "urgent"]),
            rnd.choice(["portal", "email", "email", "api", "phone", "chat"]), status, str(agent),
            _ts(fr_at), str(agent) if replied else "\\N", _f(frt if replied else None), _f(fr_bus),
            _ts(fres_at), _f(first_res if resolved else None), _f(first_res * 0.3 if resolved else None),
            _ts(lres_at), str(agent) if resolved_now else "\\N", _f(full), _f(full * 0.3 if full else None),
            _f(full - pending if full else None), _f((full - pending) * 0.3 if full else None),
            _f(pending), _f(pending * 0.3 if pending is not None else None),
            _f(progress), _f(progress * 0.3 if progress else None),
            "1" if reopened else "0", "0", str(replies), "t" if fcr_eligible else "f", "t" if fcr else "f",
            "t" if resolved_now and replies == 0 else "f", "1", "1", "t" if offered else "f",
            _ts(offered_at), _ts(csat_at), str(score) if score else "", str(score) if score else "\\N",
            ("t" if score >= 4 else "f") if score else "\\N", str(agent) if responded else "\\N", _f(handle),
            _f(fr_target), fr_outcome, _ts(fr_out_at), _f(57600.0), res_outcome, _ts(res_out_at), "{}", "0", "0",
        ]  # fmt: skip
        tm.write("\t".join(row) + "\n")
        # Status intervals: new until the first reply, open/pending until the resolution, then solved.
        t_open = fr_at or created + timedelta(seconds=min(frt, age / 2))
        iv.write(f"{tid}\tnew\t{_ts(created)}\t{_ts(t_open)}\n")
        if resolved:
            iv.write(f"{tid}\topen\t{_ts(t_open)}\t{_ts(fres_at)}\n")
            if reopened:
                reopen_at = fres_at + timedelta(seconds=(last_res - first_res) / 2)
                iv.write(f"{tid}\tsolved\t{_ts(fres_at)}\t{_ts(reopen_at)}\n")
                iv.write(f"{tid}\topen\t{_ts(reopen_at)}\t{_ts(lres_at)}\n")
                if lres_at:
                    iv.write(f"{tid}\tsolved\t{_ts(lres_at)}\t\\N\n")
            else:
                iv.write(f"{tid}\tsolved\t{_ts(fres_at)}\t\\N\n")
        else:
            iv.write(f"{tid}\t{status if status in ('open', 'pending', 'on_hold') else 'open'}\t{_ts(t_open)}\t\\N\n")
    tm.seek(0)
    iv.seek(0)
    return tm, iv


def setup(n: int) -> None:
    import psycopg2

    psql(f"DROP DATABASE IF EXISTS {DB}", db="postgres")
    psql(f"CREATE DATABASE {DB}", db="postgres")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=_env(), check=True)
    t0 = time.monotonic()
    tm, iv = generate(n)
    t1 = time.monotonic()
    conn = psycopg2.connect(host=HOST, user=USER, dbname=DB)
    with conn, conn.cursor() as cur:
        cur.copy_expert(f"COPY metrics_ticketmetrics ({', '.join(TM_COLUMNS)}) FROM STDIN", tm)
        cur.copy_expert("COPY metrics_ticketstatusinterval (ticket_id, status, started_at, ended_at) FROM STDIN", iv)
    conn.close()
    t2 = time.monotonic()
    rollups()
    t3 = time.monotonic()
    psql("VACUUM ANALYZE")
    print(
        f"generated {n} tickets in {t1 - t0:.1f} s, COPY in {t2 - t1:.1f} s, "
        f"dashboard rollup rebuild {t3 - t2:.1f} s, vacuum analyze {time.monotonic() - t3:.1f} s"
    )
    print("rollup cells:", psql("SELECT count(*) FROM metrics_dashboardrollup"))
    print("metrics rows:", psql("SELECT count(*) FROM metrics_ticketmetrics"),
          "intervals:", psql("SELECT count(*) FROM metrics_ticketstatusinterval"),
          "size:", psql(f"SELECT pg_size_pretty(pg_database_size('{DB}'))"))  # fmt: skip


def rollups() -> None:
    """(Re)build the dashboard rollup cells set-based, as `metrics_rebuild` does."""
    code = (
        "from django.db import transaction\nfrom metrics import rollup\n"
        "with transaction.atomic(): print(rollup.rebuild())"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=_env(), check=True)


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    pos = q * (len(values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def run(
    repeat: int, days_list: tuple[int, ...] = (30, 90, 365), filters: tuple[str, ...] = ("none", "queue", "kind")
) -> None:
    """Uncached: every request builds the page from the database (the dashboard has no cache)."""
    os.environ.update(_env())
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from metrics import dashboard
    from metrics.services import reporting_zone
    from tickets.models import Queue

    if os.environ.get("BENCH_NO_SURVEYS"):
        # Isolate the rest of the page from the survey tiles (bench/METRICS.md, 1M section).
        from metrics.dashboard import build as _build

        _build.survey_tiles = lambda scope: {}

    manager, _ = User.objects.get_or_create(email="bench-manager@acme.test", defaults={"role": "manager"})
    for q in range(1, 9):  # the synthetic rows' queues, so the page's queue filter is valid
        kind = "support" if q <= 4 else "service"
        Queue.objects.get_or_create(pk=q, defaults={"slug": f"bench-{q}", "name": f"Bench {q}", "kind": kind})
    client = Client(HTTP_HOST="localhost")
    client.force_login(manager)
    zone = reporting_zone()
    today = dashboard.local_today(zone)
    rows = psql("SELECT count(*) FROM metrics_ticketmetrics")
    print(f"database {DB}: {rows} ticket metrics rows; reporting zone {zone}; {repeat} runs each (after 2 warm-ups)")
    print(
        f"{'range':>6} {'filter':>8} {'bucket':>6} {'page p50':>9} {'page p95':>9} {'build p95':>10} {'queries':>8}"
        f" {'py cpu':>8}  load (1-min avg before / after)"
    )
    cases = _filter_cases(filters)
    for days in days_list:
        for label, extra, path, who in cases:
            params = {"range": "custom", "start": str(today - timedelta(days=days - 1)), "end": str(today), **extra}
            page, build, cpu = [], [], []
            scope = dashboard.Scope(
                period=dashboard.Period(today - timedelta(days=days - 1), today, zone),
                bucket="week" if days > 62 else "day",
                queue_id=int(extra["queue"]) if "queue" in extra else None,
                kind=extra.get("kind"),
                agent_id=int(extra["agent"]) if "agent" in extra else who,
                priority=extra.get("priority"),
                channel=extra.get("channel"),
                with_agents=who is None,
            )
            client.force_login(manager if who is None else User.objects.get(pk=who))
            load_before = os.getloadavg()[0]
            for i in range(repeat + 2):
                t0, c0 = time.perf_counter(), time.process_time()
                with CaptureQueriesContext(connection) as ctx:
                    r = client.get(path, params)
                t1, c1 = time.perf_counter(), time.process_time()
                if r.status_code != 200:
                    raise SystemExit(f"{path} answered {r.status_code}")
                dashboard.dashboard_build(scope=scope)
                t2 = time.perf_counter()
                if i >= 2:
                    page.append((t1 - t0) * 1000)
                    build.append((t2 - t1) * 1000)
                    cpu.append((c1 - c0) * 1000)
            print(
                f"{days:>5}d {label:>8} {scope.bucket:>6} {statistics.median(page):>7.0f}ms {_pct(page, 0.95):>7.0f}ms"
                f" {_pct(build, 0.95):>8.0f}ms {len(ctx.captured_queries):>8} {statistics.median(cpu):>6.0f}ms"
                f"  {load_before:.2f} / {os.getloadavg()[0]:.2f}"
            )


def _filter_cases(names: tuple[str, ...]) -> list[tuple[str, dict[str, str], str, int | None]]:
    """(label, query filters, page, personal agent) per requested filter: none, queue, kind, agent,
    priority, channel (the busiest agent / most common value of the data), my-stats (that agent's
    own page, logged in as them)."""
    agent = int(os.environ.get("BENCH_AGENT") or psql(_BUSIEST.format(col="resolver_id")) or 0)
    values = {
        "none": {},
        "queue": {"queue": os.environ.get("BENCH_QUEUE", "3")},
        "kind": {"kind": "support"},
        "agent": {"agent": str(agent)},
        "priority": {"priority": os.environ.get("BENCH_PRIORITY") or psql(_BUSIEST.format(col="priority"))},
        "channel": {"channel": os.environ.get("BENCH_CHANNEL") or psql(_BUSIEST.format(col="channel"))},
    }
    cases: list[tuple[str, dict[str, str], str, int | None]] = [
        (n, values[n], "/manager/dashboard/", None) for n in names if n != "my-stats"
    ]
    if "my-stats" in names:
        cases.append(("my-stats", {}, "/agent/my-stats/", agent))
    return cases


_BUSIEST = (
    "SELECT {col} FROM metrics_ticketmetrics WHERE {col} IS NOT NULL AND NOT excluded"
    " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["setup", "rollups", "run"])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--days", default="30,90,365", help="comma-separated range lengths")
    parser.add_argument(
        "--filters",
        default="none,queue,kind",
        help="comma-separated: none, queue, kind, agent, priority, channel, my-stats",
    )
    args = parser.parse_args()
    if args.mode == "setup":
        setup(args.tickets)
    elif args.mode == "rollups":
        t0 = time.monotonic()
        rollups()
        print(f"dashboard rollup rebuild {time.monotonic() - t0:.1f} s")
        psql("VACUUM ANALYZE metrics_dashboardrollup")
    else:
        run(args.repeat, tuple(int(d) for d in args.days.split(",")), tuple(args.filters.split(",")))


if __name__ == "__main__":
    main()
