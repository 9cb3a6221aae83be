"""Read and write one HelpdeskSetting row by key (offered to apps below
tickets through helpdesk.lib.providers; the row's audit is django-auditlog's)."""

from typing import Any

from tickets.models import HelpdeskSetting


def setting_read(key: str) -> Any:
    return HelpdeskSetting.objects.filter(key=key).values_list("value", flat=True).first()


def setting_write(key: str, value: Any) -> None:
    setting = HelpdeskSetting.objects.filter(key=key).first()
    if setting is None:
        HelpdeskSetting.objects.create(key=key, value=value)
    elif setting.value != value:
        setting.value = value
        setting.save()
