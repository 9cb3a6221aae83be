from django.apps import AppConfig


class SuccessConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "success"
    verbose_name = "Customer success"
