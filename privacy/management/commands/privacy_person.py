"""manage.py privacy_person export|erase|sweep <id or e-mail>."""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from accounts.models import User
from helpdesk.lib.exceptions import ApplicationError
from privacy import services


class Command(BaseCommand):
    help = "Export a person's data as JSON, or erase the person (pseudonymous placeholder kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "erase", "sweep"])
        parser.add_argument("person", help="user id or e-mail address")
        parser.add_argument("--output", "-o", help="export: write to this file instead of stdout")
        parser.add_argument("--actor", help="e-mail of the admin on whose behalf this runs (audited)")
        parser.add_argument(
            "--confirm", help="erase: the person's e-mail address again (required, guards against typos)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        person = self._user(options["person"])
        actor = self._user(options["actor"]) if options["actor"] else None
        try:
            if options["action"] == "export":
                self._export(person, actor, options["output"])
            elif options["action"] == "sweep":
                counts = services.person_erase_sweep(subject_id=person.pk)
                if counts is None:
                    raise CommandError(f"User #{person.pk} is not erased.")
                self.stdout.write(f"Swept user #{person.pk}: {json.dumps(counts)}")
            else:
                if not options["confirm"]:
                    raise CommandError("erase needs --confirm <the person's e-mail address>.")
                audit = services.person_erase(
                    subject_id=person.pk, actor=actor, via="command", confirm_email=options["confirm"]
                )
                self.stdout.write(f"Erased user #{person.pk} (audit #{audit.pk}): {json.dumps(audit.data)}")
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc

    def _export(self, person: User, actor: User | None, output: str | None) -> None:
        data = services.person_export_record(subject=person, actor=actor, via="command")
        text = json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
            self.stdout.write(f"Wrote {output}")
        else:
            sys.stdout.write(text + "\n")

    def _user(self, ref: str) -> User:
        lookup = {"pk": int(ref)} if ref.isdigit() else {"email__iexact": ref}
        try:
            return User.objects.get(**lookup)
        except User.DoesNotExist as exc:
            raise CommandError(f"No user {ref!r}.") from exc
