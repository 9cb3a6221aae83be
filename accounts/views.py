"""Login, logout, sign-up and the role-based home redirect."""

from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import LoginForm, MagicLinkForm, SignupForm
from helpdesk.lib.redirects import safe_next_url
from helpdesk.lib.throttle import Throttle, client_ip


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
        login(request, form.user)
        return redirect(_safe_next(request) or _home_for(form.user))
    return render(request, "accounts/login.html", {"form": form, "next": _safe_next(request) or ""})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are logged out.")
    return redirect("accounts:login")


@sensitive_post_parameters("password1", "password2")
@csrf_protect
@never_cache
def signup_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_home_for(request.user))
    form = SignupForm(data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.customer_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                name=form.cleaned_data["name"],
            )
        except services.EmailTaken as exc:
            form.add_error("email", exc.message)
        except ValidationError as exc:
            form.add_error("password1", exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome! Your account is ready.")
            return redirect("tickets:customer-ticket-list")
    return render(request, "accounts/signup.html", {"form": form})


# Magic links: 5 requests per email + IP per 15 minutes (mail bombing guard).
MAGIC_LINK_THROTTLE = Throttle(scope="magic-link", limit=5, window=15 * 60)


@csrf_protect
@never_cache
def magic_link_request_view(request: HttpRequest) -> HttpResponse:
    """Ask for an emailed login link; the answer never says whether the
    address has an account."""
    form = MagicLinkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        ip = client_ip(request)
        if MAGIC_LINK_THROTTLE.is_blocked(email, ip):
            form.add_error("email", "Too many links requested. Try again in 15 minutes.")
        else:
            MAGIC_LINK_THROTTLE.failure_record(email, ip)
            services.magic_link_send(
                email=email,
                build_url=lambda token: request.build_absolute_uri(
                    resolve_url("accounts:magic-link-login", token=token)
                ),
            )
            return render(request, "accounts/magic_link.html", {"form": form, "sent": True})
    return render(request, "accounts/magic_link.html", {"form": form, "sent": False})


@never_cache
def magic_link_login_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirm button (mail scanners prefetch links); POST logs in."""
    user = services.magic_link_user_get(token=token)
    if user is None:
        return render(request, "accounts/magic_link_invalid.html", status=400)
    if request.method != "POST":
        return render(request, "accounts/magic_link_confirm.html", {"token": token, "account": user})
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect(_home_for(user))
