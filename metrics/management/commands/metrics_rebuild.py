"""Recompute metrics after a definition change: `manage.py metrics_rebuild`."""

import time
from datetime import date, datetime
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Max, Min

from metrics import services
from metrics.models import MetricsDirty
from tickets.models import Ticket


class Command(BaseCommand):
    help = (
        "Recompute every ticket's metrics, chunked by ticket-id ranges. With a real broker the chunks are "
        "marked dirty and drained by the Celery workers (SKIP LOCKED batches); without one, or with --inline "
        "or --as-of, they are recomputed in this process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="Only tickets updated on or after this date (YYYY-MM-DD, UTC).")
        parser.add_argument("--as-of", dest="as_of", help="Evaluation instant (ISO 8601); implies --inline.")
        parser.add_argument("--chunk", type=int, default=5000, help="Ticket ids per chunk (default 5000).")
        parser.add_argument("--batch", type=int, default=500, help="Tickets per transaction inline (default 500).")
        parser.add_argument("--reset", action="store_true", help="Empty the metrics tables first (full rebuild).")
        parser.add_argument("--inline", action="store_true", help="Recompute here even if a broker is configured.")
        parser.add_argument("--tasks", type=int, default=4, help="Wake-up tasks to send (broker mode).")
        parser.add_argument("--no-wait", action="store_true", help="Broker mode: return once the chunks are queued.")
        parser.add_argument(
            "--processes", type=int, default=1, help="Inline bulk rebuild: worker processes (default 1)."
        )
        parser.add_argument(
            "--rollups-only", action="store_true", help="Only recompute the dashboard cells from the per-ticket rows."
        )
        parser.add_argument(
            "--per-ticket",
            action="store_true",
            help="Use the per-ticket retract-and-apply path even for a full rebuild on PostgreSQL.",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        since = _since(opts["since"])
        as_of = _as_of(opts["as_of"])
        inline = opts["inline"] or as_of is not None or settings.CELERY_TASK_ALWAYS_EAGER
        if opts["rollups_only"]:
            cells = services.metrics_rollups_rebuild()
            self.stdout.write(self.style.SUCCESS(f"{cells} rollup cells recomputed"))
            return
        if opts["reset"]:
            if since is not None:
                raise CommandError("--reset rebuilds everything; do not combine it with --since")
            services.metrics_reset()
            self.stdout.write("metrics tables emptied")
        bounds = Ticket.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
        if bounds["lo"] is None:
            self.stdout.write("no tickets")
            return
        started = time.monotonic()
        chunk = max(opts["chunk"], 1)
        # A full rebuild on PostgreSQL: COPY per id range, rollups set-based afterwards.
        bulk = connection.vendor == "postgresql" and since is None and not opts["per_ticket"]
        if bulk and inline:
            self._bulk_inline(as_of, chunk, opts, started)
        elif bulk:
            self._broker_bulk(bounds["lo"], bounds["hi"] + 1, chunk, opts, started)
        elif inline:
            self._per_ticket_inline(range(bounds["lo"], bounds["hi"] + 1, chunk), since, as_of, opts, started)
        else:
            self._by_workers(range(bounds["lo"], bounds["hi"] + 1, chunk), since, opts, started)

    def _bulk_inline(self, as_of: datetime | None, chunk: int, opts: dict[str, Any], started: float) -> None:
        stats = services.metrics_bulk_rebuild(
            as_of=as_of,
            processes=max(opts["processes"], 1),
            chunk=chunk,
            batch=max(opts["batch"], 1),
            progress=lambda st: self._progress(st["tickets"], started),
            reset=opts["reset"],
        )
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"recomputed {stats['tickets']} tickets ({stats['events']} events) inline in {elapsed:.1f} s"
                f" = {stats['events'] / max(elapsed, 1e-9):,.0f} events/s with {opts['processes']} process(es);"
                f" CPU python {stats['py_cpu_s']:.1f} s, postgres {stats['pg_cpu_s']:.1f} s;"
                f" {stats['rollup_cells']} rollup cells; phases: tickets {stats['tickets_s']:.1f} s,"
                f" indexes {stats['indexes_s']:.1f} s, cells {stats['cells_s']:.1f} s"
            )
        )

    def _per_ticket_inline(
        self, starts: range, since: datetime | None, as_of: datetime | None, opts: dict[str, Any], started: float
    ) -> None:
        ctx = services.metrics_context(as_of=as_of)
        total = 0
        for lo in starts:
            qs = Ticket.objects.filter(pk__gte=lo, pk__lt=lo + starts.step)
            if since is not None:
                qs = qs.filter(updated_at__gte=since)
            ids = list(qs.order_by("pk").values_list("pk", flat=True))
            for i in range(0, len(ids), opts["batch"]):
                part = ids[i : i + opts["batch"]]
                with transaction.atomic():
                    services.tickets_recompute(ticket_ids=part, context=ctx)
                    MetricsDirty.objects.filter(ticket_id__in=part).delete()
                total += len(part)
            self._progress(total, started)
        self.stdout.write(
            self.style.SUCCESS(f"recomputed {total} tickets inline in {time.monotonic() - started:.1f} s")
        )

    def _by_workers(self, starts: range, since: datetime | None, opts: dict[str, Any], started: float) -> None:
        total = 0
        for lo in starts:
            with transaction.atomic():
                total += services.metrics_mark_range_dirty(lo=lo, hi=lo + starts.step, since=since)
        from helpdesk.lib.tasks import enqueue
        from metrics.tasks import recompute_dirty

        sent = sum(enqueue(recompute_dirty) for _ in range(max(opts["tasks"], 1)))
        self.stdout.write(f"{total} tickets marked dirty; {sent} wake-up tasks sent")
        if opts["no_wait"]:
            return
        while (left := MetricsDirty.objects.count()) > 0:
            self._progress(total - left, started)
            time.sleep(2)
        self.stdout.write(
            self.style.SUCCESS(f"recomputed {total} tickets by the workers in {time.monotonic() - started:.1f} s")
        )

    def _broker_bulk(self, lo: int, hi: int, chunk: int, opts: dict[str, Any], started: float) -> None:
        """Each id range is one `metrics.rebuild_range` task; the dirty rows of the
        range mark it as not done yet. Rollups are rebuilt once every range is done."""
        from helpdesk.lib.tasks import enqueue
        from metrics.tasks import rebuild_range

        total = sent = 0
        for a in range(lo, hi, chunk):
            with transaction.atomic():
                total += services.metrics_mark_range_dirty(lo=a, hi=min(a + chunk, hi))
            sent += enqueue(rebuild_range, lo=a, hi=min(a + chunk, hi), batch=max(opts["batch"], 1))
        self.stdout.write(f"{total} tickets marked dirty; {sent} range tasks sent")
        if opts["no_wait"]:
            self.stdout.write("not waiting: run `metrics_rebuild --rollups-only` once the workers are done")
            return
        while (left := MetricsDirty.objects.count()) > 0:
            self._progress(total - left, started)
            time.sleep(1)
        cells = services.metrics_rollups_rebuild()
        self.stdout.write(
            self.style.SUCCESS(
                f"recomputed {total} tickets by the workers in {time.monotonic() - started:.1f} s; {cells} rollup cells"
            )
        )

    def _progress(self, done: int, started: float) -> None:
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed else 0.0
        self.stderr.write(f"  {done} tickets, {rate:.0f} tickets/s")


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), dtime(0), tzinfo=ZoneInfo("UTC"))
    except ValueError:
        raise CommandError("--since must be a date, YYYY-MM-DD") from None


def _as_of(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        as_of = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError("--as-of must be an ISO 8601 instant") from None
    if as_of.tzinfo is None:
        raise CommandError("--as-of needs a UTC offset (e.g. 2025-12-01T00:00:00-05:00)")
    return as_of
