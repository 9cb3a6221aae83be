from django.apps import AppConfig


class MailConfig(AppConfig):
    """The email channel: inbound intake, the notifications outbox, CSAT links."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "mail"
    verbose_name = "Email channel"

    def ready(self) -> None:
        from helpdesk.lib import providers
        from mail.services.outbox import (
            NOTIFYING_KINDS,
            notification_enqueue_account,
            notification_enqueue_report,
            notifications_for_new_event,
            sla_escalation_notify,
        )
        from tickets import subscribers

        # Outbox rows are written in the event's transaction: they commit
        # (and are then sent) with it or not at all (docs/delivery.md).
        subscribers.subscribe(
            "mail.notifications",
            notifications_for_new_event,
            kinds=NOTIFYING_KINDS,
            phase=subscribers.IN_TRANSACTION,
            order=10,
        )
        subscribers.subscribe(
            "mail.sla_escalation",
            sla_escalation_notify,
            topic=subscribers.SLA_NOTIFY,
            phase=subscribers.IN_TRANSACTION,
        )
        # Reports of the apps below (metrics' weekly KPI e-mail) go out as
        # outbox rows too.
        providers.provide(providers.REPORT_MAIL, notification_enqueue_report)
        providers.provide(providers.ACCOUNT_MAIL, notification_enqueue_account)
