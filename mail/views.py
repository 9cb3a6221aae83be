"""HTTP: the raw-mail intake endpoint, the CSAT rating page and the agents'
held-mail page."""

import hmac
import logging

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.request_user import signed_in
from helpdesk.lib.access import staff_required
from helpdesk.lib.exceptions import ApplicationError
from mail import services
from mail.conf import mail_setting
from mail.forms import CsatCommentForm
from mail.models import InboundMessage

logger = logging.getLogger(__name__)

ACCEPTED_TYPES = {"message/rfc822", "application/octet-stream", "text/plain"}
SECRET_HEADER = "HTTP_X_HELPDESK_INBOUND_SECRET"  # noqa: S105 - a header name


def _secret_ok(request: HttpRequest) -> bool:
    expected = mail_setting("HELPDESK_INBOUND_SECRET")
    if not expected:
        return False  # not configured: the endpoint is closed
    given = request.META.get(SECRET_HEADER, "")
    if not given:
        auth = request.META.get("HTTP_AUTHORIZATION", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else ""
    return hmac.compare_digest(given.encode(), str(expected).encode())


def _read_limited(request: HttpRequest, limit: int) -> bytes | None:
    """The body, read from the stream (not request.body, which applies the
    5 MB form limit); None when it exceeds `limit`."""
    chunks, total = [], 0
    while True:
        chunk = request.read(64 * 1024)
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@csrf_exempt
@require_POST
def inbound_mail(request: HttpRequest) -> HttpResponse:
    """POST a raw RFC 822 message. 202 with the stored id (even when the
    broker is down: the row is committed first and swept later)."""
    if not _secret_ok(request):
        return JsonResponse({"error": "forbidden", "detail": "Missing or wrong shared secret."}, status=403)
    limit = int(mail_setting("HELPDESK_INBOUND_MAX_BYTES"))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    raw = None if declared > limit else _read_limited(request, limit)
    if raw is None:
        return JsonResponse({"error": "too_large", "detail": f"Messages are limited to {limit} bytes."}, status=413)
    if not raw.strip():
        return JsonResponse({"error": "empty", "detail": "The request body is empty."}, status=400)
    ctype = (request.content_type or "").lower()
    if ctype not in ACCEPTED_TYPES:
        return JsonResponse(
            {"error": "unsupported_media_type", "detail": "Send the raw message as message/rfc822."}, status=415
        )
    inbound = services.inbound_store(raw, source=InboundMessage.Source.HTTP)
    duplicate = inbound.duplicate_of_id is not None
    if inbound.status == InboundMessage.Status.RECEIVED:
        if mail_setting("HELPDESK_INBOUND_PROCESS") == "inline":
            inbound = services.inbound_process(inbound_id=inbound.pk)
        else:
            from mail.tasks import inbound_enqueue

            transaction.on_commit(lambda: inbound_enqueue(inbound.pk))
    return JsonResponse({"id": inbound.pk, "status": inbound.status, "duplicate": duplicate}, status=202)


def _csat_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "mail/csat_invalid.html", {"error": exc.message, "code": exc.code}, status=400)


@require_http_methods(["GET", "POST"])
def csat_rate(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link opens a form with its rating already chosen; only
    the POST (one click on Send, CSRF-protected) records it. A GET records
    nothing: mail scanners prefetch links (docs/surveys.md)."""
    try:
        claim = services.csat_token_read(token)
    except services.CsatLinkInvalid as exc:
        return _csat_error(request, exc)
    if request.method == "POST":
        form = CsatCommentForm(request.POST)
        if form.is_valid():
            try:
                event = services.csat_record(
                    token=token, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"]
                )
            except services.CsatLinkInvalid as exc:
                return _csat_error(request, exc)
            return render(request, "mail/csat.html", {"claim": claim, "event": event, "form": None, "thanks": True})
        return render(request, "mail/csat.html", {"claim": claim, "event": None, "form": form}, status=400)
    form = CsatCommentForm(initial={"rating": claim.rating})
    return render(request, "mail/csat.html", {"claim": claim, "event": None, "form": form})


def notification_preferences(request: HttpRequest) -> HttpResponse:
    """Each signed-in user turns kinds of email on or off (no row = on)."""
    from django.contrib.auth.views import redirect_to_login

    from mail.models import NotificationPreference

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    kinds = services.notification_kinds_for_user(user=request.user)
    if request.method == "POST":
        for kind, _label in kinds:
            services.notification_preference_set(user=request.user, kind=kind, enabled=request.POST.get(kind) == "on")
        messages.success(request, gettext("Email preferences saved."))
    disabled = set(
        NotificationPreference.objects.filter(user=request.user, enabled=False).values_list("kind", flat=True)
    )
    rows = [(kind, label, kind not in disabled) for kind, label in kinds]
    return render(request, "mail/preferences.html", {"rows": rows})


@staff_required
def agent_held_list(request: HttpRequest) -> HttpResponse:
    """Held mail the agent may release or discard, with the reason."""
    from mail import selectors

    rows = selectors.inbound_held_rows(selectors.inbound_held_list_for_user(user=signed_in(request)))
    return render(request, "mail/agent/held_list.html", {"rows": rows, "next": request.get_full_path()})


def _held_back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("mail:agent-held-list")
    return redirect(target)


@require_POST
@staff_required
def agent_held_release(request: HttpRequest, inbound_id: int) -> HttpResponse:
    try:
        inbound = services.inbound_release(inbound_id=inbound_id, actor=signed_in(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Released: %s.") % inbound.reason.split("; was ")[0])
    return _held_back(request)


@require_POST
@staff_required
def agent_held_discard(request: HttpRequest, inbound_id: int) -> HttpResponse:
    try:
        services.inbound_discard(inbound_id=inbound_id, actor=signed_in(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Held email discarded."))
    return _held_back(request)
