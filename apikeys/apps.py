from django.apps import AppConfig


class ApikeysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apikeys"
    verbose_name = "API tokens"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from accounts.models import User
        from apikeys.models import ApiToken

        # A saved user (deactivated, role changed) or token is re-read by this
        # process's next call at once; other processes within the TTL
        # (apikeys.token_cache).
        for sender in (User, ApiToken):
            post_save.connect(_forget, sender=sender, dispatch_uid=f"apikeys-forget-save-{sender.__name__}")
            post_delete.connect(_forget, sender=sender, dispatch_uid=f"apikeys-forget-delete-{sender.__name__}")


def _forget(**kwargs: object) -> None:
    from apikeys.token_cache import tokens_forget

    tokens_forget()
