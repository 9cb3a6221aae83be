"""`helpdesk_config apply FILE.json [--dry-run]` and `helpdesk_config dump [FILE.json]` (SPEC 10)."""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from desk_settings.audit import VIA_FILE, audit_via
from tickets import config


class Command(BaseCommand):
    help = "Apply or dump the help desk configuration (calendars, SLA policies, queues, request types, agents)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        apply = sub.add_parser("apply", help="Create or update everything the document names.")
        apply.add_argument("file", help="JSON document ('-' for stdin)")
        apply.add_argument("--dry-run", action="store_true", help="Say what would change; change nothing.")
        dump = sub.add_parser("dump", help="Write the current configuration.")
        dump.add_argument("file", nargs="?", default="-", help="Output file (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "dump":
            text = json.dumps(config.config_dump(), indent=2, ensure_ascii=False) + "\n"
            if options["file"] == "-":
                self.stdout.write(text, ending="")
            else:
                with open(options["file"], "w", encoding="utf-8") as fh:
                    fh.write(text)
                self.stdout.write(f"Configuration written to {options['file']}")
            return
        document = self._read(options["file"])
        try:
            # The operator at the command line acts as a superuser; the
            # last-admin rule still holds (accounts.policy). Audit entries of
            # this run: path "file", actor the operator.
            with audit_via(VIA_FILE, actor_email="operator (helpdesk_config apply)"):
                report = config.config_apply(document, dry_run=options["dry_run"], actor=None)
        except config.ConfigInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(f"  {problem}")
            raise CommandError(f"{exc.message} Nothing was changed.") from exc
        for line in report.lines():
            self.stdout.write(line)

    def _read(self, path: str) -> Any:
        try:
            if path == "-":
                return json.load(sys.stdin)
            with open(path, encoding="utf-8") as fh:
                return json.load(fh)
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path} is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
