"""Staff sign-in through the OpenID Connect provider (docs/sign-in.md)."""

import logging

import requests
from authlib.common.errors import AuthlibBaseError
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.views.decorators.cache import never_cache
from joserfc.errors import JoseError

from accounts import oidc, two_factor
from accounts.backends import SESSION_BACKEND
from helpdesk.lib.redirects import safe_next_url

log = logging.getLogger(__name__)
NEXT_KEY = "oidc_next"
_BACKEND = SESSION_BACKEND  # the user is loaded per request by this one


def _config_or_404() -> oidc.OidcConfig:
    cfg = oidc.config()
    if cfg is None:
        raise Http404("Single sign-on is not configured.")
    return cfg


def _refused(request: HttpRequest, cfg: oidc.OidcConfig, message: str, status: int = 403) -> HttpResponse:
    context = {"message": message, "provider_name": cfg.provider_name}
    return render(request, "accounts/oidc_refused.html", context, status=status)


@never_cache
def oidc_login_view(request: HttpRequest) -> HttpResponse:
    """Send the browser to the provider (state and nonce kept in the session)."""
    cfg = _config_or_404()
    request.session[NEXT_KEY] = safe_next_url(request, request.GET.get("next")) or ""
    try:
        app = oidc.client(cfg)
        oidc.metadata_check(cfg, app)
        return app.authorize_redirect(request, request.build_absolute_uri(reverse("accounts:oidc-callback")))
    except oidc.OidcRefused as exc:
        return _refused(request, cfg, exc.message, status=502)
    except (requests.RequestException, ValueError) as exc:
        log.warning("OIDC discovery failed: %s", exc)
        return _refused(request, cfg, f"{cfg.provider_name} cannot be reached right now. Try again later.", 502)


@never_cache
def oidc_callback_view(request: HttpRequest) -> HttpResponse:
    """The provider's answer: exchange the code, validate the ID token,
    map the groups to a role, sign in."""
    cfg = _config_or_404()
    try:
        app = oidc.client(cfg)
        oidc.metadata_check(cfg, app)
        token = app.authorize_access_token(request, claims_options=oidc.claims_options(cfg))
        claims = token.get("userinfo")
        if not claims:
            raise oidc.OidcRefused(f"{cfg.provider_name} sent no ID token.")
        user = oidc.user_from_claims(cfg, dict(claims))
    except oidc.OidcRefused as exc:
        return _refused(request, cfg, exc.message)
    except (AuthlibBaseError, JoseError, requests.RequestException, ValueError, KeyError) as exc:
        # A forged, expired or foreign token, a replayed or missing state, or
        # the provider down: one refusal page, the reason in the log.
        log.warning("OIDC sign-in refused: %r", exc)
        return _refused(request, cfg, f"Signing in with {cfg.provider_name} failed. Start again from the login page.")
    next_url = request.session.pop(NEXT_KEY, "")
    login(request, user, backend=_BACKEND)
    request.session[two_factor.SIGNIN_METHOD_KEY] = two_factor.METHOD_OIDC
    return redirect(next_url or resolve_url("home"))
