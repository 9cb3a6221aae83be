"""The language a page is in and the language switcher (docs/languages.md).

Django's LocaleMiddleware picks the language cookie, then the browser's
Accept-Language. A signed-in user's own preference (`User.language`) wins
over both: UserLanguageMiddleware runs after AuthenticationMiddleware and
activates it. Choosing a language in the switcher while signed in also
saves it to the profile, so it follows the person to every device.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from accounts.models import User


def language_supported(code: str | None) -> bool:
    """True for a code in settings.LANGUAGES (not "", not unknown)."""
    return bool(code) and code in dict(settings.LANGUAGES)


def user_language(user: object) -> str | None:
    """The user's own choice when it is a shipped language, else None."""
    code = getattr(user, "language", "") or ""
    return code if language_supported(code) else None


def recipient_language(user: object | None) -> str:
    """The language an e-mail to `user` is written in: theirs, else the
    site's LANGUAGE_CODE (docs/languages.md, E-mails)."""
    return user_language(user) or settings.LANGUAGE_CODE


class UserLanguageMiddleware:
    """Activate the signed-in user's preferred language for this request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        code = user_language(getattr(request, "user", None)) if request.user.is_authenticated else None
        if code is not None:
            translation.activate(code)
            request.LANGUAGE_CODE = code
        return self.get_response(request)


def _csrf_refused(request: HttpRequest) -> HttpResponse | None:
    """CsrfViewMiddleware's answer for this request (None: it passes)."""
    check = CsrfViewMiddleware(lambda _request: HttpResponse())
    check.process_request(request)
    return check.process_view(request, set_language, (), {})


@csrf_exempt
@require_POST
def set_language_view(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie + redirect back), plus the signed-in
    user's profile, which wins over the cookie on the next request.

    CSRF is checked for signed-in users only (their profile changes). A
    signed-out visitor only sets a cookie, so the switcher on anonymous
    pages carries no per-response token: the answers of the sign-in and
    reset pages stay byte-identical for every address (docs/accounts.md)."""
    if request.user.is_authenticated:
        refused = _csrf_refused(request)
        if refused is not None:
            return refused
    response = set_language(request)
    code = request.POST.get("language")
    user = request.user
    if isinstance(user, User) and language_supported(code) and user.language != code:
        user.language = str(code)
        user.save(update_fields=["language"])
    return response
