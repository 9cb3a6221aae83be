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


def _clear(**kwargs: object) -> None:
    from webhooks.services import subscriptions_cache_clear

    subscriptions_cache_clear()
