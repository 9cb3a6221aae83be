from django.apps import AppConfig


class SurveysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "surveys"
    verbose_name = "Surveys (CSAT, CES, NPS)"

    def ready(self) -> None:
        # The configuration document's `surveys` section (tickets.config).
        from surveys.nps import config_section_register

        config_section_register()
