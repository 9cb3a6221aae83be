"""Writes of the accounts app: sign-up with address confirmation, claiming
an account created by e-mail, import or an agent, magic links, password
reset and the customer's own profile (docs/accounts.md).

Every function that takes an address from an anonymous visitor returns
nothing the caller could show: the answer is the same whether or not the
address has an account (no enumeration).
"""

import hashlib
import logging
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.language import recipient_language
from accounts.models import User
from helpdesk.lib.exceptions import ApplicationError
from helpdesk.lib.links import absolute_url

logger = logging.getLogger(__name__)

# --- signed, expiring, single-use links ----------------------------------------

MAGIC_LINK_SALT = "accounts.magic-link"
MAGIC_LINK_MAX_AGE = 15 * 60
SIGNUP_CONFIRM_SALT = "accounts.signup-confirm"
SIGNUP_CONFIRM_MAX_AGE = 48 * 3600
PASSWORD_RESET_SALT = "accounts.password-reset"  # noqa: S105 - a signing salt, not a secret
PASSWORD_RESET_MAX_AGE = 60 * 60
EMAIL_CHANGE_SALT = "accounts.email-change"
EMAIL_CHANGE_MAX_AGE = 24 * 3600


def _login_state(user: User) -> str:
    """Changes when the user logs in, changes password or address, or is
    (de)activated: every link made before is then spent (single use)."""
    last = user.last_login.isoformat() if user.last_login else ""
    raw = f"{user.pk}:{user.password}:{last}:{user.email.lower()}:{int(user.is_active)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _token_make(user: User, *, salt: str, **extra: str) -> str:
    return signing.dumps({"u": user.pk, "s": _login_state(user), **extra}, salt=salt, compress=True)


