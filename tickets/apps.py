from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from helpdesk.lib import providers
        from tickets.settings_store import setting_read, setting_write

        # The HelpdeskSetting rows, for apps below tickets (accounts' sign-in policy).
        providers.provide(providers.SETTING_READ, setting_read)
        providers.provide(providers.SETTING_WRITE, setting_write)
        from tickets import (
            attachments,  # noqa: F401  registers the libmagic system check
            first_reply,
            live,
            sla_dirty,
            subscribers,
        )

        # tickets' own followers of its event log (docs/architecture.md):
        # the stored SLA due instants follow every event: a dirty mark in the
        # writing transaction (after the metrics dirty mark, order 10), the
        # refresh in a worker after the commit (docs/delivery.md) ...
        subscribers.subscribe(
            "tickets.sla_refresh",
            sla_dirty.sla_refresh_subscriber,
            topic=subscribers.TICKETS_CHANGED,
            phase=subscribers.IN_TRANSACTION,
            order=20,
        )
        # ... the first-reply clock's start while no reply followed (awaiting first reply) ...
        subscribers.subscribe(
            "tickets.first_reply_refresh",
            first_reply.first_reply_refresh_subscriber,
            topic=subscribers.TICKETS_CHANGED,
            phase=subscribers.IN_TRANSACTION,
            order=25,
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
