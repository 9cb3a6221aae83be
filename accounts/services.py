"""Writes of the accounts app."""

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
