"""EXPLAIN (ANALYZE, BUFFERS) of the statements that read the indexes and keys the storage
rounds change (bench/STORAGE.md): which indexes each plan uses, shared buffers, rows, time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench_storage DJANGO_SECRET_KEY=x \
      .venv/bin/python bench/storage_plans.py [--days 30] [--repeat 3]

Read-only. Each statement runs `--repeat` times and the last run is reported (warm cache);
buffers and rows are the load-independent figures, milliseconds are not.
"""

import argparse
import os
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402

from metrics.models import DashboardRollup, TicketAgentHandle, TicketSegment  # noqa: E402
from tickets import selectors  # noqa: E402
from tickets.models import Ticket, TicketEvent  # noqa: E402


def _explain(sql: str, params: Any, repeat: int) -> str:
    with connection.cursor() as cur:
        for _ in range(repeat):
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            lines = [r[0] for r in cur.fetchall()]
    return "\n".join(lines)


def _summary(plan: str) -> str:
    scans = r"(?:Index Scan|Index Only Scan|Bitmap Index Scan) (?:Backward )?(?:using|on) (\w+)"
    indexes = sorted(set(re.findall(scans, plan)))
    seq = sorted(set(re.findall(r"Seq Scan on (\w+)", plan)))
    top = plan.splitlines()[0]
    rows = re.search(r"actual time=[\d.]+\.\.[\d.]+ rows=(\d+)", top)
    hit = re.search(r"Buffers: shared hit=(\d+)(?: read=(\d+))?", plan)
    ms = re.search(r"Execution Time: ([\d.]+) ms", plan)
    buffers = (int(hit.group(1)) + int(hit.group(2) or 0)) if hit else 0
    return (
        f"rows {rows.group(1) if rows else '?'}, buffers {buffers:,}, {ms.group(1) if ms else '?'} ms; "
        f"indexes {', '.join(indexes) or '-'}; seq scans {', '.join(seq) or '-'}"
    )


def statements(days: int) -> list[tuple[str, Callable[[], tuple[str, Any]]]]:
    with connection.cursor() as cur:
        cur.execute("SELECT max(occurred_at) FROM tickets_ticketevent")
        end = cur.fetchone()[0]
    start = end - timedelta(days=days)
    reopen = Q(kind=TicketEvent.Kind.STATUS, data__from__in=["solved", "closed"], data__to__in=list(Ticket.UNSOLVED))
    esc = Q(kind=TicketEvent.Kind.QUEUE, data__escalation=True)
    some_email = Ticket.objects.filter(assignee__isnull=False).values_list("assignee__email", flat=True).first()
    one = Ticket.objects.order_by("-id").values_list("id", flat=True).first()

    def qs(q: Any) -> Callable[[], tuple[str, Any]]:
        return lambda: q().query.sql_with_params()

    return [
        (
            "success: reopens and escalations in the period",
            qs(lambda: TicketEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end).filter(reopen | esc)),
        ),
        (
            "survey tiles: survey events of the period",
            qs(lambda: selectors.survey_events_for_metrics(start=start, end=end, surveys=["csat", "ces", "nps"])),
        ),
        (
            "survey tiles: tickets with survey events",
            qs(
                lambda: (
                    TicketEvent.objects.filter(
                        kind__in=["survey.offered", "csat.responded", "ces.responded", "nps.responded"],
                        occurred_at__gte=start,
                        occurred_at__lt=end,
                        ticket__isnull=False,
                    )
                    .values_list("ticket_id", flat=True)
                    .distinct()
                )
            ),
        ),
        (
            "erasure: a person's events (assignee e-mail)",
            qs(
                lambda: TicketEvent.objects.filter(
                    Q(ticket_id__in=[1, 2])
                    | Q(actor_id=3)
                    | Q(kind=TicketEvent.Kind.ASSIGNEE, data__to_email=some_email)
                )
            ),
        ),
        (
            "ticket page: the ticket's events in log order",
            qs(lambda: TicketEvent.objects.filter(ticket_id=one).order_by("occurred_at", "id")),
        ),
        (
            "rollup: one cover range of day cells (dim q, frt_cal_s)",
            qs(
                lambda: DashboardRollup.objects.filter(
                    dim="q", metric="frt_cal_s", span="d", start__gte=start.date(), start__lt=end.date()
                ).values_list("key", "kind", "bin", "n", "sum_s")
            ),
        ),
        ("segments: one ticket's rows", qs(lambda: TicketSegment.objects.filter(ticket_id=one).order_by("idx"))),
        ("agent handle: one ticket's rows", qs(lambda: TicketAgentHandle.objects.filter(ticket_id=one))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plans", action="store_true", help="print every plan in full")
    args = parser.parse_args()
    for name, build in statements(args.days):
        sql, params = build()
        plan = _explain(sql, params, args.repeat)
        print(f"{name}: {_summary(plan)}")
        if args.plans:
            print(plan, "\n")


if __name__ == "__main__":
    main()
