"""Pages of two-factor sign-in (docs/sign-in.md): the code step after the
password, enrolment with a QR code, recovery codes, the person's own
two-factor page. Staff only: customers have no second factor."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import two_factor
from helpdesk.lib.redirects import safe_next_url


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "autocapitalize": "off", "spellcheck": "false"}
        ),
        help_text=_("The 6-digit code from your authenticator app, or one of your recovery codes."),
    )


def _staff_only(request: HttpRequest) -> None:
    if request.user.role not in two_factor.STAFF_ROLES:
        raise Http404("Two-factor sign-in is for staff accounts.")


def _next(request: HttpRequest) -> str:
    target = safe_next_url(request, request.POST.get("next") or request.GET.get("next"))
    return target or resolve_url("home")


@sensitive_post_parameters("code")
@never_cache
@login_required
def verify_view(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a TOTP or recovery code."""
    _staff_only(request)
    if two_factor.requirement(request.user, request.session) != two_factor.VERIFY:
        return redirect(_next(request))
    form = CodeForm(request.POST if request.method == "POST" else None)
    locked = two_factor.CODE_LOCK.is_blocked(str(request.user.pk))
    status = 429 if locked and request.method == "POST" else 200
    if request.method == "POST" and not locked and form.is_valid():
        try:
            if two_factor.code_verify(request, user=request.user, code=form.cleaned_data["code"]):
                return redirect(_next(request))
            form.add_error("code", two_factor.WRONG_CODE_MESSAGE)
            status = 400
        except two_factor.CodeLocked:
            locked, status = True, 429
    elif request.method == "POST" and not locked:
        status = 400
    context = {
        "form": form,
        "next": request.POST.get("next") or request.GET.get("next", ""),
        "locked_message": two_factor.LOCKED_MESSAGE if locked else "",
    }
    return render(request, "accounts/two_factor/verify.html", context, status=status)


@sensitive_post_parameters("code")
@never_cache
@login_required
def enrol_view(request: HttpRequest) -> HttpResponse:
    """Set up (or replace) the authenticator app: scan, then confirm with a
    first code. Someone with a device must have verified this session first
    (the middleware sends them to the code page)."""
    _staff_only(request)
    device = two_factor.enrolment_device(request.user)
    form = CodeForm(request.POST if request.method == "POST" else None)
    form.fields["code"].help_text = gettext("The 6-digit code your app shows now.")
    if request.method == "POST" and form.is_valid():
        codes = two_factor.enrolment_confirm(request, device=device, code=form.cleaned_data["code"])
        if codes is not None:
            return render(request, "accounts/two_factor/recovery_codes.html", {"codes": codes, "next": _next(request)})
        form.add_error(
            "code", gettext("That code does not match. Check the time on your phone and try the current code.")
        )
    context = {
        "form": form,
        "qr_svg": two_factor.qr_svg(device),
        "secret": two_factor.secret_base32(device),
        "next": request.POST.get("next") or request.GET.get("next", ""),
        "required": two_factor.must_have_device(request.user),
        "replacing": two_factor.has_device(request.user),
    }
    return render(request, "accounts/two_factor/enrol.html", context, status=400 if form.errors else 200)


@never_cache
@login_required
def manage_view(request: HttpRequest) -> HttpResponse:
    """The person's own two-factor page."""
    _staff_only(request)
    context = {
        "has_device": two_factor.has_device(request.user),
        "codes_left": two_factor.recovery_codes_left(request.user),
        "required": two_factor.must_have_device(request.user),
    }
    return render(request, "accounts/two_factor/manage.html", context)


@require_POST
@login_required
def recovery_codes_view(request: HttpRequest) -> HttpResponse:
    """New recovery codes, shown once; the old ones stop working."""
    _staff_only(request)
    if not two_factor.has_device(request.user):
        messages.error(request, gettext("Set up an authenticator app first."))
        return redirect("accounts:two-factor")
    codes = two_factor.recovery_codes_regenerate(request.user)
    return render(
        request, "accounts/two_factor/recovery_codes.html", {"codes": codes, "next": resolve_url("accounts:two-factor")}
    )


@require_POST
@login_required
def remove_view(request: HttpRequest) -> HttpResponse:
    """Turn two-factor off, only for a role that is not required to have it."""
    _staff_only(request)
    if two_factor.must_have_device(request.user):
        messages.error(
            request, gettext("Your role must use two-factor sign-in: you can replace the app, not remove it.")
        )
        return redirect("accounts:two-factor")
    two_factor.two_factor_remove(request.user)
    messages.success(request, gettext("Two-factor sign-in is off for your account."))
    return redirect("accounts:two-factor")
