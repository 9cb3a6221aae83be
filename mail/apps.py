from django.apps import AppConfig


class MailConfig(AppConfig):
    """The email channel: inbound intake, the notifications outbox, CSAT links."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "mail"
    verbose_name = "Email channel"
