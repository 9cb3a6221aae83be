"""Writes of the accounts app."""

from collections.abc import Callable

from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction

from accounts.models import User
from helpdesk.lib.exceptions import Conflict


class EmailTaken(Conflict):
    code = "email_taken"


@transaction.atomic
def customer_signup(*, email: str, password: str, name: str = "") -> User:
    """Create a customer account from the portal sign-up form.

    The new customer is not attached to an organisation by email domain:
    the address is not verified yet, and membership of a sharing
    organisation would reveal its tickets. Staff attach customers instead.

    Raises EmailTaken (409) if the address is in use (case-insensitive),
    django ValidationError if the password is too weak.
    """
    email = User.objects.normalize_email(email.strip())
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken("An account with this email already exists. Log in instead.")
    user = User(email=email, username=email, name=name.strip()[:200], role=User.Role.CUSTOMER)
    validate_password(password, user=user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # a concurrent sign-up with the same address
        raise EmailTaken("An account with this email already exists. Log in instead.") from None
    return user


# --- magic links ---------------------------------------------------------------

MAGIC_LINK_SALT = "accounts.magic-link"
MAGIC_LINK_MAX_AGE = 15 * 60


def _login_state(user: User) -> str:
    """Changes when the user logs in or changes password: single use."""
    import hashlib

    raw = f"{user.pk}:{user.password}:{user.last_login.isoformat() if user.last_login else ''}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def magic_link_token_make(*, user: User) -> str:
    """A signed, expiring (15 min), single-use login token for `user`."""
    from django.core import signing

    return signing.dumps({"u": user.pk, "s": _login_state(user)}, salt=MAGIC_LINK_SALT, compress=True)


def magic_link_user_get(*, token: str) -> User | None:
    """The user a valid token names; None if forged, expired or already used."""
    from django.core import signing

    try:
        data = signing.loads(token, salt=MAGIC_LINK_SALT, max_age=MAGIC_LINK_MAX_AGE)
        user = User.objects.get(pk=int(data["u"]), is_active=True)
    except (signing.BadSignature, User.DoesNotExist, KeyError, TypeError, ValueError):
        return None
    if data.get("s") != _login_state(user):
        return None  # used already (last_login moved) or password changed
    return user


def magic_link_send(*, email: str, build_url: Callable[[str], str]) -> bool:
    """Email a login link if an active account has this address.

    Returns whether a mail was sent; callers must not reveal it (no account
    enumeration). `build_url(token)` makes the absolute link.
    """
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    user = User.objects.filter(email__iexact=(email or "").strip(), is_active=True).first()
    if user is None:
        return False
    url = build_url(magic_link_token_make(user=user))
    body = render_to_string("accounts/email/magic_link.txt", {"user": user, "url": url, "minutes": 15})
    send_mail("Your login link", body, None, [user.email])
    return True
