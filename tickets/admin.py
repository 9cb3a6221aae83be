"""Admin for configuration. Tickets are worked in the agent workspace;
events are read-only here (and append-only in the database)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from tickets.calendar_versions import (
    calendar_content,
    calendar_edit_record,
    calendar_row_mirror,
    calendar_versions_by_id,
    calendar_versions_of,
    effective_from_parse,
    queue_calendar_record,
)
from tickets.config import config_item_problems
from tickets.models import (
    Calendar,
    Queue,
    QueueMembership,
    RequestType,
    SLAPolicy,
    Tag,
    Ticket,
    TicketEvent,
)


class _ConfigItemForm(forms.ModelForm):
    """Refuses what `helpdesk_config apply` refuses, with the error on its field
    (an unusable calendar or policy would otherwise break every submission)."""

    section = ""
    item_fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or self.cleaned_data
        item = {name: data[name] for name in self.item_fields if data.get(name) is not None}
        for name, messages in config_item_problems(self.section, item).items():
            field = name if name in self.fields else None
            for message in messages:
                if field is None or field not in self.errors:
                    self.add_error(field, message)
        return data


class CalendarForm(_ConfigItemForm):
    """A change is a new version (docs/metrics.md#calendar-versions):
    effective now, or at `effective_from`, never in the past."""

    section = "calendars"
    item_fields = ("name", "timezone", "hours", "holidays", "overrides", "effective_from")
    effective_from = forms.CharField(
        required=False,
        help_text="When the change takes effect: empty = now, or a later ISO 8601 date-time with its offset,"
        " e.g. 2026-12-01T09:00:00+01:00. Past business values never move.",
    )

    def clean_effective_from(self) -> str | None:
        return self.cleaned_data.get("effective_from") or None

    class Meta:
        model = Calendar
        fields = ["name", "timezone", "hours", "holidays", "overrides"]
        help_texts = {
            "timezone": "An IANA time zone name, e.g. Europe/Paris or America/New_York.",
            "hours": 'Weekly open hours per day (mon..sun), e.g. {"mon": [["09:00", "17:00"]]};'
            " a missing day is closed.",
            "holidays": 'Closed dates, e.g. ["2026-12-25"].',
            "overrides": 'One-off hours, e.g. [{"date": "2026-12-24", "hours": [["09:00", "12:00"]]}].',
        }


class SLAPolicyForm(_ConfigItemForm):
    section = "sla_policies"
    item_fields = ("name", "pause_statuses", "targets", "warning_fraction", "escalations")

    class Meta:
        model = SLAPolicy
        fields = ["name", "pause_statuses", "targets", "warning_fraction", "escalations"]
        help_texts = {
            "pause_statuses": 'Statuses that pause the clocks, e.g. ["pending"].',
            "targets": 'Seconds per priority, e.g. {"high": {"first_response": 14400, "resolution": 86400,'
            ' "business_hours": true}}.',
            "warning_fraction": "Warn when this fraction of a target has elapsed (between 0 and 1).",
            "escalations": 'e.g. [{"on": "breach", "action": "notify_manager"}].',
        }


class QueueForm(forms.ModelForm):
    """Queues through the same rules as the config file and the Settings page."""

    class Meta:
        model = Queue
        fields = [
            "slug",
            "name",
            "kind",
            "calendar",
            "sla_policy",
            "auto_assign",
            "inbound_email",
            "auto_close_days",
            "pending_reminder_days",
            "send_acknowledgement",
            "is_active",
        ]

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or self.cleaned_data
        item = {
            name: data.get(name) for name in self.Meta.fields if name not in ("calendar", "sla_policy", "is_active")
        }
        item["calendar"] = data["calendar"].name if data.get("calendar") else None
        item["sla_policy"] = data["sla_policy"].name if data.get("sla_policy") else None
        item["inbound_email"] = item["inbound_email"] or ""
        _add_problems(self, config_item_problems("queues", item))
        return data


class RequestTypeForm(forms.ModelForm):
    class Meta:
        model = RequestType
        fields = ["slug", "name", "queue", "description", "position", "is_default", "is_active"]

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or self.cleaned_data
        item = {
            "slug": data.get("slug"),
            "name": data.get("name"),
            "queue": data["queue"].slug if data.get("queue") else None,
        }
        _add_problems(self, config_item_problems("request_types", item))
        if data.get("is_default") and RequestType.objects.filter(is_default=True).exclude(pk=self.instance.pk).exists():
            self.add_error("is_default", "another request type is the default: unset it first")
        return data


def _add_problems(form: forms.ModelForm, problems: dict[str, list[str]]) -> None:
    for name, messages in problems.items():
        field = name if name in form.fields else None
        for message in messages:
            if field is None or field not in form.errors:
                form.add_error(field, message)


class QueueMembershipInline(admin.TabularInline):
    model = QueueMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    form = QueueForm
    list_display = [
        "slug",
        "name",
        "kind",
        "calendar",
        "sla_policy",
        "auto_assign",
        "send_acknowledgement",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["slug", "name"]
    inlines = [QueueMembershipInline]

    def save_model(self, request: HttpRequest, obj: Queue, form: forms.ModelForm, change: bool) -> None:
        """A change of calendar is recorded from now (docs/metrics.md#calendar-assignments)."""
        with transaction.atomic():
            before = Queue.objects.filter(pk=obj.pk).values_list("calendar_id", flat=True).first() if change else None
            obj.save()
            moved = queue_calendar_record(queue_id=obj.pk, before=before, after=obj.calendar_id, created=not change)
            if change and (moved or "sla_policy" in form.changed_data):  # open tickets' due instants, as config does
                from tickets.sla_services import tickets_sla_refresh

                open_ids = Ticket.objects.filter(queue=obj, status__in=Ticket.UNSOLVED).values_list("pk", flat=True)
                tickets_sla_refresh(ticket_ids=list(open_ids))


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    form = CalendarForm
    list_display = ["name", "timezone", "updated_at"]
    readonly_fields = ["versions"]

    @admin.display(description="Versions")
    def versions(self, obj: Calendar) -> str:
        """Read-only: saving the calendar writes them (docs/metrics.md#calendar-versions)."""
        rows = [
            (v.effective_from.isoformat() if v.effective_from else "the beginning", v.timezone, v.hours)
            for v in calendar_versions_by_id([obj.pk]).get(obj.pk, [])
        ]
        return format_html_join(mark_safe("<br>"), "from {}: {} {}", rows) if rows else "-"

    def save_model(self, request: HttpRequest, obj: Calendar, form: forms.ModelForm, change: bool) -> None:
        """The row's new values become a version (through the one service);
        the row then mirrors the latest version."""
        content = calendar_content(obj)
        with transaction.atomic():
            if change:
                stored = Calendar.objects.get(pk=obj.pk)
                calendar_versions_of(stored)  # the values so far, if it had no version yet
                for name, value in calendar_content(stored).items():
                    setattr(obj, name, value)
            obj.save()
            if change:
                when = effective_from_parse(form.cleaned_data.get("effective_from"))
                calendar_edit_record(calendar=obj, effective_from=when, content=content)
            else:
                calendar_versions_of(obj)
            calendar_row_mirror(obj)


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    form = SLAPolicyForm
    list_display = ["name", "updated_at"]


@admin.register(RequestType)
class RequestTypeAdmin(admin.ModelAdmin):
    form = RequestTypeForm
    list_display = ["slug", "name", "queue", "is_active", "position"]
    list_filter = ["is_active", "queue"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
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
