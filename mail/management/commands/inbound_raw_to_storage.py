"""Move raw e-mails stored in the database (before docs/storage.md) into
the file storage, in batches; safe to stop and run again."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from mail.models import InboundMessage
from mail.storage import raw_save


class Command(BaseCommand):
    help = "Move raw e-mails kept in the database into the file storage (STORAGE_URL), in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=200)

    def handle(self, *args: Any, batch: int, **options: Any) -> None:
        moved = 0
        while True:
            with transaction.atomic():
                rows = list(
                    InboundMessage.objects.select_for_update(skip_locked=True)
                    .filter(raw_file="")
                    .exclude(raw=b"")
                    .only("pk", "raw")
                    .order_by("pk")[: max(1, batch)]
                )
                if not rows:
                    break
                for row in rows:
                    name = raw_save(bytes(row.raw))
                    InboundMessage.objects.filter(pk=row.pk).update(raw_file=name, raw=b"")
                moved += len(rows)
            self.stdout.write(f"moved {moved}")
        self.stdout.write(self.style.SUCCESS(f"done: {moved} raw e-mail(s) now in the file storage"))