def _token_payload(token: str, *, salt: str, max_age: int) -> dict[str, Any] | None:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
        int(data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _token_matches(user: User | None, data: dict[str, Any]) -> bool:
    """The account is usable or unclaimed and unchanged since the link."""
    if user is None or not (user.is_active or user.is_claimable):
        return False
    return data.get("s") == _login_state(user)


def _token_read(token: str, *, salt: str, max_age: int) -> tuple[User, dict[str, Any]] | None:
    """The account a valid token names and its payload, to show a page;
    None if the token is forged, expired or spent, or the account is
    deactivated. Nothing is locked: use _token_consume to act on it."""
    data = _token_payload(token, salt=salt, max_age=max_age)
    if data is None:
        return None
    user = User.objects.filter(pk=int(data["u"])).first()
    return (user, data) if user is not None and _token_matches(user, data) else None


class LinkInvalid(ApplicationError):
    code = "link_invalid"
    status_code = 400


def _token_consume(token: str, *, salt: str, max_age: int) -> tuple[User, dict[str, Any]]:
    """Check a token against the account row *locked* in the caller's
    transaction. The caller then changes the state (last login, password,
    activation, address), so of two requests racing with one link the
    second waits for the lock, sees the new state and is refused: a link
    works exactly once.

    Raises LinkInvalid (forged, expired, spent, deactivated).
    """
    data = _token_payload(token, salt=salt, max_age=max_age)
    if data is None:
        raise LinkInvalid(gettext("This link no longer works."))
    user = User.objects.select_for_update(no_key=True).filter(pk=int(data["u"])).first()
    if user is None or not _token_matches(user, data):
        raise LinkInvalid(gettext("This link no longer works."))
    return user, data


def magic_link_token_make(*, user: User) -> str:
    """A signed, expiring (15 min), single-use login token for `user`."""
    return _token_make(user, salt=MAGIC_LINK_SALT)


def magic_link_user_get(*, token: str) -> User | None:
    """The user a valid login token names; None if forged, expired or used."""
    found = _token_read(token, salt=MAGIC_LINK_SALT, max_age=MAGIC_LINK_MAX_AGE)
    return found[0] if found else None


def signup_confirm_user_get(*, token: str) -> User | None:
    """The not yet confirmed sign-up a valid confirmation token names."""
    found = _token_read(token, salt=SIGNUP_CONFIRM_SALT, max_age=SIGNUP_CONFIRM_MAX_AGE)
    return found[0] if found and found[0].is_claimable else None


def password_reset_user_get(*, token: str) -> User | None:
    """The account a valid reset token names; None if forged, expired or used."""
    found = _token_read(token, salt=PASSWORD_RESET_SALT, max_age=PASSWORD_RESET_MAX_AGE)
    return found[0] if found else None


def email_change_get(*, token: str) -> tuple[User, str] | None:
    """(account, new address) of a valid e-mail change token."""
    found = _token_read(token, salt=EMAIL_CHANGE_SALT, max_age=EMAIL_CHANGE_MAX_AGE)
    if found is None or not found[0].is_active or not isinstance(found[1].get("e"), str):
        return None
    return found[0], found[1]["e"]


def _link(name: str, token: str, next_path: str = "") -> str:
    path = reverse(name, kwargs={"token": token})
    return absolute_url(path + (f"?{urlencode({'next': next_path})}" if next_path else ""))


def _mail(*, to: str, subject: str | Promise, template: str, context: dict[str, Any], recipient: User) -> None:
    """Put one account mail in the notifications outbox, in the caller's
    transaction; the worker sends it after the commit and retries while the
    mail server is down, so nothing is lost and the page answers without
    waiting for SMTP (docs/accounts.md)."""
    from helpdesk.lib import providers

    send = providers.provider(providers.ACCOUNT_MAIL)  # mail offers it (mail imports accounts)
    if send is None:
        raise RuntimeError("no mail channel is installed for account e-mails")
    # In the recipient's language, whoever triggered it (docs/languages.md, E-mails).
    with translation.override(recipient_language(recipient)):
        body = render_to_string(f"accounts/email/{template}.txt", context)
        send(recipient=recipient, to_email=to, subject=str(subject), body=body)


def _eligible(email: str) -> User | None:
    """The account at `email` that may receive a sign-in or reset link:
    a usable one, or an unclaimed one (claiming proves the address)."""
    user = User.objects.filter(email__iexact=(email or "").strip()).first()
    if user is None or not (user.is_active or user.is_claimable):
        return None
    return user


# --- claiming -----------------------------------------------------------------


def _claim(user: User, *, keep_password: bool) -> list[str]:
    """Activate an unclaimed account whose owner just proved the address.

    Unless the proof is the sign-up confirmation itself, a password typed
    at sign-up is dropped: anyone can sign up with someone else's address,
    and that stranger's password must not survive the owner's claim.
    Returns the changed fields (the caller saves them).
    """
    if not user.is_claimable:
        return []
    user.is_active = True
    user.email_confirmed_at = timezone.now()
    fields = ["is_active", "email_confirmed_at"]
    if not keep_password and user.has_usable_password():
        user.set_unusable_password()
        fields.append("password")
    return fields


@transaction.atomic
def magic_link_consume(*, token: str) -> User:
    """Spend a sign-in link: moves `last_login` under the row lock (so the
    link works once, also against a concurrent second use) and, for an
    unclaimed account, activates it (the link proved the address; no
    sign-up password is kept). The caller then logs the user in.

    Raises LinkInvalid.
    """
    user, _data = _token_consume(token, salt=MAGIC_LINK_SALT, max_age=MAGIC_LINK_MAX_AGE)
    fields = _claim(user, keep_password=False)
    user.last_login = timezone.now()
    user.save(update_fields=[*fields, "last_login"])
    return user


def magic_link_send(*, email: str, next_path: str = "") -> bool:
    """Email a sign-in link if an account, usable or unclaimed, has this
    address. Returns whether a mail was sent; callers must not reveal it
    (no account enumeration)."""
    user = _eligible(email)
    if user is None:
        return False
    url = _link("accounts:magic-link-login", magic_link_token_make(user=user), next_path)
    _mail(
        to=user.email,
        recipient=user,
        subject=_("Your sign-in link"),
        template="magic_link",
        context={"user": user, "url": url, "minutes": MAGIC_LINK_MAX_AGE // 60, "claim": user.is_claimable},
    )
    return True


# --- password reset -------------------------------------------------------------


def password_reset_send(*, email: str) -> bool:
    """Email a link to set a new password if an account, usable or
    unclaimed, has this address; returns whether a mail was sent (never to
    be shown: the answer is the same for every address)."""
    user = _eligible(email)
    if user is None:
        return False
    url = _link("accounts:password-reset-confirm", _token_make(user, salt=PASSWORD_RESET_SALT))
    _mail(
        to=user.email,
        recipient=user,
        subject=_("Set your password"),
        template="password_reset",
        context={"user": user, "url": url, "minutes": PASSWORD_RESET_MAX_AGE // 60, "claim": user.is_claimable},
    )
    return True


@transaction.atomic
def password_reset_complete(*, token: str, password: str) -> User:
    """Set the password from a reset link; an unclaimed account becomes
    active (the link proved the address). Setting the password spends the
    link, under the row lock.

    Raises LinkInvalid, django ValidationError for a weak password.
    """
    user, _data = _token_consume(token, salt=PASSWORD_RESET_SALT, max_age=PASSWORD_RESET_MAX_AGE)
    validate_password(password, user=user)
    fields = _claim(user, keep_password=False)
    user.set_password(password)
    user.save(update_fields=[*fields, "password"])
    return user


# --- sign-up --------------------------------------------------------------------


def customer_signup(*, email: str, password: str, name: str = "") -> None:
    """Sign-up from the portal; always answers the same.

    A new address gets an inactive account and a confirmation link: the
    account is usable (and shows tickets) only after the link is followed.
    An address that already has an account gets a mail offering a sign-in
    link and a password reset instead, and the typed password is not
    stored (it may be a stranger's). The customer is not attached to an
    organisation by e-mail domain (staff do that).

    Raises django ValidationError if the password is too weak (checked the
    same way for every address, before the address is looked at).
    """
    email = User.objects.normalize_email(email.strip())
    candidate = User(email=email, username=email, name=name.strip()[:200], role=User.Role.CUSTOMER)
    validate_password(password, user=candidate)
    # Hashed for every address, so the response time does not tell whether
    # the address is known.
    candidate.password = make_password(password)
    candidate.is_active = False
    existing = User.objects.filter(email__iexact=email).first()
    if existing is None:
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError:  # a concurrent sign-up with the same address
            return
        url = _link("accounts:signup-confirm", _token_make(candidate, salt=SIGNUP_CONFIRM_SALT))
        _mail(
            to=candidate.email,
            recipient=candidate,
            subject=_("Confirm your e-mail address"),
            template="signup_confirm",
            context={"user": candidate, "url": url, "hours": SIGNUP_CONFIRM_MAX_AGE // 3600},
        )
        return
    if not (existing.is_active or existing.is_claimable):
        return  # deactivated by staff: nothing to offer
    _mail(
        to=existing.email,
        recipient=existing,
        subject=_("You already have an account"),
        template="signup_existing",
        context={
            "user": existing,
            "claim": existing.is_claimable,
            "magic_url": _link("accounts:magic-link-login", magic_link_token_make(user=existing)),
            "reset_url": _link("accounts:password-reset-confirm", _token_make(existing, salt=PASSWORD_RESET_SALT)),
            "minutes": MAGIC_LINK_MAX_AGE // 60,
        },
    )


@transaction.atomic
def signup_confirm(*, token: str) -> User:
    """Follow the sign-up confirmation: the account becomes usable with the
    password chosen at sign-up (activation spends the link).

    Raises LinkInvalid (also for an account no longer unclaimed).
    """
    user, _data = _token_consume(token, salt=SIGNUP_CONFIRM_SALT, max_age=SIGNUP_CONFIRM_MAX_AGE)
    fields = _claim(user, keep_password=True)
    if not fields:
        raise LinkInvalid(gettext("This link no longer works."))
    user.save(update_fields=fields)
    return user


# --- profile --------------------------------------------------------------------


class EmailChangeRefused(ApplicationError):
    code = "email_change_refused"


def profile_update(*, user: User, name: str, language: str) -> User:
    """Change the customer's own name and preferred language code."""
    user.name = name.strip()[:200]
    user.language = language
    user.full_clean(exclude=["password", "email", "username"])
    user.save(update_fields=["name", "language"])
    return user


def password_change(*, user: User, password: str) -> User:
    """Set a new password (the form checked the old one) and tell the
    address, so a change the owner did not make is noticed."""
    user.set_password(password)
    user.save(update_fields=["password"])
    _mail(
        to=user.email,
        recipient=user,
        subject=_("Your password was changed"),
        template="password_changed",
        context={"user": user, "reset_url": absolute_url(reverse("accounts:password-reset"))},
    )
    return user


def email_change_request(*, user: User, new_email: str) -> None:
    """Send a confirmation link to `new_email`; the address changes only
    when it is followed. An address already used by another account gets
    nothing (the answer to the requester is the same).

    Raises EmailChangeRefused if `new_email` is the current address.
    """
    new_email = User.objects.normalize_email(new_email.strip())
    if new_email.lower() == user.email.lower():
        raise EmailChangeRefused(gettext("That is already your address."))
    if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
        return
    url = _link("accounts:email-change-confirm", _token_make(user, salt=EMAIL_CHANGE_SALT, e=new_email))
    _mail(
        to=new_email,
        recipient=user,
        subject=_("Confirm your new e-mail address"),
        template="email_change_confirm",
        context={"user": user, "new_email": new_email, "url": url, "hours": EMAIL_CHANGE_MAX_AGE // 3600},
    )


def email_change_confirm(*, token: str) -> User:
    """Apply a confirmed address change (spending the link under the row
    lock), then tell the old address.

    Raises LinkInvalid; EmailChangeRefused if another account took the
    address since the link was sent.
    """
    refused = EmailChangeRefused(gettext("This address is no longer available."))
    try:
        with transaction.atomic():
            user, data = _token_consume(token, salt=EMAIL_CHANGE_SALT, max_age=EMAIL_CHANGE_MAX_AGE)
            new_email = data.get("e")
            if not user.is_active or not isinstance(new_email, str):
                raise LinkInvalid(gettext("This link no longer works."))
            old = user.email
            if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
                raise refused
            user.email = user.username = new_email
            user.email_confirmed_at = timezone.now()
            user.save(update_fields=["email", "username", "email_confirmed_at"])
    except IntegrityError:  # taken concurrently (case-insensitive unique)
        raise refused from None
    _mail(
        to=old,
        recipient=user,
        subject=_("Your e-mail address was changed"),
        template="email_changed_notice",
        context={
            "user": user,
            "old_email": old,
            "new_email": new_email,
            "login_url": absolute_url(reverse("accounts:login")),
        },
    )
    return user


def _by_lower_email() -> Any:
    # lower(email) is what the unique index user_email_ci_unique covers;
    # `email__iexact` compiles to UPPER(email) = UPPER(%s) and scans the table.
    return User.objects.alias(email_lower=Lower("email"))


def user_by_address(email: str) -> User | None:
    """The user with this email, case-insensitively (one index probe)."""
    return _by_lower_email().filter(email_lower=email.strip().lower()).first()


def user_for_address(email: str, name: str) -> User:
    """The user with this email (case-insensitive), else a new inactive customer
    (a requester known only by address: mail, the embedded form)."""
    email = email.strip().lower()
    return user_by_address(email) or user_create_for_address(email, name)


def user_create_for_address(email: str, name: str) -> User:
    """A new inactive customer at `email`, which the caller found unknown; the
    user that another transaction created meanwhile, if one did."""
    email = email.strip().lower()
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=None, name=name[:200], is_active=False)
    except IntegrityError:
        return _by_lower_email().get(email_lower=email)


def users_for_addresses(emails: list[str]) -> list[User]:
    """user_for_address for each distinct address, in order: one query for
    the known ones, a creation (as inactive customers) for each other."""
    wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()))
    if not wanted:
        return []
    known = {u.email.lower(): u for u in _by_lower_email().filter(email_lower__in=wanted)}
    return [known.get(e) or user_create_for_address(e, "") for e in wanted]
