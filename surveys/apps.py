from django.apps import AppConfig


class SurveysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "surveys"
    verbose_name = "Surveys (CSAT, CES, NPS)"

    def ready(self) -> None:
        from helpdesk.lib import providers
        from surveys.nps import config_section_register
        from surveys.views import survey_panels

        # The rating forms on the portal ticket page (docs/surveys.md).
        providers.provide(providers.CUSTOMER_TICKET_PANELS, survey_panels)
        # The configuration document's `surveys` section (tickets.config).
        config_section_register()
