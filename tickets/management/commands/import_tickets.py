"""`import_tickets FILE.jsonl [--create-queues kind=support|service]` (docs/import.md)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpdesk.lib.progress import Progress
from tickets import importing
from tickets.models import QueueKind


class Command(BaseCommand):
    help = "Import ticket histories from a JSONL file (one ticket a line), idempotently by external_id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="JSONL file, one ticket a line")
        parser.add_argument(
            "--create-queues",
            metavar="kind=support|service",
            help="Create unknown queues with this kind instead of rejecting their lines.",
        )
        parser.add_argument("--batch-size", type=int, default=1000, help="Tickets per transaction (default 1000).")
        parser.add_argument("--max-issues", type=int, default=200, help="Issues to print (all are counted).")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = None
        if options["create_queues"]:
            key, _, kind = options["create_queues"].partition("=")
            if key != "kind" or kind not in QueueKind.values:
                raise CommandError("--create-queues expects kind=support or kind=service.")
        path = options["file"]
        try:
            total = importing.count_lines(path)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        verbose = options["verbosity"] > 0
        with Progress(total=total, unit="tickets", desc="Importing", stream=self.stderr, enabled=verbose) as bar:
            report = importing.import_file(
                path, create_queues_kind=kind, batch_size=max(1, options["batch_size"]), on_progress=bar.update
            )
        for issue in report.issues[: options["max_issues"]]:
            self.stderr.write(str(issue))
        hidden = len(report.issues) - options["max_issues"] + report.issues_dropped
        if hidden > 0:
            self.stderr.write(f"... and {hidden} more issue(s)")
        self.stdout.write(report.summary())
