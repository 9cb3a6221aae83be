"""Login, logout, sign-up with confirmation, magic links, password reset,
the customer's profile and the role-based home redirect
(docs/accounts.md)."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import services
from accounts.backends import SESSION_BACKEND
from accounts.forms import (
    EmailChangeForm,
    LoginForm,
    MagicLinkForm,
    PasswordChangeForm,
    PasswordResetRequestForm,
    PasswordSetForm,
    ProfileForm,
    SignupForm,
)
from accounts.models import User
from helpdesk.lib.redirects import safe_next_path, safe_next_url
from helpdesk.lib.throttle import Throttle, client_ip

_BACKEND = SESSION_BACKEND  # the user is loaded per request by this one


def _home_for(user: object) -> str:
    if getattr(user, "is_staff_role", False):
        return resolve_url("tickets:agent-ticket-list")
    return resolve_url("tickets:customer-ticket-list")


def home(request: HttpRequest) -> HttpResponse:
    """`/`: agents, managers and admins to the ticket list, customers to My requests."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    return redirect(_home_for(request.user))


def _safe_next(request: HttpRequest) -> str | None:
    return safe_next_url(request, request.POST.get("next") or request.GET.get("next"))


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request) or _home_for(request.user))
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and form.user is not None:
        login(request, form.user, backend=_BACKEND)
        return redirect(_safe_next(request) or _home_for(form.user))
    context = {"form": form, "next": _safe_next(request) or "", "oidc_provider_name": _oidc_provider_name()}
    return render(request, "accounts/login.html", context)


def _oidc_provider_name() -> str:
    """The single sign-on button's label, empty when it is not configured."""
    return settings.OIDC_PROVIDER_NAME if settings.OIDC_ISSUER else ""


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You are logged out."))
    return redirect("accounts:login")


# --- anonymous requests that send mail -------------------------------------------
# Each is throttled per address + IP (mail bombing of one mailbox) and per IP
# (spraying many addresses), on the shared cache. Every request counts,
# known address or not, so the throttle itself reveals nothing.

MAGIC_LINK_THROTTLE = Throttle(scope="magic-link", limit=5, window=15 * 60)
PASSWORD_RESET_THROTTLE = Throttle(scope="password-reset", limit=5, window=15 * 60)
SIGNUP_THROTTLE = Throttle(scope="signup", limit=5, window=15 * 60)
ACCOUNT_MAIL_PER_IP = Throttle(scope="account-mail-ip", limit=30, window=15 * 60)
THROTTLED_MAIL_MESSAGE = gettext_lazy("Too many requests. Try again in 15 minutes.")


# A neutral answer takes at least this long (seconds), whatever the address:
# a known one costs a token, a rendered mail, an outbox INSERT and a broker
# push (10-20 ms more than an unknown one, measurable over many requests),
# so every answer waits for the same floor (docs/accounts.md, "Timing").
NEUTRAL_ANSWER_FLOOR_S = 0.3


def _neutral_answer_wait(started: float) -> None:
    """Sleep until NEUTRAL_ANSWER_FLOOR_S after `started` (time.monotonic())."""
    remaining = NEUTRAL_ANSWER_FLOOR_S - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)


def _mail_throttled(request: HttpRequest, throttle: Throttle, email: str) -> bool:
    """True when this request must be refused; else counts it."""
    ip = client_ip(request)
    if throttle.is_blocked(email, ip) or ACCOUNT_MAIL_PER_IP.is_blocked(ip):
        return True
    throttle.failure_record(email, ip)
    ACCOUNT_MAIL_PER_IP.failure_record(ip)
    return False


