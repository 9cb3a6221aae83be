"""Partitioned event log (PostgreSQL): docs/event-partitions.md."""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets import partitions


def _month(value: str) -> date:
    try:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    except ValueError as exc:
        raise CommandError(f"Give a month as YYYY-MM, not {value!r}.") from exc


class Command(BaseCommand):
    help = "Partition the event log by month (--convert), create partitions ahead, list them, detach old ones."

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--convert", action="store_true", help="convert the plain table (opt-in, online)")
        action.add_argument("--ensure", action="store_true", help="create this month's and the next partitions")
        action.add_argument("--detach", metavar="YYYY-MM", help="detach one old month for archive")
        parser.add_argument("--batch", type=int, default=50_000, help="rows per copy transaction (--convert)")
        parser.add_argument("--ahead", type=int, default=3, help="months created ahead")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["convert"]:
                partitions.convert(batch=max(1, options["batch"]), ahead=options["ahead"], log=self.stdout.write)
            elif options["ensure"]:
                created = partitions.partitions_ensure(ahead=options["ahead"])
                self.stdout.write(f"created: {', '.join(created) or 'none'}")
            elif options["detach"]:
                name = partitions.partition_detach(_month(options["detach"]))
                self.stdout.write(f"detached {name}: archive it (pg_dump -t {name}) and then DROP TABLE {name};")
            self._status()
        except partitions.PartitionError as exc:
            raise CommandError(str(exc)) from exc

    def _status(self) -> None:
        if not partitions.is_partitioned():
            self.stdout.write("the event log is a plain table (not partitioned)")
            return
        for p in partitions.partitions_list():
            self.stdout.write(f"{p.name}  {p.month:%Y-%m}  ~{max(p.rows, 0)} rows")
