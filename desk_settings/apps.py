from django.apps import AppConfig


class DeskSettingsConfig(AppConfig):
    name = "desk_settings"
    verbose_name = "Settings"

    def ready(self) -> None:
        from desk_settings import audit

        audit.register_config_models()
