"""Config audit trail on django-auditlog (docs/settings.md).

Every registered model's create, update and delete becomes an auditlog
`LogEntry` with who (actor), when, which object, the changed fields
(before -> after) and by which path in `additional_data["via"]`:
`page` (/settings/), `admin` (/admin/), `api` (/api/), `file`
(`helpdesk_config apply`) or `other` (shell, migrations, other pages).

Other apps register their configuration models with `auditlog.register`
(anywhere, e.g. in their AppConfig.ready); the History page and the API
read every LogEntry, so they are picked up without a change here.
"""

import contextlib
from collections.abc import Iterator
from typing import Any

from auditlog.context import set_extra_data
from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from auditlog.signals import pre_log
from django.http import HttpRequest

VIA_PAGE, VIA_ADMIN, VIA_API, VIA_FILE, VIA_OTHER = "page", "admin", "api", "file", "other"
VIA_CHOICES = (VIA_PAGE, VIA_ADMIN, VIA_API, VIA_FILE, VIA_OTHER)


def via_for_path(path: str) -> str:
    """Which configuration path a request URL is."""
    for prefix, via in (("/settings/", VIA_PAGE), ("/admin/", VIA_ADMIN), ("/api/", VIA_API)):
        if path.startswith(prefix):
            return via
    return VIA_OTHER


class ConfigAuditMiddleware(AuditlogMiddleware):
    """auditlog's middleware, plus the path, and the actor read when the
    entry is written: DRF authenticates tokens inside the view (and then
    sets request.user), after this middleware has run."""

    def get_extra_data(self, request: HttpRequest) -> dict[str, Any]:
        data = super().get_extra_data(request)
        data.pop("actor", None)
        data["actor_id"] = lambda: _user_attr(request, "pk")
        data["actor_email"] = lambda: _user_attr(request, "email")
        data["additional_data"] = {"via": via_for_path(request.path)}
        return data


def _user_attr(request: HttpRequest, name: str) -> Any:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return getattr(user, name)


@contextlib.contextmanager
def audit_via(via: str, *, actor_email: str | None = None) -> Iterator[None]:
    """Label the entries written inside the block (no request: commands)."""
    context: dict[str, Any] = {"additional_data": {"via": via}}
    if actor_email:
        context["actor_email"] = actor_email
    with set_extra_data(context_data=context):
        yield


def _skip_customer_signups(sender: type, instance: Any, action: int, **kwargs: Any) -> bool | None:
    """Users are audited for their role and active flag as staff: a new
    customer account is not a configuration change."""
    if action == LogEntry.Action.CREATE and getattr(instance, "role", None) == "customer":
        return False
    return None


def register_config_models() -> None:
    from accounts.models import User
    from tickets.models import (
        Calendar,
        CalendarVersion,
        HelpdeskSetting,
        Queue,
        QueueCalendarChange,
        QueueMembership,
        RequestType,
        SLAPolicy,
    )

    for model in (Calendar, SLAPolicy, Queue, RequestType, HelpdeskSetting):
        if not auditlog.contains(model):
            auditlog.register(model, exclude_fields=["updated_at"])
    if not auditlog.contains(QueueMembership):
        auditlog.register(QueueMembership)
    if not auditlog.contains(CalendarVersion):  # who made each version (the Calendar page lists them)
        auditlog.register(CalendarVersion, exclude_fields=["created_at"])
    if not auditlog.contains(QueueCalendarChange):  # who changed a queue's calendar, when
        auditlog.register(QueueCalendarChange, exclude_fields=["created_at"])
    if not auditlog.contains(User):
        auditlog.register(User, include_fields=["role", "is_active", "is_superuser", "capacity"])
        pre_log.connect(_skip_customer_signups, sender=User, dispatch_uid="desk_settings_skip_customers")


def history_entries(
    *, content_type_id: int | None = None, object_pk: str | None = None, before_id: int | None = None, limit: int = 50
) -> list[LogEntry]:
    """Newest first, keyset on id (`before_id`: the last id of the previous page)."""
    qs = LogEntry.objects.select_related("content_type", "actor").order_by("-id")
    if content_type_id:
        qs = qs.filter(content_type_id=content_type_id)
    if object_pk:
        qs = qs.filter(object_pk=object_pk)
    if before_id:
        qs = qs.filter(id__lt=before_id)
    return list(qs[: limit + 1])


def entry_via(entry: LogEntry) -> str:
    data = entry.additional_data if isinstance(entry.additional_data, dict) else {}
    via = data.get("via")
    return via if via in VIA_CHOICES else VIA_OTHER


def entry_changes(entry: LogEntry) -> list[tuple[str, Any, Any]]:
    """(field, before, after) rows; a create has no before, a delete no after."""
    rows: list[tuple[str, Any, Any]] = []
    for name, pair in sorted((entry.changes_dict or {}).items()):
        if isinstance(pair, dict):  # m2m shape: {"type", "operation", "objects"}
            rows.append((name, "", f"{pair.get('operation')} {', '.join(map(str, pair.get('objects', [])))}"))
        else:
            before, after = [*pair, None, None][:2]
            rows.append((name, before, after))
    return rows


def latest_entries(model: type, object_pks: list[Any]) -> dict[str, LogEntry]:
    """object pk (as text) -> its newest LogEntry (one query)."""
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(model)
    entries = LogEntry.objects.filter(content_type=ct, object_pk__in=[str(pk) for pk in object_pks]).order_by("id")
    return {e.object_pk: e for e in entries.select_related("actor")}


def content_type_id(label: str) -> int | None:
    """'tickets.calendar' -> its ContentType id (None when unknown)."""
    from django.contrib.contenttypes.models import ContentType

    app_label, _, model = label.lower().partition(".")
    return ContentType.objects.filter(app_label=app_label, model=model).values_list("pk", flat=True).first()
