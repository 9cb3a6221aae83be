"""The embeddable request form (no login) and its e-mail confirmation.

Only the form view may be framed, and only by the configured origins
(tickets.embed.embed_frame_policy); every other page keeps
frame-ancestors 'none' and X-Frame-Options DENY."""

import logging

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from helpdesk.lib.exceptions import ApplicationError
from tickets import embed, selectors

logger = logging.getLogger(__name__)


class EmbedForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("Your name"))
    email = forms.EmailField(label=_("Your e-mail address"))
    request_type = forms.ModelChoiceField(queryset=None, label=_("What do you need help with?"), empty_label=None)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(label=_("Description"), max_length=4000, widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["request_type"].queryset = selectors.request_type_list_active()  # type: ignore[attr-defined]


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


# Framed on a third-party site, the browser does not send our (SameSite=Lax)
# CSRF cookie, so the form cannot carry a CSRF token. Nothing a forged post
# can do is worse than a visitor's own: it sends one throttled confirmation
# e-mail and creates nothing.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def embed_request_form(request: HttpRequest) -> HttpResponse:
    form = EmbedForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            req = embed.EmbedRequest(
                email=data["email"].strip().lower(),
                name=data["name"].strip(),
                request_type_id=data["request_type"].pk,
                subject=data["subject"].strip(),
                body=data["description"],
            )
            try:
                embed.embed_throttle(client=_client(request))
                embed.embed_confirmation_send(request=req)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            except Exception:  # SMTP down: say so; nothing was stored
                logger.exception("embed confirmation e-mail not sent")
                form.add_error(None, _("We could not send the confirmation e-mail just now. Please try again later."))
                status = 503
            else:
                response = render(request, "tickets/embed/sent.html", {"email": req.email})
                return embed.embed_frame_policy(response)
        else:
            status = 400
    response = render(request, "tickets/embed/form.html", {"form": form}, status=status)
    return embed.embed_frame_policy(response)


@require_http_methods(["GET", "HEAD", "POST"])
def embed_request_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the request and a Confirm button (a scanner's prefetch
    creates nothing); the POST creates the ticket, once."""
    try:
        req = embed.embed_token_read(token)
    except embed.EmbedLinkInvalid as exc:
        return render(request, "tickets/embed/invalid.html", {"error": exc.message}, status=400)
    if request.method == "POST":
        try:
            ticket = embed.embed_request_confirm(token=token)
        except ApplicationError as exc:
            return render(request, "tickets/embed/invalid.html", {"error": exc.message}, status=exc.status_code)
        return render(request, "tickets/embed/confirmed.html", {"ticket": ticket, "email": req.email})
    return render(request, "tickets/embed/confirm.html", {"req": req})
