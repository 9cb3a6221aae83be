"""Two-factor sign-in for staff: the policy, enrolment, codes and the
lock-out (docs/sign-in.md).

A TOTP device (django-otp) per person plus one static device holding ten
single-use recovery codes. Which roles must have a device is the union of
the environment's floor (HELPDESK_2FA_REQUIRED_ROLES) and the Settings
page's choice, stored as the audited HelpdeskSetting `signin.two_factor`.
"""

from dataclasses import dataclass
from typing import Any

import segno
from django.conf import settings
from django.db import connections, router, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from helpdesk.lib.throttle import Throttle

POLICY_KEY = "signin.two_factor"
STAFF_ROLES = (User.Role.AGENT, User.Role.MANAGER, User.Role.ADMIN)
RECOVERY_CODE_COUNT = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
# Per account, not per address: the password is already known to whoever
# is guessing, so the second factor's guesses are what must be bounded.
CODE_LOCK = Throttle(scope="otp-code", limit=5, window=15 * 60)
LOCKED_MESSAGE = _("Too many wrong codes. Signing in with a code is locked for 15 minutes; try again later.")
WRONG_CODE_MESSAGE = _("That code is not valid. Enter the current 6-digit code or an unused recovery code.")
# Session key: how this session signed in ("oidc" for single sign-on).
SIGNIN_METHOD_KEY = "signin_method"
METHOD_OIDC = "oidc"

OK, VERIFY, ENROL = "ok", "verify", "enrol"


class CodeLocked(Exception):
    """Too many wrong codes for this account in the current window."""


@dataclass(frozen=True)
class SignInPolicy:
    page_roles: frozenset[str]
    env_roles: frozenset[str]
    page_oidc_satisfies: bool
    env_oidc_satisfies: bool

    @property
    def required_roles(self) -> frozenset[str]:
        return self.page_roles | self.env_roles

    @property
    def oidc_satisfies(self) -> bool:
        """The stricter of the two wins: either may say no."""
        return self.page_oidc_satisfies and self.env_oidc_satisfies


def _env_roles() -> frozenset[str]:
    return frozenset(r.strip() for r in settings.HELPDESK_2FA_REQUIRED_ROLES if r.strip() in STAFF_ROLES)


def _setting_read(key: str) -> Any:
    from helpdesk.lib import providers

    read = providers.provider(providers.SETTING_READ)  # tickets keeps the settings rows
    return read(key) if read else None


def policy_get() -> SignInPolicy:
    value = _setting_read(POLICY_KEY)
    value = value if isinstance(value, dict) else {}
    roles = value.get("required_roles", [])
    return SignInPolicy(
        page_roles=frozenset(r for r in roles if r in STAFF_ROLES) if isinstance(roles, list) else frozenset(),
        env_roles=_env_roles(),
        page_oidc_satisfies=value.get("oidc_satisfies_2fa", True) is not False,
        env_oidc_satisfies=bool(settings.HELPDESK_OIDC_SATISFIES_2FA),
    )


def policy_save(*, required_roles: list[str], oidc_satisfies: bool) -> None:
    """Store the page's choice (audited through django-auditlog)."""
    from helpdesk.lib import providers

    value = {
        "required_roles": [r for r in STAFF_ROLES if r in set(required_roles)],
        "oidc_satisfies_2fa": bool(oidc_satisfies),
    }
    write = providers.provider(providers.SETTING_WRITE)
    if write is None:
        raise RuntimeError("no settings store is installed")
    write(POLICY_KEY, value)


# --- selectors -----------------------------------------------------------------


def totp_device(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("-id").first()


def has_device(user: User) -> bool:
    """`TOTPDevice.objects.filter(user=user, confirmed=True).exists()`, written
    out: `requirement` asks it on every staff request, and the ORM's compile
    cost ~0.7 ms of CPU for a 0.1 ms statement (docs/sign-in.md). Read from
    the database every time: a device confirmed in another session must be
    asked for at once."""
    table = TOTPDevice._meta.db_table
    with connections[router.db_for_read(TOTPDevice)].cursor() as cursor:
        cursor.execute(f'SELECT 1 FROM "{table}" WHERE "user_id" = %s AND "confirmed" LIMIT 1', [user.pk])  # noqa: S608
        return cursor.fetchone() is not None


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def requirement(user: Any, session: Any) -> str:
    """What this signed-in person still owes: OK, VERIFY (a code) or ENROL."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "role", None) not in STAFF_ROLES:
        return OK
    if user.is_verified():
        return OK
    policy = None
    if session.get(SIGNIN_METHOD_KEY) == METHOD_OIDC:
        policy = policy_get()
        if policy.oidc_satisfies:
            return OK
    if has_device(user):
        return VERIFY
    policy = policy or policy_get()
    return ENROL if user.role in policy.required_roles else OK


def must_have_device(user: User) -> bool:
    return user.role in policy_get().required_roles


# --- enrolment -------------------------------------------------------------------


def enrolment_device(user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled (the same across reloads, so
    the QR code does not change under the person scanning it)."""
    device = totp_device(user, confirmed=False)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG drawn on the server (no script,
    no style attribute: the strict CSP holds)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=5, border=2, light="#fff", title="QR code")


def secret_base32(device: TOTPDevice) -> str:
    from base64 import b32encode

    return b32encode(device.bin_key).decode()


def enrolment_confirm(request: HttpRequest, *, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm `device` with its first code: it replaces any earlier device,
    fresh recovery codes are made (returned to show once) and this session
    counts as verified. None when the code is wrong."""
    user = device.user
    with transaction.atomic():
        if not device.verify_token(_digits(code)):
            return None
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_regenerate(user)
    otp_login(request, device)
    return codes


def recovery_codes_regenerate(user: User) -> list[str]:
    """Ten new single-use codes; the old ones stop working."""
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME, defaults={"confirmed": True})
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def two_factor_remove(user: User) -> None:
    """Forget every device of `user` (their own choice when their role is
    not required to have one, or an admin's reset)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


# --- the sign-in step ---------------------------------------------------------------


def code_verify(request: HttpRequest, *, user: User, code: str) -> bool:
    """Check a TOTP or recovery code under the lock-out; on success the
    session is verified. Raises CodeLocked when the account is locked (the
    right code is refused too, so guessing gains nothing)."""
    key = str(user.pk)
    if CODE_LOCK.is_blocked(key):
        raise CodeLocked
    device = _device_matching(user, code)
    if device is None:
        if CODE_LOCK.failure_record(key) >= CODE_LOCK.limit:
            raise CodeLocked
        return False
    CODE_LOCK.reset(key)
    otp_login(request, device)
    return True


def _device_matching(user: User, code: str) -> TOTPDevice | StaticDevice | None:
    code = code.strip()
    with transaction.atomic():
        totp = totp_device(user)
        if totp is not None and _digits(code).isdigit() and totp.verify_token(_digits(code)):
            return totp
        # A recovery code is spent by verify_token (the token row is deleted).
        for device in StaticDevice.objects.filter(user=user, confirmed=True):
            if device.verify_token(code.lower().replace(" ", "").replace("-", "")):
                return device
    return None


def _digits(code: str) -> str:
    return code.replace(" ", "").replace("-", "").strip()
