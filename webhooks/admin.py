from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.request_user import signed_in
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookSubscription


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("id", "url", "active", "failure_count", "disabled_at", "created_by", "created_at")
    list_filter = ("active",)
    search_fields = ("url", "description")
    readonly_fields = ("secret_hint", "failure_count", "disabled_at", "disabled_reason", "created_by", "created_at")
    exclude = ("secret",)
    actions = ("activate", "deactivate")

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form: Any, change: bool) -> None:
        if not change:
            obj.secret = services.secret_generate()
            obj.created_by = signed_in(request)
            obj.events = services._validate_events(obj.events or ["*"])
            super().save_model(request, obj, form, change)
            self.message_user(
                request,
                f"Signing secret (shown once, store it in the receiver): {obj.secret}",
                messages.WARNING,
            )
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Activate (clears the failure notice)")
    def activate(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for sub in queryset:
            services.subscription_update(subscription_id=sub.pk, actor=request.user, active=True)

    @admin.action(description="Deactivate")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for sub in queryset:
            services.subscription_deactivate(subscription_id=sub.pk, actor=request.user)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "subscription",
        "event_id",
        "status",
        "attempts",
        "response_code",
        "duration_ms",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status",)
    list_select_related = ("subscription",)
    raw_id_fields = ("subscription", "event")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ("replay",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay (send again)")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        done = 0
        for row in queryset:
            try:
                services.delivery_replay(delivery_id=row.pk, actor=request.user)
                done += 1
            except services.ApplicationError as exc:
                self.message_user(request, f"#{row.pk}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{done} deliveries queued again.")
