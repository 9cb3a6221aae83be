"""Checks of the sign-in configuration (docs/sign-in.md): a mistyped
environment fails at start-up, not at the first sign-in."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from accounts import oidc, two_factor


@register(Tags.security)
def sign_in_config_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    unknown = [r for r in settings.HELPDESK_2FA_REQUIRED_ROLES if r.strip() not in two_factor.STAFF_ROLES]
    if unknown:
        problems.append(
            Error(
                f"HELPDESK_2FA_REQUIRED_ROLES names unknown roles {unknown}.",
                hint="Use agent, manager, admin.",
                id="accounts.E001",
            )
        )
    if not settings.OIDC_ISSUER:
        return problems
    if not settings.OIDC_CLIENT_ID or not settings.OIDC_CLIENT_SECRET:
        problems.append(Error("OIDC_ISSUER is set without OIDC_CLIENT_ID and OIDC_CLIENT_SECRET.", id="accounts.E002"))
    try:
        if not oidc.parse_role_map(settings.OIDC_ROLE_MAP):
            problems.append(
                Error("OIDC_ROLE_MAP is empty: nobody could sign in with single sign-on.", id="accounts.E003")
            )
    except ValueError as exc:
        problems.append(Error(str(exc), id="accounts.E004"))
    return problems


@register(Tags.security, deploy=True)
def oidc_https_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Discovery, keys and the token exchange over plain HTTP could be
    forged on the way; only a provider on this machine may use it."""
    issuer = settings.OIDC_ISSUER
    if not issuer or issuer.startswith("https://"):
        return []
    host = urlsplit(issuer).hostname or ""
    if host in ("localhost", "127.0.0.1", "::1"):
        return []
    return [
        Error(
            f"OIDC_ISSUER {issuer!r} is not https://.", hint="Use the provider's https issuer URL.", id="accounts.E005"
        )
    ]
