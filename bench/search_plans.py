"""The agent search's statements for a user and words (issue #22, fifth
round): each statement the first list page of `?view=all&q=WORD` sends, with
EXPLAIN (ANALYZE, BUFFERS): buffers (hit + read), execution ms, and the
search-table nodes (which index, rows). Then the whole page call, median of
--n runs (wall and CPU ms). Read only. `--plan hits|walk` forces one of the
two plans whatever the hit count (docs/workspace-list.md, the threshold).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench_X DJANGO_SECRET_KEY=x \\
        .venv/bin/python bench/search_plans.py --user agent@example.com --words refund,invoice [--n 20] [--plan walk]
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from tickets import search  # noqa: E402
from tickets.workspace import workspace_ticket_page  # noqa: E402


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    out = [node]
    for child in node.get("Plans", []):
        out += _nodes(child)
    return out


def _explain(sql: str) -> dict[str, Any]:
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        return cur.fetchone()[0][0]  # type: ignore[index]


def _describe(plan: dict[str, Any]) -> str:
    bits = []
    for n in _nodes(plan["Plan"]):
        rel, index = n.get("Relation Name", ""), n.get("Index Name", "")
        if "ticketsearch" in rel or "search" in index:
            bits.append(f"{n['Node Type']}{' ' + index if index else ''} rows={n['Actual Rows']}")
    top = plan["Plan"]
    return "; ".join(bits) or top["Node Type"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--user", default="agent@example.com")
    parser.add_argument("--words", default="refund,invoice,error,quokka")
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--plan", choices=["hits", "walk"], help="force a plan (default: the threshold's)")
    args = parser.parse_args()
    if args.plan:
        search.FEW_MATCHES = 10**9 if args.plan == "hits" else 0
        search.FEW_MATCHES_PER_TICKET_ROOT = 0
    user = User.objects.get(email=args.user)
    for word in args.words.split(","):
        workspace_ticket_page(user=user, search=word, limit=50)  # warm
        with CaptureQueriesContext(connection) as ctx:
            page = workspace_ticket_page(user=user, search=word, limit=50)
        print(f"## {args.user} q={word!r}: {len(page.items)} rows, {len(ctx.captured_queries)} statements")
        total = 0
        for q in ctx.captured_queries:
            sql = q["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            plan = _explain(sql)
            top = plan["Plan"]
            buffers = top["Shared Hit Blocks"] + top["Shared Read Blocks"]
            total += buffers
            head = " ".join(sql.split())[:90]
            print(f"  {buffers:>7} buffers {plan['Execution Time']:>8.2f} ms  {_describe(plan)}  | {head}")
        walls, cpus = [], []
        for _ in range(args.n):
            w, c = time.perf_counter(), time.process_time()
            workspace_ticket_page(user=user, search=word, limit=50)
            walls.append((time.perf_counter() - w) * 1000)
            cpus.append((time.process_time() - c) * 1000)
        load = os.getloadavg()[0]
        print(
            f"  total {total} buffers; page call median {statistics.median(walls):.1f} ms wall, "
            f"{statistics.median(cpus):.1f} ms CPU (n={args.n}, load {load:.1f})"
        )
        sys.stdout.flush()
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    main()
