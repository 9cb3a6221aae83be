from django.contrib import admin
from django.http import HttpRequest

from privacy.models import PrivacyAuditEvent


@admin.register(PrivacyAuditEvent)
class PrivacyAuditEventAdmin(admin.ModelAdmin):
    """Read-only: the table is append-only (a trigger refuses changes)."""

    list_display = ["id", "kind", "subject", "actor", "via", "occurred_at"]
    list_filter = ["kind", "via"]
    raw_id_fields = ["subject", "actor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
