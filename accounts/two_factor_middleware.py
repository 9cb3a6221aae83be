"""Staff who signed in with a password but still owe a second factor reach
only the code page (or, without a device in a role that must have one, the
enrolment page) and log out (docs/sign-in.md). One place for every way in:
the login form, e-mailed links, the Django admin, session API calls.

API clients that authenticate with a token or API key send no session
cookie, so request.user is anonymous here and they pass unchanged.
"""

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from accounts import two_factor

ALWAYS_ALLOWED = frozenset({"accounts:logout"})
PAGE_NAMES = {two_factor.VERIFY: "accounts:two-factor-verify", two_factor.ENROL: "accounts:two-factor-enrol"}
API_MESSAGE = {
    two_factor.VERIFY: "Enter your two-factor code on the sign-in page first.",
    two_factor.ENROL: "Your role must use two-factor sign-in: set it up on the sign-in page first.",
}


def _view_name(request: HttpRequest) -> str:
    """By name, not path, so a language prefix in the URL changes nothing."""
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return ""


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        need = two_factor.requirement(request.user, request.session)
        if need == two_factor.OK:
            return self.get_response(request)
        name = _view_name(request)
        if name in ALWAYS_ALLOWED or name == PAGE_NAMES[need]:
            return self.get_response(request)
        page = reverse(PAGE_NAMES[need])
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": API_MESSAGE[need], "code": "two_factor_required"}, status=403)
        if request.method == "GET" and not request.headers.get("HX-Request"):
            return redirect(f"{page}?{urlencode({'next': request.get_full_path()})}")
        return redirect(page)
