"""One row per ticket with every per-ticket metric: `manage.py metrics_export`."""

import csv
import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from helpdesk.lib.csv_response import csv_safe
from helpdesk.lib.db_router import use_replica
from metrics import services
from metrics.compute import compute
from metrics.models import TicketMetrics, TicketSegment
from metrics.present import (
    EXPORT_FIELDS,
    SEGMENT_EXPORT_FIELDS,
    row_present,
    segment_present,
    stored_row,
    stored_segment,
)
from tickets.models import Queue, Ticket

# Who and where, as of the export: the final queue and kind, the assignee, the organisation.
IDENTITY_FIELDS = ("ticket", "external_id", "queue", "kind", "assignee", "organisation")

BATCH = 1000


def _csv_cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else ("" if value is None else value)


def _segments_of(ids: list[int], ctx: Any) -> dict[int, list[dict[str, Any]]]:
    """compute() segments as of the context's instant, or the stored TicketSegment rows."""
    if ctx is not None:
        return {tid: compute(evs, ctx)["segments"] for tid, evs in services.events_by_ticket(ids).items()}
    out: dict[int, list[dict[str, Any]]] = {}
    for seg in TicketSegment.objects.filter(ticket_id__in=ids).order_by("ticket_id", "idx").values():
        out.setdefault(seg["ticket_id"], []).append(stored_segment(seg))
    return out


class Command(BaseCommand):
    help = (
        "Export per-ticket metrics keyed by ticket number and import external_id, with the field names of "
        "expected.json. Without --as-of the stored rows are exported; with it every ticket is recomputed "
        "as of that instant (nothing is stored). --segments: one row per ticket x queue segment."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
        parser.add_argument("--as-of", dest="as_of", help="Evaluation instant (ISO 8601 with offset).")
        parser.add_argument("--output", "-o", default="-", help="File to write (default: stdout).")
        parser.add_argument(
            "--segments",
            action="store_true",
            help="One row per ticket x queue segment with the values attributed to it "
            "(docs/metrics.md#18-queue-and-kind-attribution-across-escalations).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        as_of = None
        if opts["as_of"]:
            try:
                as_of = datetime.fromisoformat(opts["as_of"].replace("Z", "+00:00"))
            except ValueError:
                raise CommandError("--as-of must be an ISO 8601 instant") from None
            if as_of.tzinfo is None:
                raise CommandError("--as-of needs a UTC offset")
        # Read-only: a fit read replica answers when one is configured (docs/scaling.md).
        with use_replica() as replica:
            if replica is not None:
                self.stderr.write(f"Reading from replica {replica.alias} (as of {replica.as_of.isoformat()})")
            export = self._export_segments if opts["segments"] else self._export
            if opts["output"] == "-":
                export(self.stdout, opts["format"], as_of)
                return
            with open(opts["output"], "w", newline="") as out:
                export(out, opts["format"], as_of)

    def _rows(self, as_of: datetime | None):
        emails = dict(User.objects.filter(role__in=User.STAFF_ROLES).values_list("pk", "email"))
        queues = dict(Queue.objects.values_list("pk", "slug"))
        ctx = services.metrics_context(as_of=as_of) if as_of else None
        last = 0
        while True:
            tickets = list(
                Ticket.objects.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", "external_id", "organisation__name")[:BATCH]
            )
            if not tickets:
                return
            last = tickets[-1][0]
            ids = [t[0] for t in tickets]
            if ctx is not None:
                events = services.events_by_ticket(ids)
                rows = {tid: compute(evs, ctx) for tid, evs in events.items()}
            else:
                rows = {}
                for m in TicketMetrics.objects.filter(ticket_id__in=ids):
                    rows[m.ticket_id] = dict(stored_row(m), queue_id=m.queue_id, kind=m.kind, assignee_id=m.assignee_id)
            for pk, external_id, organisation in tickets:
                if pk in rows:
                    raw = rows[pk]
                    yield {
                        "ticket": pk,
                        "external_id": external_id,
                        # Where the ticket stands (as of): the final queue, kind and assignee.
                        "queue": queues.get(raw.get("queue_id")),
                        "kind": raw.get("kind") or None,
                        "assignee": emails.get(raw.get("assignee_id")),
                        "organisation": organisation,
                        **row_present(raw, emails=emails),
                    }

    def _segment_rows(self, as_of: datetime | None):
        """Per ticket (in number order) its segments: stored, or recomputed as of `as_of`."""
        emails = dict(User.objects.filter(role__in=User.STAFF_ROLES).values_list("pk", "email"))
        queues = dict(Queue.objects.values_list("pk", "slug"))
        ctx = services.metrics_context(as_of=as_of) if as_of else None
        last = 0
        while True:
            tickets = list(Ticket.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "external_id")[:BATCH])
            if not tickets:
                return
            last = tickets[-1][0]
            segments = _segments_of([t[0] for t in tickets], ctx)
            for pk, external_id in tickets:
                for seg in segments.get(pk, []):
                    yield {
                        "ticket": pk,
                        "external_id": external_id,
                        **segment_present(seg, emails=emails, queues=queues),
                    }

    def _export_segments(self, out, fmt: str, as_of: datetime | None) -> None:
        if fmt == "jsonl":
            for row in self._segment_rows(as_of):
                out.write(json.dumps(row) + "\n")
            return
        writer = csv.writer(out)
        header = ["ticket", "external_id", *SEGMENT_EXPORT_FIELDS]
        writer.writerow(header)
        for row in self._segment_rows(as_of):
            writer.writerow([csv_safe(_csv_cell(row.get(name))) for name in header])

    def _export(self, out, fmt: str, as_of: datetime | None) -> None:
        if fmt == "jsonl":
            for row in self._rows(as_of):
                out.write(json.dumps(row) + "\n")  # OutputWrapper adds no second newline
            return
        writer = csv.DictWriter(out, fieldnames=[*IDENTITY_FIELDS, *EXPORT_FIELDS], extrasaction="ignore")
        writer.writeheader()
        for row in self._rows(as_of):
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, list | dict) else ("" if v is None else v) for k, v in row.items()}
            )
