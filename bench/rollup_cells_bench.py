"""Dashboard rollup cells per ticket and storage per table (issue #22, bench/PERF_SECOND_PASS.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_cells22_bench DJANGO_SECRET_KEY=x \\
      .venv/bin/python bench/rollup_cells_bench.py [--sample 3000]

1. Cells a ticket's first computation writes (no earlier row, so nothing is retracted): for a
   sample of tickets with their stored metrics rows, intervals and segments, the non-zero cells
   of `rollup.expand` of the ticket's contribution alone, all spans ("before": day + week + month)
   and day cells only ("after": the write path since the deferred fold), with a breakdown by
   dimension, group (whole ticket / kind / queue) and kind of row (duration stat, histogram bin,
   count, backlog). Pure Python over stored rows: nothing is written.
2. Bytes per table (pg_total_relation_size, heap + indexes + TOAST), per 100,000 tickets.
"""

import argparse
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django

django.setup()

from django.db import connection  # noqa: E402

from metrics import rollup  # noqa: E402
from metrics.models import TicketMetrics, TicketNextReply, TicketSegment, TicketStatusInterval  # noqa: E402


def _sample(n: int) -> list[int]:
    with connection.cursor() as cur:  # spread over the id range, not the newest only
        cur.execute(
            "SELECT ticket_id FROM metrics_ticketmetrics WHERE NOT excluded ORDER BY md5(ticket_id::text) LIMIT %s",
            [n],
        )
        return [r[0] for r in cur.fetchall()]


def _kind_of_row(metric: str, b: int) -> str:
    if metric.startswith("bl_"):
        return "backlog"
    if metric.startswith("c:"):
        return "count"
    return "duration stat" if b == rollup.STAT else "duration (bin with n and sum)"


def cells(n: int) -> None:
    ids = _sample(n)
    zone = rollup.cells_zone()
    rows = {m.ticket_id: m for m in TicketMetrics.objects.filter(ticket_id__in=ids)}
    intervals = defaultdict(list)
    for i in TicketStatusInterval.objects.filter(ticket_id__in=ids, status__in=rollup.UNSOLVED):
        intervals[i.ticket_id].append(i)
    segments = defaultdict(list)
    for s in TicketSegment.objects.filter(ticket_id__in=ids).order_by("ticket_id", "idx"):
        segments[s.ticket_id].append(s)
    replies = defaultdict(list)  # next-reply runs: cells of their own (metrics.rollup.NEXT_REPLY)
    for r in TicketNextReply.objects.filter(ticket_id__in=ids):
        replies[r.ticket_id].append(r)
    before, after, per_ticket_after = 0, 0, []
    by_dim: Counter = Counter()
    by_group: Counter = Counter()
    by_row: Counter = Counter()
    by_span: Counter = Counter()
    by_moved: Counter = Counter()
    moved = 0
    for tid in ids:
        base = rollup.base(rows[tid], intervals[tid], zone, segments=segments[tid], next_replies=replies[tid])
        full = rollup.expand(base)
        days = rollup.expand(base, days_only=True)
        before += len(full)
        after += len(days)
        per_ticket_after.append(len(days))
        moved += len(segments[tid]) > 1
        for dim, _key, span, _start, metric, kind, b in full:
            by_dim[dim] += 1
            by_span[span] += 1
            group = "whole" if kind == rollup.ALL_KINDS else ("queue" if dim in ("q", "qa") else "kind")
            moved_tag = "moved" if len(segments[tid]) > 1 else "unmoved"
            by_moved[moved_tag] += 1
            by_group[group] += 1
            by_row[_kind_of_row(metric, b)] += 1
    k = len(ids)
    per_ticket_after.sort()
    print(f"sample: {k} tickets ({moved} moved between queues), load {os.getloadavg()[0]:.2f}")
    print(f"cells written by a first computation, all spans (before): {before / k:.1f} per ticket")
    print(
        f"cells written by a first computation, day cells only (after): {after / k:.1f} per ticket"
        f" (p50 {per_ticket_after[k // 2]}, p95 {per_ticket_after[int(k * 0.95)]}, max {per_ticket_after[-1]})"
    )
    by_moved["moved"] = by_moved["moved"] * k / max(moved, 1)  # per moved ticket
    by_moved["unmoved"] = by_moved["unmoved"] * k / max(k - moved, 1)
    for title, counter in (
        ("span", by_span),
        ("dim", by_dim),
        ("group", by_group),
        ("row", by_row),
        ("ticket (per moved / unmoved ticket)", by_moved),
    ):
        print(f"  before, by {title}: " + ", ".join(f"{key or '-'} {v / k:.1f}" for key, v in counter.most_common()))


def sizes() -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM tickets_ticket")
        tickets = cur.fetchone()[0]
        cur.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid), c.reltuples::bigint"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 2 DESC LIMIT 14"
        )
        rows = cur.fetchall()
        cur.execute("SELECT pg_database_size(current_database())")
        total = cur.fetchone()[0]
    scale = 100_000 / tickets
    print(f"database: {tickets} tickets, {total / 2**20:.0f} MB = {total * scale / 2**20:.0f} MB per 100k tickets")
    print(f"{'table':40} {'MB':>8} {'heap MB':>8} {'rows':>10} {'MB/100k':>8} {'B/row':>6}")
    for name, tot, heap, tuples in rows:
        per_row = tot / tuples if tuples > 0 else 0
        print(
            f"{name:40} {tot / 2**20:8.1f} {heap / 2**20:8.1f} {tuples:10d} {tot * scale / 2**20:8.1f} {per_row:6.0f}"
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=3000)
    ap.add_argument("--skip-cells", action="store_true")
    ap.add_argument("--skip-sizes", action="store_true")
    args = ap.parse_args()
    if not args.skip_cells:
        cells(args.sample)
    if not args.skip_sizes:
        sizes()
