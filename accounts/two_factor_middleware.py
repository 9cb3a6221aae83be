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
from django.urls import reverse

from accounts import two_factor

ALWAYS_ALLOWED = ("/accounts/logout/", "/favicon.ico", "/static/")
API_MESSAGE = {
    two_factor.VERIFY: "Enter your two-factor code on the sign-in page first.",
    two_factor.ENROL: "Your role must use two-factor sign-in: set it up on the sign-in page first.",
}


def _page_for(need: str) -> str:
    return reverse("accounts:two-factor-verify" if need == two_factor.VERIFY else "accounts:two-factor-enrol")


class TwoFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        need = two_factor.requirement(request.user, request.session)
        if need == two_factor.OK or request.path.startswith(ALWAYS_ALLOWED):
            return self.get_response(request)
        page = _page_for(need)
        if request.path == page:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": API_MESSAGE[need], "code": "two_factor_required"}, status=403)
        if request.method == "GET" and not request.headers.get("HX-Request"):
            return redirect(f"{page}?{urlencode({'next': request.get_full_path()})}")
        return redirect(page)
