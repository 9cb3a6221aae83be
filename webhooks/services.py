"""Outbound webhooks: subscriptions, the outbox rows and their delivery.

Rules (written down here and in README.md):
- A delivery row is written for every active subscription whose `events`
  list names the event's kind (or "*"), in the event's own transaction
  (an in-transaction subscriber of tickets.events.event_record, registered
  in webhooks.apps): a rolled-back event sends nothing, a committed one is
  never lost. The bulk import path (which publishes only TICKETS_CHANGED)
  writes none, and events older than
  HELPDESK_WEBHOOK_MAX_EVENT_AGE_HOURS (history replayed by seeds) neither.
- Internal notes (message.created with visibility `internal`) are sent only
  to subscriptions with `include_internal` set; by default they are not.
- The common case costs one cache read: the active subscriptions are
  cached (cleared on every change); with none, nothing else happens. A
  cache outage falls back to one query.
- Delivery (`webhook_deliver`): POST of the payload as JSON with
  X-Helpdesk-Event, X-Helpdesk-Delivery (and the same id as
  Idempotency-Key), X-Helpdesk-Timestamp and X-Helpdesk-Signature
  (webhooks.signing). 2xx succeeds; anything else
  (a 3xx is not followed) is retried with exponential backoff and jitter
  up to HELPDESK_WEBHOOK_MAX_ATTEMPTS, then the row is `failed`. The row
  is claimed with a short lock and a lease (next_attempt_at moved past the
  timeout and the task's time limit, committed before the POST), so the
  HTTP call holds no lock and two workers never send the same attempt; a
  succeeded row is never sent again. A worker dying mid-POST leaves the
  outcome unknown: the row is retried after the lease with the same
  delivery id (at least once; docs/delivery.md).
- After HELPDESK_WEBHOOK_DISABLE_AFTER consecutive failed attempts (a
  success resets the count) the subscription is disabled with
  `disabled_at` and a reason (admin and API show both); its pending rows
  wait until it is activated again.
"""

import json
import logging
import random
import secrets
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from helpdesk.lib.exceptions import ApplicationError, Conflict
from tickets.models import Message, TicketEvent
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.signing import webhook_signature_header

logger = logging.getLogger(__name__)

DS = WebhookDelivery.Status
CACHE_KEY = "webhooks:active-subscriptions:v1"
CACHE_SECONDS = 300
ALL = "*"
RESPONSE_EXCERPT = 2000

DEFAULTS: dict[str, Any] = {
    "HELPDESK_WEBHOOK_TIMEOUT": 5,  # seconds, connect + read
    "HELPDESK_WEBHOOK_MAX_ATTEMPTS": 10,
    "HELPDESK_WEBHOOK_BACKOFF_SECONDS": 30,  # first retry; doubles each time
    "HELPDESK_WEBHOOK_BACKOFF_MAX_SECONDS": 6 * 3600,
    "HELPDESK_WEBHOOK_DISABLE_AFTER": 20,  # consecutive failed attempts
    "HELPDESK_WEBHOOK_MAX_EVENT_AGE_HOURS": 24,
    "HELPDESK_WEBHOOK_PROXY": "",  # "" = direct connection (environment proxies ignored)
    # An attempt with no recorded outcome after this long was cut short (the
    # worker died mid-POST) and is due again; above the task's 60 s limit.
    "HELPDESK_WEBHOOK_LEASE_SECONDS": 90,
}


