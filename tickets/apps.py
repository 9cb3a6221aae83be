from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from tickets import (
            attachments,  # noqa: F401  registers the libmagic system check
            live,
            sla_services,
            subscribers,
        )

        # tickets' own followers of its event log (docs/architecture.md):
        # the stored SLA due instants follow every event, in the writing
        # transaction (after the metrics dirty mark, order 10) ...
        subscribers.subscribe(
            "tickets.sla_refresh",
            sla_services.sla_refresh_subscriber,
            topic=subscribers.TICKETS_CHANGED,
            phase=subscribers.IN_TRANSACTION,
            order=20,
        )
        # ... and open ticket pages learn of the change once it commits
        # (a cache hint; the log is the truth).
        subscribers.subscribe(
            "tickets.live",
            live.tickets_changed,
            topic=subscribers.TICKETS_CHANGED,
            phase=subscribers.ON_COMMIT,
            order=30,
        )
