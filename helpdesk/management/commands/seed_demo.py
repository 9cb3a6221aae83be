"""`seed_demo [--tickets N] [--seed S]`: a realistic demo through the import path (docs/import.md).

Applies a configuration document (support and service queues, a business-hours
calendar, an SLA policy, request types, agents and a manager), creates the demo
logins, organisations and customers, a few KB articles, then N tickets with
months of history generated as import lines and fed to tickets.importing (the
same code path as import_tickets). Idempotent: what exists is skipped.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import mail
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.test.utils import override_settings

from accounts.models import Organisation, User
from helpdesk.lib.progress import Progress
from knowledge_base import demo as kb_demo
from tickets import config, importing
from tickets.importing import demo, demo_live
from tickets.models import HelpdeskSetting

ANCHOR_KEY = "demo.anchor"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


@contextmanager
def quiet_demo_mail() -> Iterator[list[Any]]:
    """With the console mail backend (the embedded default), the ~100 notifications
    the demo's live workload sends would bury the URL and logins `make run` prints:
    they go to memory instead, as do the in-process task log lines
    (docs/import.md "Demo e-mails"). Any other backend is left alone."""
    if settings.EMAIL_BACKEND != CONSOLE_BACKEND:
        yield []
        return
    trace = logging.getLogger("celery.app.trace")
    level = trace.level
    trace.setLevel(logging.WARNING)
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            mail.outbox = []
            yield mail.outbox
    finally:
        trace.setLevel(level)


class Command(BaseCommand):
    help = "Build demo data: queues, agents, customers, KB articles and N tickets with months of history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=300, help="Number of demo tickets (default 300).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (same seed, same demo).")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        with quiet_demo_mail() as kept:
            self._seed(options)
        if kept:
            self.stdout.write(
                f"{len(kept)} demo e-mails were sent to memory, not printed; "
                "new ones print here while the app runs (docs/import.md)."
            )
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password: {demo.DEMO_PASSWORD}):")
        for email, _, role in demo.DEMO_LOGINS:
            self.stdout.write(f"  {role:9} {email}")

    def _seed(self, options: dict[str, Any]) -> None:
        n, seed = max(0, options["tickets"]), options["seed"]
        verbose = options["verbosity"] > 0
        self._logins()
        report = config.config_apply(demo.demo_config())
        self.stdout.write(
            f"Configuration: {report.created} created, {report.updated} updated, {report.unchanged} unchanged"
        )
        self._customers(n)
        self._articles()
        anchor = self._anchor()
        with Progress(total=n, unit="tickets", desc="Seeding", stream=self.stderr, enabled=verbose) as bar:
            result = importing.import_records(
                demo.demo_lines(n, seed=seed, anchor=anchor),
                batch_size=max(1, options["batch_size"]),
                on_progress=bar.update,
            )
        for issue in result.issues[:20]:
            self.stderr.write(str(issue))
        self.stdout.write(result.summary())
        present = self._present()
        self.stdout.write("Open workload: " + ", ".join(f"{n} {what}" for what, n in present.items()) + " created")

    def _present(self) -> dict[str, int]:
        """The open workload (tickets.importing.demo_live) with the KB's
        demo categories, in the order the summary line lists them."""
        present = demo_live.present_seed()
        manager = User.objects.filter(email="manager@example.com").first()
        categories = kb_demo.kb_categories_seed(manager=manager)
        order = ["live tickets", "macros", "KB categories", "shared views"]
        return {what: categories if what == "KB categories" else present[what] for what in order}

    def _anchor(self) -> datetime:
        """History ends at the first run's midnight, so re-runs on later
        days produce the same lines (and change nothing)."""
        setting = HelpdeskSetting.objects.filter(key=ANCHOR_KEY).first()
        if setting is None:
            anchor = demo.default_anchor()
            HelpdeskSetting.objects.create(key=ANCHOR_KEY, value=anchor.isoformat())
            return anchor
        return datetime.fromisoformat(setting.value)

    def _logins(self) -> None:
        for email, name, role in demo.DEMO_LOGINS:
            if User.objects.filter(email__iexact=email).exists():
                continue
            User.objects.create_user(
                email=email,
                password=demo.DEMO_PASSWORD,
                name=name,
                role=role,
                is_staff=role == "admin",
                is_superuser=role == "admin",
            )

    @transaction.atomic
    def _customers(self, n: int) -> None:
        """Organisations (every other one shares tickets) and customers."""
        n_orgs, n_customers = demo.org_count(n), demo.customer_count(n)
        existing_orgs = set(Organisation.objects.filter(name__startswith="Demo org ").values_list("name", flat=True))
        Organisation.objects.bulk_create(
            [
                Organisation(name=f"Demo org {k}", domain=f"org{k}.example", shares_tickets=k % 2 == 0)
                for k in range(min(n_orgs, 1000))
                if f"Demo org {k}" not in existing_orgs
            ],
            batch_size=1000,
        )
        orgs = dict(Organisation.objects.filter(name__startswith="Demo org ").values_list("domain", "pk"))
        password = make_password(None)
        existing: set[str] = set()
        emails = [demo.customer_email(j) for j in range(1, n_customers)]
        for i in range(0, len(emails), 5000):
            existing |= set(User.objects.filter(email__in=emails[i : i + 5000]).values_list("email", flat=True))
        User.objects.bulk_create(
            [
                User(
                    email=e,
                    username=e,
                    name=f"Customer {e.split('@')[0][8:]}",
                    role=User.Role.CUSTOMER,
                    organisation_id=orgs.get(e.split("@")[1]),
                    password=password,
                )
                for e in emails
                if e not in existing
            ],
            batch_size=2000,
        )
        User.objects.filter(email="customer@example.com", organisation__isnull=True).update(
            organisation_id=orgs.get("org0.example")
        )

    def _articles(self) -> None:
        manager = User.objects.filter(email="manager@example.com").first()
        try:
            kb_demo.seed_help_centre(manager=manager)
        except Exception as exc:  # the KB app is optional for the demo
            self.stderr.write(f"KB demo articles skipped: {exc}")
