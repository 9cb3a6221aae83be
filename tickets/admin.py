"""Admin for configuration. Tickets are worked in the agent workspace;
events are read-only here (and append-only in the database)."""

from django.contrib import admin

from tickets.models import Calendar, Queue, QueueMembership, RequestType, SLAPolicy, Tag, Ticket, TicketEvent


class QueueMembershipInline(admin.TabularInline):
    model = QueueMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "kind", "calendar", "sla_policy", "auto_assign", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["slug", "name"]
    inlines = [QueueMembershipInline]


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "updated_at"]


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "updated_at"]


@admin.register(RequestType)
class RequestTypeAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "queue", "is_active", "position"]
    list_filter = ["is_active", "queue"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    """Read-only: every change must go through services (and events)."""

    list_display = ["id", "subject", "queue", "status", "priority", "requester", "assignee", "updated_at"]
    list_filter = ["status", "priority", "kind", "queue"]
    search_fields = ["subject", "external_id"]
    list_select_related = ["queue", "requester", "assignee"]
    show_full_result_count = False


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "ticket_id", "kind", "actor_role", "occurred_at"]
    list_filter = ["kind", "actor_role"]
    raw_id_fields = ["ticket", "actor"]
    show_full_result_count = False