def webhook_setting(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def event_kinds() -> list[str]:
    return [ALL, *TicketEvent.Kind.values]


# --- subscriptions -------------------------------------------------------------


def subscriptions_cache_clear() -> None:
    """Forget the cached active subscriptions now and after the commit (so
    another process cannot re-cache the state before it)."""

    def clear() -> None:
        try:
            cache.delete(CACHE_KEY)
        except Exception:  # cache down: entries expire by themselves
            logger.warning("webhook subscription cache not cleared", exc_info=True)

    clear()
    transaction.on_commit(clear)


def _active_subscriptions() -> list[dict[str, Any]]:
    try:
        cached = cache.get(CACHE_KEY)
    except Exception:
        logger.warning("webhook subscription cache unavailable; reading the database", exc_info=True)
        return _load_active()
    if cached is not None:
        return list(cached)
    rows = _load_active()
    try:
        cache.set(CACHE_KEY, rows, CACHE_SECONDS)
    except Exception:
        logger.warning("webhook subscription cache not written", exc_info=True)
    return rows


def _load_active() -> list[dict[str, Any]]:
    return [
        {"id": pk, "events": list(events or []), "include_internal": internal}
        for pk, events, internal in WebhookSubscription.objects.filter(active=True)
        .order_by("id")
        .values_list("pk", "events", "include_internal")
    ]


def _validate_events(events: Any) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise ApplicationError("List at least one event kind, or '*'.", code="invalid", extra={"events": ["Required."]})
    unknown = [e for e in events if e not in event_kinds()]
    if unknown:
        raise ApplicationError(
            "Unknown event kinds.", code="invalid", extra={"events": [f"Unknown event kind '{e}'." for e in unknown]}
        )
    return [ALL] if ALL in events else sorted(set(events))


def _validate_url(url: str) -> str:
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ApplicationError("Give an http(s) URL.", code="invalid", extra={"url": ["Enter a valid URL."]}) from None
    return url


def secret_generate() -> str:
    return "whsec_" + secrets.token_hex(32)


@transaction.atomic
def subscription_create(
    *, url: str, events: list[str], actor: Any, description: str = "", include_internal: bool = False
) -> WebhookSubscription:
    """A new active subscription with a fresh secret (`.secret`: show it once)."""
    sub = WebhookSubscription.objects.create(
        url=_validate_url(url),
        events=_validate_events(events),
        description=description[:200],
        include_internal=include_internal,
        secret=secret_generate(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    subscriptions_cache_clear()
    return sub


@transaction.atomic
def subscription_update(
    *,
    subscription_id: int,
    actor: Any,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
    include_internal: bool | None = None,
    description: str | None = None,
) -> WebhookSubscription:
    """Change what is given. Activating a disabled subscription clears the
    notice and the failure count (its pending deliveries then go out)."""
    sub = WebhookSubscription.objects.select_for_update(no_key=True).get(pk=subscription_id)
    fields: list[str] = []
    if url is not None:
        sub.url = _validate_url(url)
        fields.append("url")
    if events is not None:
        sub.events = _validate_events(events)
        fields.append("events")
    if include_internal is not None:
        sub.include_internal = include_internal
        fields.append("include_internal")
    if description is not None:
        sub.description = description[:200]
        fields.append("description")
    if active is not None and active != sub.active:
        sub.active = active
        fields.append("active")
        if active:
            sub.failure_count, sub.disabled_at, sub.disabled_reason = 0, None, ""
            fields += ["failure_count", "disabled_at", "disabled_reason"]
    if fields:
        sub.save(update_fields=[*fields, "updated_at"])
    subscriptions_cache_clear()
    if active:
        due = list(
            WebhookDelivery.objects.filter(subscription=sub, status=DS.PENDING).values_list("pk", flat=True)[:500]
        )
        deliveries_enqueue(due)
    return sub


def subscription_deactivate(*, subscription_id: int, actor: Any) -> WebhookSubscription:
    """Stop sending (the API's DELETE); the delivery log is kept."""
    return subscription_update(subscription_id=subscription_id, actor=actor, active=False)


# --- outbox rows (inside the event's transaction) -------------------------------


def event_payload(event: TicketEvent) -> dict[str, Any]:
    """The event in the event-log schema (as GET /api/v1/events/ gives it
    to staff): id, ticket_id, kind, actor_id, actor_role, occurred_at,
    visibility, is_automated, data."""
    from rest_framework.fields import DateTimeField

    payload = {
        "id": event.pk,
        "ticket_id": event.ticket_id,
        "kind": event.kind,
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "occurred_at": DateTimeField().to_representation(event.occurred_at),
        "visibility": event.visibility,
        "is_automated": event.is_automated,
        "data": event.data or {},
    }
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def _wants(sub: dict[str, Any], event: TicketEvent) -> bool:
    if ALL not in sub["events"] and event.kind not in sub["events"]:
        return False
    # Internal notes only to subscriptions that opt in.
    return event.visibility != Message.Visibility.INTERNAL or bool(sub["include_internal"])


def webhooks_for_event(event: TicketEvent) -> list[WebhookDelivery]:
    """Write the delivery rows `event` calls for, in the caller's
    transaction; enqueue them on commit. Never raises for a broker outage."""
    subs = _active_subscriptions()
    if not subs:
        return []
    max_age = timedelta(hours=webhook_setting("HELPDESK_WEBHOOK_MAX_EVENT_AGE_HOURS"))
    if event.occurred_at and event.occurred_at < timezone.now() - max_age:
        return []
    wanted = [s["id"] for s in subs if _wants(s, event)]
    if not wanted:
        return []
    # The cache may be a little stale: keep only subscriptions still active.
    ids = list(WebhookSubscription.objects.filter(pk__in=wanted, active=True).values_list("pk", flat=True))
    if not ids:
        return []
    payload = event_payload(event)
    rows = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(subscription_id=pk, event=event, payload=payload) for pk in ids]
    )
    from helpdesk.lib.tasks import enqueue_on_commit
    from webhooks.tasks import deliver

    for row in rows:
        enqueue_on_commit(deliver, delivery_id=row.pk)
    return rows


# --- delivery ----------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer (a failure), never followed


def _opener() -> urllib.request.OpenerDirector:
    proxy = webhook_setting("HELPDESK_WEBHOOK_PROXY")
    proxies = {"http": proxy, "https": proxy} if proxy else {}
    return urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler(proxies))


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def _post(url: str, *, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, str]:
    """(status or None, response excerpt, error text)."""
    if not url.lower().startswith(("http://", "https://")):
        return None, "", "Only http(s) URLs are delivered to."
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (scheme checked)
    try:
        with _opener().open(request, timeout=webhook_setting("HELPDESK_WEBHOOK_TIMEOUT")) as response:
            text = response.read(RESPONSE_EXCERPT).decode("utf-8", "replace")
            return response.status, text, ""
    except urllib.error.HTTPError as exc:
        try:
            text = exc.read(RESPONSE_EXCERPT).decode("utf-8", "replace")
        except Exception:
            text = ""
        return exc.code, text, f"HTTP {exc.code}"
    except Exception as exc:  # timeouts, refused connections, TLS, bad URLs
        return None, "", f"{type(exc).__name__}: {exc}"[:2000]


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter: base * 2^(n-1), capped, times a
    random factor in [0.5, 1.0] (so retries of many rows spread out)."""
    base = webhook_setting("HELPDESK_WEBHOOK_BACKOFF_SECONDS")
    cap = webhook_setting("HELPDESK_WEBHOOK_BACKOFF_MAX_SECONDS")
    delay = min(base * 2 ** max(attempts - 1, 0), cap)
    return delay * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not crypto)


def webhook_deliver(*, delivery_id: int, now: datetime | None = None) -> str:
    """Make one attempt at a due pending delivery; returns the row's status.

    Idempotent: a succeeded or failed row, a row not yet due (another
    worker holds its lease, or its retry time is later) and a row of an
    inactive subscription are left alone. `now` lets tests step time.
    """
    now = now or timezone.now()
    timeout = webhook_setting("HELPDESK_WEBHOOK_TIMEOUT")
    with transaction.atomic():
        row = (
            WebhookDelivery.objects.select_for_update(no_key=True, of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id)
            .first()
        )
        if row is None:
            return "missing"
        if row.status != DS.PENDING or row.next_attempt_at > now or not row.subscription.active:
            return row.status
        # Claim this attempt, committed before the POST: the lease outlives
        # the HTTP call (and the task's time limit), so only a crashed
        # attempt is ever retried while its outcome is unknown.
        lease = max(webhook_setting("HELPDESK_WEBHOOK_LEASE_SECONDS"), timeout + 30)
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=lease)
        row.save(update_fields=["attempts", "next_attempt_at"])
        sub = row.subscription
        attempt = row.attempts
    body = body_bytes(row.payload)
    ts, signature = webhook_signature_header(sub.secret, body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Helpdesk-Webhooks/1",
        "X-Helpdesk-Event": row.payload.get("kind", ""),
        # Stable across retries and replays: receivers de-duplicate on it.
        "X-Helpdesk-Delivery": str(row.pk),
        "Idempotency-Key": f"helpdesk-delivery-{row.pk}",
        "X-Helpdesk-Timestamp": str(ts),
        "X-Helpdesk-Signature": signature,
    }
    started = time.monotonic()
    code, excerpt, error = _post(sub.url, body=body, headers=headers)
    duration_ms = int((time.monotonic() - started) * 1000)
    ok = code is not None and 200 <= code < 300
    return _record_attempt(
        delivery_id=row.pk, attempt=attempt, ok=ok, code=code, excerpt=excerpt, error=error, duration_ms=duration_ms
    )


def _record_attempt(
    *, delivery_id: int, attempt: int, ok: bool, code: int | None, excerpt: str, error: str, duration_ms: int
) -> str:
    now = timezone.now()
    with transaction.atomic():
        row = WebhookDelivery.objects.select_for_update(no_key=True).get(pk=delivery_id)
        if row.status != DS.PENDING or (not ok and row.attempts != attempt):
            return row.status  # done already, or a later attempt owns the row
        sub = WebhookSubscription.objects.select_for_update(no_key=True).get(pk=row.subscription_id)
        row.response_code, row.response_body, row.duration_ms = code, excerpt, duration_ms
        if ok:
            row.status, row.delivered_at, row.last_error = DS.SUCCEEDED, now, ""
            if sub.failure_count:
                sub.failure_count = 0
                sub.save(update_fields=["failure_count", "updated_at"])
        else:
            row.last_error = error or f"HTTP {code}"
            if attempt >= webhook_setting("HELPDESK_WEBHOOK_MAX_ATTEMPTS"):
                row.status = DS.FAILED
            else:
                row.next_attempt_at = now + timedelta(seconds=backoff_seconds(attempt))
            WebhookSubscription.objects.filter(pk=sub.pk).update(failure_count=F("failure_count") + 1)
            sub.refresh_from_db(fields=["failure_count"])
            limit = webhook_setting("HELPDESK_WEBHOOK_DISABLE_AFTER")
            if sub.active and sub.failure_count >= limit:
                sub.active = False
                sub.disabled_at = now
                sub.disabled_reason = (
                    f"Disabled automatically after {sub.failure_count} consecutive failed deliveries "
                    f"(last: {row.last_error}) at {now:%Y-%m-%d %H:%M:%S} UTC."
                )[:2000]
                sub.save(update_fields=["active", "disabled_at", "disabled_reason", "updated_at"])
                logger.warning("webhook subscription %s disabled: %s", sub.pk, sub.disabled_reason)
                subscriptions_cache_clear()
        row.save(
            update_fields=[
                "status",
                "delivered_at",
                "last_error",
                "next_attempt_at",
                "response_code",
                "response_body",
                "duration_ms",
            ]
        )
    if not ok and row.status == DS.PENDING:
        retry_in = (row.next_attempt_at - now).total_seconds()
        if retry_in <= 900:  # longer waits: the sweeper (every minute)
            from webhooks.tasks import deliver

            try:
                deliver.apply_async(kwargs={"delivery_id": row.pk}, countdown=max(retry_in, 1), retry=False)
            except Exception:
                logger.warning("webhook delivery %s retry not enqueued; the sweeper will", row.pk)
    return row.status


@transaction.atomic
def delivery_replay(*, delivery_id: int, actor: Any) -> WebhookDelivery:
    """Send a delivery again (any status): back to pending, due now, with a
    fresh attempt budget; the same X-Helpdesk-Delivery id (receivers
    de-duplicating on it should treat a replay as deliberate). 409 when the
    subscription is inactive."""
    row = WebhookDelivery.objects.select_for_update(no_key=True).select_related("subscription").get(pk=delivery_id)
    if not row.subscription.active:
        raise Conflict("Activate the subscription before replaying.", code="subscription_inactive")
    row.status, row.attempts, row.next_attempt_at = DS.PENDING, 0, timezone.now()
    row.replays += 1
    row.save(update_fields=["status", "attempts", "next_attempt_at", "replays"])
    from helpdesk.lib.tasks import enqueue_on_commit
    from webhooks.tasks import deliver

    enqueue_on_commit(deliver, delivery_id=row.pk)
    return row


def deliveries_due_ids(*, limit: int = 500, now: datetime | None = None) -> list[int]:
    """Pending rows of active subscriptions whose attempt is due (lost
    wake-ups, expired leases, long backoffs)."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=DS.PENDING, next_attempt_at__lte=now, subscription__active=True)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def deliveries_enqueue(ids: list[int]) -> int:
    """Hand rows to Celery now; stops at the first broker error (logged)."""
    from helpdesk.lib.tasks import enqueue
    from webhooks.tasks import deliver

    sent = 0
    for pk in ids:
        if not enqueue(deliver, delivery_id=pk):
            break
        sent += 1
    return sent
