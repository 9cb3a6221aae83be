from django.apps import AppConfig


class AutomationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "automation"
    verbose_name = "Automation settings"

    def ready(self) -> None:
        # Every change to these settings, by any path, is a LogEntry
        # (the History page reads them). User: only the staff fields.
        from auditlog.registry import auditlog

        from accounts.models import Organisation, User
        from tickets.models import Macro, QueueMembership, RoutingRule, SavedView

        for model in (Macro, RoutingRule, SavedView, Organisation, QueueMembership):
            auditlog.register(model)
        # Not the name: an erased person's name must not live on in the log.
        auditlog.register(User, include_fields=["role", "is_active", "capacity", "is_away", "organisation"])
