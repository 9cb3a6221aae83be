"""Admin: mailboxes (write-only password), inbound mail with replay and
held-mail release/discard, outbox."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from helpdesk.lib.exceptions import ApplicationError
from mail import services
from mail.models import InboundMessage, Mailbox, Notification, NotificationPreference


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: stored encrypted and never shown. Leave empty to keep the current one.",
    )

    class Meta:
        model = Mailbox
        fields = ["name", "queue", "host", "port", "use_ssl", "username", "password", "password_env", "folder",
                  "is_active"]  # fmt: skip


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ["name", "queue", "host", "username", "is_active", "has_password", "last_polled_at", "last_error"]
    readonly_fields = ["last_uid", "uidvalidity", "last_polled_at", "last_error"]
    actions = ["poll_now"]

    @admin.display(boolean=True, description="password set")
    def has_password(self, obj: Mailbox) -> bool:
        return bool(obj.password_encrypted or obj.password_env)

    def save_model(self, request: HttpRequest, obj: Mailbox, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        password = form.cleaned_data.get("password")
        if password:
            services.mailbox_set_password(mailbox=obj, password=password)

    @admin.action(description="Poll now")
    def poll_now(self, request: HttpRequest, queryset: QuerySet[Mailbox]) -> None:
        for mailbox in queryset:
            try:
                n = services.mailbox_poll(mailbox_id=mailbox.pk)
                self.message_user(request, f"{mailbox}: {n} new message(s).")
            except Exception as exc:
                self.message_user(request, f"{mailbox}: {exc}", level=messages.ERROR)


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = [
        "id", "received_at", "status", "source", "from_address", "subject", "ticket", "auth_status",
        "reused_message_id", "reason",
    ]  # fmt: skip
    list_filter = ["status", "auth_status", "source", "mailbox", ("same_message_id_as", admin.EmptyFieldListFilter)]
    search_fields = ["message_id", "from_address", "subject", "reason"]
    exclude = ["raw", "raw_file"]
    readonly_fields = [
        "size", "sha256", "content_sha256", "source", "mailbox", "message_id", "dedupe_key", "duplicate_of",
        "same_message_id_as", "status", "reason", "auth_status", "auth_detail", "from_address", "subject", "ticket",
        "result_message", "threaded_by", "attempts", "received_at", "processed_at", "resolved_by", "resolved_at",
        "raw_preview",
    ]  # fmt: skip
    actions = ["replay", "release", "discard"]

    @admin.display(boolean=True, description="reused Message-ID")
    def reused_message_id(self, obj: InboundMessage) -> bool:
        return obj.same_message_id_as_id is not None

    @admin.display(description="raw message (first 20 kB)")
    def raw_preview(self, obj: InboundMessage) -> str:
        from mail.storage import inbound_raw

        return inbound_raw(obj)[:20000].decode("utf-8", "replace")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Replay (process again)")
    def replay(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        for inbound in queryset.filter(status__in=["quarantined", "received"]):
            result = services.inbound_replay(inbound.pk)
            self.message_user(request, f"#{result.pk}: {result.status} {result.reason}")

    @admin.action(description="Release held mail (as the customer's reply; staff mail as an internal note)")
    def release(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        self._resolve(request, queryset, services.inbound_release)

    @admin.action(description="Discard held mail")
    def discard(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        self._resolve(request, queryset, services.inbound_discard)

    def _resolve(self, request: HttpRequest, queryset: QuerySet[InboundMessage], action: Any) -> None:
        for inbound in queryset.filter(status=InboundMessage.Status.HELD):
            try:
                result = action(inbound_id=inbound.pk, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"#{inbound.pk}: {exc.message}", level=messages.ERROR)
            else:
                self.message_user(request, f"#{result.pk}: {result.reason}")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "kind", "to_email", "ticket", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to_email", "message_id", "subject"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "enabled"]
    list_filter = ["kind", "enabled"]
    raw_id_fields = ["user"]
