from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Help desk"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from helpdesk import checks  # noqa: F401  (registers the deploy checks)
        from helpdesk.lib.sqlite import register

        connection_created.connect(register, dispatch_uid="helpdesk-sqlite-functions")
