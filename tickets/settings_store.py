"""Read and write one HelpdeskSetting row by key (offered to apps below
tickets through helpdesk.lib.providers; the row's audit is django-auditlog's)."""

from typing import Any

from django.db import connections, router

from tickets.models import HelpdeskSetting


def setting_read(key: str) -> Any:
    """`HelpdeskSetting.objects.filter(key=key).values_list("value").first()`
    written out: the sign-in policy is read on every staff page
    (accounts.two_factor.requirement), and compiling the ORM statement cost
    more CPU than running it (docs/workspace-list.md, "Rendering cost")."""
    alias = router.db_for_read(HelpdeskSetting)
    table = HelpdeskSetting._meta.db_table
    with connections[alias].cursor() as cursor:
        cursor.execute(f'SELECT "value" FROM "{table}" WHERE "key" = %s ORDER BY "id" LIMIT 1', [key])  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        return None
    field: Any = HelpdeskSetting._meta.get_field("value")  # decodes as the ORM would
    return field.from_db_value(row[0], None, connections[alias])


def setting_write(key: str, value: Any) -> None:
    setting = HelpdeskSetting.objects.filter(key=key).first()
    if setting is None:
        HelpdeskSetting.objects.create(key=key, value=value)
    elif setting.value != value:
        setting.value = value
        setting.save()
