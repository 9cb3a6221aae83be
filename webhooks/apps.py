from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from webhooks.models import WebhookSubscription

        # Admin edits too: the per-event lookup cache follows every change.
        post_save.connect(_clear, sender=WebhookSubscription, dispatch_uid="webhooks-cache-save")
        post_delete.connect(_clear, sender=WebhookSubscription, dispatch_uid="webhooks-cache-delete")

        from tickets import subscribers
        from webhooks.services import webhooks_for_event

        # Delivery rows are an outbox in the event's transaction, after the
        # notifications outbox (order 10); sent by Celery once it commits.
        subscribers.subscribe("webhooks.outbox", webhooks_for_event, phase=subscribers.IN_TRANSACTION, order=20)


def _clear(**kwargs: object) -> None:
    from webhooks.services import subscriptions_cache_clear

    subscriptions_cache_clear()
