"""Work per dashboard build, independent of the machine's load: shared buffers (8 kB pages, hit + read)
and EXPLAIN execution time summed over every SELECT of one `dashboard_build` (bench/DASHBOARD.md,
"Third round (session 8): filters").

    DATABASE_URL=... DJANGO_SETTINGS_MODULE=helpdesk.settings.test DJANGO_SECRET_KEY=x \\
      .venv/bin/python bench/dashboard_buffers.py 30:my:1 90:agent:1 30:priority:high
    NOIDX=1 ...   # the same with the agent indexes (tm_ag_*, tseg_ag_*) dropped inside a rolled-back transaction
    PER=1 ...     # and one line per SELECT: buffers, rows out of the plan's top, largest node row count, ms, call site

Each argument is days:filter:value with filter = none | queue | kind | agent | my (the agent's own
page) | priority | channel.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _scope(spec: str) -> Any:
    from metrics import dashboard
    from metrics.services import reporting_zone

    days_s, flt, val = spec.split(":")
    days = int(days_s)
    kw: dict[str, Any] = {}
    if flt == "agent":
        kw["agent_id"] = int(val)
    elif flt == "my":
        kw.update(agent_id=int(val), with_agents=False)
    elif flt == "queue":
        kw["queue_id"] = int(val)
    elif flt in ("kind", "priority", "channel"):
        kw[flt] = val
    zone = reporting_zone()
    today = dashboard.local_today(zone)
    period = dashboard.Period(today - timedelta(days=days - 1), today, zone)
    return dashboard.Scope(period=period, bucket="week" if days > 62 else "day", **kw)


def _site() -> str:
    """The dashboard function that issued the statement (innermost frame under metrics/ or tickets/)."""
    import traceback

    for frame in reversed(traceback.extract_stack()):
        if ("/metrics/" in frame.filename or "/tickets/" in frame.filename) and "/bench/" not in frame.filename:
            return f"{Path(frame.filename).name}:{frame.name}"
    return "?"


def _blocks(node: dict[str, Any]) -> int:
    return int(node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0))


def _widest(node: dict[str, Any]) -> int:
    """The largest actual row count of any node (rows x loops): what the statement walked."""
    own = int(node.get("Actual Rows", 0) * node.get("Actual Loops", 1))
    return max([own, *(_widest(c) for c in node.get("Plans", []))])


def measure(spec: str) -> str:
    from django.db import connection, transaction

    from metrics import dashboard

    stmts: list[tuple[str, Any, str]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        stmts.append((sql, params, _site()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        dashboard.dashboard_build(scope=_scope(spec))
    blocks, ms, n = 0, 0.0, 0
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
        if os.environ.get("NOIDX"):
            cur.execute(
                "SELECT string_agg(indexrelname, ', ') FROM pg_stat_user_indexes"
                " WHERE indexrelname LIKE 'tm_ag_%' OR indexrelname LIKE 'tseg_ag_%'"
            )
            cur.execute("DROP INDEX " + cur.fetchone()[0])
        per = []
        for sql, params, site in stmts:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH", "(")):
                continue
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
            plan = cur.fetchone()[0][0]
            blocks += plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0)
            ms += plan["Execution Time"]
            n += 1
            per.append(
                f"  {_blocks(plan['Plan']):>7} buf {plan['Plan'].get('Actual Rows', 0):>7} rows"
                f" {_widest(plan['Plan']):>8} max node rows {plan['Execution Time']:>7.1f} ms  {site}"
            )
        transaction.set_rollback(True)
    if os.environ.get("PER"):
        print("\n".join(per))
    return f"{spec}: {n} SELECTs, {blocks} buffers, EXPLAIN execution sum {ms:.0f} ms (load {os.getloadavg()[0]:.1f})"


def main() -> None:
    import django

    django.setup()
    for spec in sys.argv[1:]:
        print(measure(spec))


if __name__ == "__main__":
    main()