@sensitive_post_parameters("password1", "password2")
@csrf_protect
@never_cache
def signup_view(request: HttpRequest) -> HttpResponse:
    """Sign-up; the answer is the same page for every address: a new one
    gets a confirmation link, a known one a sign-in offer (no enumeration)."""
    if request.user.is_authenticated:
        return redirect(_home_for(request.user))
    started = time.monotonic()
    form = SignupForm(data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if _mail_throttled(request, SIGNUP_THROTTLE, email):
            form.add_error("email", THROTTLED_MAIL_MESSAGE)
        else:
            try:
                services.customer_signup(
                    email=email, password=form.cleaned_data["password1"], name=form.cleaned_data["name"]
                )
            except ValidationError as exc:
                form.add_error("password1", exc)
            else:
                _neutral_answer_wait(started)
                return render(request, "accounts/check_email.html", {"what": "signup"})
    return render(request, "accounts/signup.html", {"form": form})


@never_cache
def signup_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirm button (mail scanners prefetch links); POST
    activates the account and signs in."""
    user = services.signup_confirm_user_get(token=token)
    if user is None:
        return render(request, "accounts/link_invalid.html", {"what": "confirmation"}, status=400)
    if request.method != "POST":
        return render(request, "accounts/signup_confirm.html", {"token": token, "account": user})
    try:
        user = services.signup_confirm(token=token)
    except services.LinkInvalid:
        return render(request, "accounts/link_invalid.html", {"what": "confirmation"}, status=400)
    login(request, user, backend=_BACKEND)
    messages.success(request, _("Your address is confirmed. Welcome!"))
    return redirect(_home_for(user))


@csrf_protect
@never_cache
def magic_link_request_view(request: HttpRequest) -> HttpResponse:
    """Ask for an emailed sign-in link; the answer never says whether the
    address has an account. Also claims accounts created by e-mail."""
    started = time.monotonic()
    next_path = safe_next_path(request.POST.get("next") or request.GET.get("next"))
    form = MagicLinkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if _mail_throttled(request, MAGIC_LINK_THROTTLE, email):
            form.add_error("email", _("Too many links requested. Try again in 15 minutes."))
        else:
            services.magic_link_send(email=email, next_path=next_path)
            _neutral_answer_wait(started)
            return render(request, "accounts/magic_link.html", {"form": form, "sent": True})
    return render(request, "accounts/magic_link.html", {"form": form, "sent": False, "next": next_path})


@never_cache
def magic_link_login_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirm button (mail scanners prefetch links); POST logs
    in and, for an account never used, claims it."""
    user = services.magic_link_user_get(token=token)
    if user is None:
        return render(request, "accounts/magic_link_invalid.html", status=400)
    next_path = safe_next_path(request.GET.get("next"))
    if request.method != "POST":
        return render(request, "accounts/magic_link_confirm.html", {"token": token, "account": user, "next": next_path})
    try:
        user = services.magic_link_consume(token=token)
    except services.LinkInvalid:
        return render(request, "accounts/magic_link_invalid.html", status=400)
    login(request, user, backend=_BACKEND)
    return redirect(next_path or _home_for(user))


@csrf_protect
@never_cache
def password_reset_request_view(request: HttpRequest) -> HttpResponse:
    """Ask for a link to set a password (also how an account created by
    e-mail gets its first one); same answer for every address."""
    started = time.monotonic()
    form = PasswordResetRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        if _mail_throttled(request, PASSWORD_RESET_THROTTLE, email):
            form.add_error("email", THROTTLED_MAIL_MESSAGE)
        else:
            services.password_reset_send(email=email)
            _neutral_answer_wait(started)
            return render(request, "accounts/check_email.html", {"what": "reset"})
    return render(request, "accounts/password_reset.html", {"form": form})


@sensitive_post_parameters("new_password1", "new_password2")
@csrf_protect
@never_cache
def password_reset_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """Set a new password from an e-mailed link, then sign in. Only the
    POST that sets the password spends the link."""
    user = services.password_reset_user_get(token=token)
    if user is None:
        return render(request, "accounts/link_invalid.html", {"what": "reset"}, status=400)
    form = PasswordSetForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.password_reset_complete(token=token, password=form.cleaned_data["new_password1"])
        except services.LinkInvalid:
            return render(request, "accounts/link_invalid.html", {"what": "reset"}, status=400)
        login(request, user, backend=_BACKEND)
        messages.success(request, _("Your password is set."))
        return redirect(_home_for(user))
    response = render(request, "accounts/password_reset_confirm.html", {"form": form, "account": user})
    # The token is in the URL: no other site may see it as a referrer. Not
    # "no-referrer": Chromium then sends `Origin: null` with the form's POST
    # and Django's CSRF check refuses it (403 for every customer).
    response["Referrer-Policy"] = "same-origin"
    return response


# --- the signed-in customer's own account ------------------------------------------


def _customer(request: HttpRequest) -> User:
    """The signed-in user (the views are behind login_required)."""
    user = request.user
    if not isinstance(user, User):  # pragma: no cover - login_required ran
        raise PermissionError("sign in first")
    return user


def _profile_page(request: HttpRequest, **forms: object) -> HttpResponse:
    user = _customer(request)
    context = {
        "profile_form": ProfileForm(initial={"name": user.name, "language": user.language}),
        "email_form": EmailChangeForm(),
        "password_form": PasswordChangeForm(user),
        **forms,
    }
    return render(request, "accounts/profile.html", context, status=400 if forms else 200)


@login_required
@never_cache
def profile_view(request: HttpRequest) -> HttpResponse:
    """Name and language (POST); shows the e-mail and password forms and
    links to the e-mail notification settings."""
    user = _customer(request)
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if not form.is_valid():
            return _profile_page(request, profile_form=form)
        services.profile_update(user=user, name=form.cleaned_data["name"], language=form.cleaned_data["language"])
        messages.success(request, _("Profile saved."))
        return redirect("accounts:profile")
    return _profile_page(request)


@require_POST
@login_required
def profile_email_view(request: HttpRequest) -> HttpResponse:
    """Ask to change the address: a link goes to the new one."""
    user = _customer(request)
    started = time.monotonic()
    form = EmailChangeForm(request.POST)
    if form.is_valid():
        email = form.cleaned_data["email"]
        if _mail_throttled(request, SIGNUP_THROTTLE, email):
            form.add_error("email", THROTTLED_MAIL_MESSAGE)
        else:
            try:
                services.email_change_request(user=user, new_email=email)
            except services.EmailChangeRefused as exc:
                form.add_error("email", exc.message)
            else:
                messages.success(
                    request,
                    _("We sent a link to %(email)s. Your address changes when you follow it.") % {"email": email},
                )
                _neutral_answer_wait(started)  # a taken address gets no mail, and no quicker answer
                return redirect("accounts:profile")
    return _profile_page(request, email_form=form)


@never_cache
def email_change_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirm button (scanners prefetch); POST changes the
    address and tells the old one."""
    found = services.email_change_get(token=token)
    if found is None:
        return render(request, "accounts/link_invalid.html", {"what": "email"}, status=400)
    _user, new_email = found
    if request.method != "POST":
        return render(request, "accounts/email_change_confirm.html", {"token": token, "new_email": new_email})
    try:
        services.email_change_confirm(token=token)
    except services.LinkInvalid:
        return render(request, "accounts/link_invalid.html", {"what": "email"}, status=400)
    except services.EmailChangeRefused as exc:
        return render(request, "accounts/link_invalid.html", {"what": "email", "reason": exc.message}, status=409)
    messages.success(request, _("Your address is now %(email)s.") % {"email": new_email})
    return redirect("accounts:profile" if request.user.is_authenticated else "accounts:login")


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_POST
@login_required
def profile_password_view(request: HttpRequest) -> HttpResponse:
    user = _customer(request)
    form = PasswordChangeForm(user, request.POST)
    if not form.is_valid():
        return _profile_page(request, password_form=form)
    services.password_change(user=user, password=form.cleaned_data["new_password1"])
    update_session_auth_hash(request, user)  # stay signed in here, out elsewhere
    messages.success(request, _("Password changed."))
    return redirect("accounts:profile")
