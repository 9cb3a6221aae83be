"""OpenID Connect single sign-on for staff (docs/sign-in.md).

Authlib's Django client does the protocol: discovery from
`OIDC_ISSUER/.well-known/openid-configuration`, the authorization-code flow
with state and nonce, and the ID token's signature (the provider's JWKS),
`iss` (must equal OIDC_ISSUER), `aud` (our client id), expiry and nonce.
This module adds what is ours: the discovery document must name the
configured issuer, and the groups claim decides the role (OIDC_ROLE_MAP);
a person in no mapped group is refused.
"""

import time
from dataclasses import dataclass
from typing import Any

from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.db import transaction

from accounts.models import User
from accounts.policy import AccountState, last_admin_problem

ROLE_RANK: dict[str, int] = {User.Role.AGENT: 1, User.Role.MANAGER: 2, User.Role.ADMIN: 3}
# Discovery and keys are read again after this long (a key rotation that
# arrives sooner is picked up anyway: an unknown key id refetches the JWKS).
METADATA_MAX_AGE = 3600
HTTP_TIMEOUT = 10


class OidcRefused(Exception):
    """The sign-in is refused; `message` is shown to the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    groups_claim: str
    role_map: dict[str, str]
    provider_name: str


def parse_role_map(raw: str) -> dict[str, str]:
    """'group:role,group2:role' -> {group: role}; raises ValueError on a
    malformed pair or a role that is not agent, manager or admin."""
    mapping: dict[str, str] = {}
    for pair in (p.strip() for p in raw.split(",")):
        if not pair:
            continue
        group, sep, role = pair.rpartition(":")
        if not sep or not group.strip() or role.strip() not in ROLE_RANK:
            raise ValueError(f"OIDC_ROLE_MAP entry {pair!r}: use group:role with role agent, manager or admin")
        mapping[group.strip()] = role.strip()
    return mapping


def config() -> OidcConfig | None:
    """The configuration, or None when single sign-on is off."""
    if not settings.OIDC_ISSUER:
        return None
    return OidcConfig(
        issuer=settings.OIDC_ISSUER.rstrip("/"),
        client_id=settings.OIDC_CLIENT_ID,
        client_secret=settings.OIDC_CLIENT_SECRET,
        scopes=settings.OIDC_SCOPES,
        groups_claim=settings.OIDC_GROUPS_CLAIM,
        role_map=parse_role_map(settings.OIDC_ROLE_MAP),
        provider_name=settings.OIDC_PROVIDER_NAME,
    )


_clients: dict[OidcConfig | tuple, tuple[float, Any]] = {}


def client(cfg: OidcConfig) -> Any:
    """Authlib's client for `cfg`, kept per process so discovery and keys
    are not fetched on every sign-in."""
    key = (cfg.issuer, cfg.client_id, cfg.client_secret, cfg.scopes)
    cached = _clients.get(key)
    if cached and time.monotonic() - cached[0] < METADATA_MAX_AGE:
        return cached[1]
    oauth = OAuth()
    app = oauth.register(
        name="helpdesk_oidc",
        client_id=cfg.client_id,
        client_secret=cfg.client_secret,
        server_metadata_url=f"{cfg.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": cfg.scopes, "default_timeout": HTTP_TIMEOUT},
    )
    _clients[key] = (time.monotonic(), app)
    return app


def metadata_check(cfg: OidcConfig, app: Any) -> None:
    """OpenID Connect Discovery: the document must name the issuer we were
    configured with, or its keys and tokens are someone else's."""
    issuer = str(app.load_server_metadata().get("issuer", "")).rstrip("/")
    if issuer != cfg.issuer:
        _clients.clear()
        raise OidcRefused(f"The provider's discovery document names issuer {issuer!r}, not {cfg.issuer!r}.")


def claims_options(cfg: OidcConfig) -> dict[str, Any]:
    """Checked by Authlib on the ID token on top of signature and nonce."""
    return {
        "iss": {"essential": True, "values": [cfg.issuer, cfg.issuer + "/"]},
        "aud": {"essential": True, "value": cfg.client_id},
        "sub": {"essential": True},
    }


def role_for_groups(cfg: OidcConfig, groups: Any) -> str | None:
    """The highest role any of `groups` maps to (None: no mapped group)."""
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list | tuple):
        return None
    roles = [cfg.role_map[g] for g in groups if isinstance(g, str) and g in cfg.role_map]
    return max(roles, key=ROLE_RANK.__getitem__) if roles else None


def user_from_claims(cfg: OidcConfig, claims: dict[str, Any]) -> User:
    """Create or update the staff account named by validated ID token
    claims, with the mapped role. Matched on the e-mail address."""
    role = role_for_groups(cfg, claims.get(cfg.groups_claim))
    if role is None:
        raise OidcRefused(
            f"Your {cfg.provider_name} account is not in a group that may use the help desk. "
            "Ask your administrator to add you to a help desk group."
        )
    email = str(claims.get("email") or "").strip()
    if not email or "@" not in email:
        raise OidcRefused(f"{cfg.provider_name} did not share your e-mail address, which the help desk needs.")
    if claims.get("email_verified") is False:
        raise OidcRefused(f"Your e-mail address is not verified at {cfg.provider_name}.")
    name = str(claims.get("name") or "").strip()[:200]
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=None, role=role, name=name)
            return user
        if not user.is_active:
            raise OidcRefused("This help desk account is deactivated. Ask an admin to reactivate it.")
        _role_set(user, role)
        if name and not user.name:
            user.name = name
        user.save(update_fields=["role", "name"])
    return user


def _role_set(user: User, role: str) -> None:
    """The provider's groups decide the role, except that the last active
    admin keeps theirs (docs/access-control.md): the help desk never ends
    up with no admin because of a group change at the provider."""
    before = AccountState.of(user)
    after = AccountState(role=role, is_active=user.is_active, is_superuser=user.is_superuser)
    if last_admin_problem(account=user, before=before, after=after) is None:
        user.role = role
