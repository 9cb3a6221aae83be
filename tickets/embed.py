"""The embeddable request form: nothing is stored until the address is
confirmed. The request travels in the signed confirmation link; confirming
creates the ticket once (docs/portal.md)."""

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from helpdesk.lib.exceptions import ApplicationError
from tickets.models import RequestType, Ticket

SALT = "tickets.embed.v1"
MAX_AGE_S = 24 * 3600
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$")


class EmbedLinkInvalid(ApplicationError):
    code = "embed_link_invalid"
    status_code = 400


class EmbedThrottled(ApplicationError):
    code = "throttled"
    status_code = 429


@dataclass(frozen=True)
class EmbedRequest:
    email: str
    name: str
    request_type_id: int
    subject: str
    body: str


def embed_allowed_origins() -> list[str]:
    """The configured origins that are well-formed (scheme://host[:port])."""
    origins = getattr(settings, "HELPDESK_EMBED_ALLOWED_ORIGINS", [])
    return [o.rstrip("/").lower() for o in origins if _ORIGIN.match(o.rstrip("/").lower())]


def embed_throttle(*, client: str) -> None:
    """At most HELPDESK_EMBED_MAX_PER_HOUR submissions per client address
    per hour (a fixed window in the cache). Raises EmbedThrottled."""
    limit = int(getattr(settings, "HELPDESK_EMBED_MAX_PER_HOUR", 5))
    key = "embed:throttle:" + hashlib.sha256(client.encode()).hexdigest()[:32]
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        count = 1
    if count > limit:
        raise EmbedThrottled("Too many requests from your network. Please try again in an hour.")


def embed_token_make(request: EmbedRequest) -> str:
    return signing.dumps(
        {"e": request.email, "n": request.name, "r": request.request_type_id, "s": request.subject, "b": request.body},
        salt=SALT,
        compress=True,
    )


def embed_token_read(token: str) -> EmbedRequest:
    """Raises EmbedLinkInvalid (bad, tampered or older than 24 h)."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_S)
    except signing.SignatureExpired as exc:
        raise EmbedLinkInvalid(_("This confirmation link has expired. Please send your request again.")) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise EmbedLinkInvalid(_("This confirmation link is not valid.")) from exc
    try:
        return EmbedRequest(
            email=str(data["e"]),
            name=str(data["n"]),
            request_type_id=int(data["r"]),
            subject=str(data["s"]),
            body=str(data["b"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise EmbedLinkInvalid(_("This confirmation link is not valid.")) from exc


def embed_confirmation_send(*, request: EmbedRequest) -> None:
    """E-mail the confirmation link to the address given. Nothing is
    stored: an SMTP failure raises and the form says so (nothing lost
    silently, the visitor can send again)."""
    token = embed_token_make(request)
    url = settings.HELPDESK_BASE_URL.rstrip("/") + reverse("tickets:embed-confirm", args=[token])
    body = render_to_string("tickets/embed/confirm_email.txt", {"request": request, "url": url})
    EmailMessage(
        subject=(_("Please confirm your request: %(subject)s") % {"subject": request.subject})[:998],
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[request.email],
        headers={"Auto-Submitted": "auto-generated", "X-Helpdesk-Loop": settings.HELPDESK_BASE_URL},
    ).send(fail_silently=False)


def embed_request_confirm(*, token: str) -> Ticket:
    """Create the ticket of a confirmed request, exactly once per link.

    The requester is the account with that address, else a new inactive
    customer (as for e-mail). The ticket's external_id is derived from the
    link, so a second confirmation (or two at once) returns the same ticket.
    Raises EmbedLinkInvalid, ApplicationError.
    """
    from accounts.services import user_for_address
    from tickets import services

    req = embed_token_read(token)
    external_id = "embed:" + hashlib.sha256(token.encode()).hexdigest()[:40]
    existing = Ticket.objects.filter(external_id=external_id).first()
    if existing is not None:
        return existing
    request_type = RequestType.objects.filter(pk=req.request_type_id, is_active=True).select_related("queue").first()
    if request_type is None:
        raise EmbedLinkInvalid(_("This kind of request is no longer accepted. Please send your request again."))
    requester = user_for_address(req.email, req.name)
    try:
        with transaction.atomic():
            return services.ticket_create(
                subject=req.subject,
                body=req.body,
                queue=request_type.queue,
                request_type=request_type,
                requester=requester,
                actor=requester,
                channel=Ticket.Channel.PORTAL,
                external_id=external_id,
            )
    except IntegrityError:  # a concurrent confirmation of the same link won
        return Ticket.objects.get(external_id=external_id)


def embed_frame_policy(response: Any) -> Any:
    """Allow framing by the configured origins only, on this response only."""
    origins = embed_allowed_origins()
    if origins:
        response._csp_replace = {"frame-ancestors": origins}
        response.xframe_options_exempt = True  # X-Frame-Options cannot list origins; CSP decides
    return response
