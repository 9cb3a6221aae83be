"""Reads of the webhooks app (the API's lists and lookups)."""

from django.db.models import QuerySet
from django.http import Http404

from webhooks.models import WebhookDelivery, WebhookSubscription


def subscription_list() -> QuerySet[WebhookSubscription]:
    """Every subscription, newest first."""
    return WebhookSubscription.objects.order_by("-id")


def subscription_get(*, subscription_id: str | int) -> WebhookSubscription:
    """One subscription; Http404 for an unknown or malformed id."""
    try:
        return WebhookSubscription.objects.get(pk=int(subscription_id))
    except (WebhookSubscription.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such webhook.") from None


def delivery_list(*, subscription: WebhookSubscription) -> QuerySet[WebhookDelivery]:
    """The subscription's delivery log, newest first."""
    return WebhookDelivery.objects.filter(subscription=subscription).order_by("-id")


def delivery_exists(*, subscription: WebhookSubscription, delivery_id: int) -> bool:
    return WebhookDelivery.objects.filter(pk=delivery_id, subscription=subscription).exists()
