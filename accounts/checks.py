"""Checks of the sign-in configuration (docs/sign-in.md): a mistyped
environment fails at start-up, not at the first sign-in."""

from typing import Any

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
