"""Login and sign-up forms. Errors are attached to fields where they belong."""

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from helpdesk.lib import throttle

THROTTLED_MESSAGE = _("Too many failed attempts. Wait 15 minutes before trying again, or reset your password.")
INVALID_MESSAGE = _("That email and password do not match an account.")


class LoginForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.request = request
        self.user: User | None = None
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        email, password = data.get("email"), data.get("password")
        if not email or not password:
            return data
        self.user = authenticate_throttled(self.request, email=email, password=password)
        return data


def authenticate_throttled(request: HttpRequest, *, email: str, password: str) -> User:
    """The account for `email` and `password`, under the login lock-out
    shared by every login form (the app's and the Django admin's).

    Raises ValidationError `throttled` or `invalid_login`."""
    ip = throttle.client_ip(request)
    # Checked before the password: once blocked, even the right password
    # is refused, so guessing gains nothing until the window ends.
    if throttle.LOGIN_PER_ACCOUNT.is_blocked(email, ip) or throttle.LOGIN_PER_IP.is_blocked(ip):
        raise forms.ValidationError(THROTTLED_MESSAGE, code="throttled")
    user = authenticate(request, username=_canonical_email(email), password=password)
    if user is None:
        throttle.LOGIN_PER_ACCOUNT.failure_record(email, ip)
        throttle.LOGIN_PER_IP.failure_record(ip)
        raise forms.ValidationError(INVALID_MESSAGE, code="invalid_login")
    throttle.LOGIN_PER_ACCOUNT.reset(email, ip)
    return user


class AdminLoginForm(AdminAuthenticationForm):
    """The Django admin's login with the app's lock-out (same counters, so
    failures at either login count together)."""

    def clean(self) -> dict[str, Any]:
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username and password:
            self.user_cache = authenticate_throttled(self.request, email=username, password=password)
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


def _canonical_email(email: str) -> str:
    """The stored spelling of `email` (logins are case-insensitive)."""
    stored = User.objects.filter(email__iexact=email.strip()).values_list("email", flat=True).first()
    return stored or email


class SignupForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean_password2(self) -> str:
        p1, p2 = self.cleaned_data.get("password1"), self.cleaned_data.get("password2")
        if p1 and p2 and p1 != p2:
            raise forms.ValidationError(_("The two passwords differ."), code="password_mismatch")
        return p2 or ""


class MagicLinkForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )


class PasswordSetForm(forms.Form):
    """A new password, twice; validated against the account."""

    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
        help_text=password_validators_help_text_html(),
    )
    new_password2 = forms.CharField(
        label=_("New password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_new_password2(self) -> str:
        from django.contrib.auth.password_validation import validate_password

        p1, p2 = self.cleaned_data.get("new_password1"), self.cleaned_data.get("new_password2")
        if p1 and p2 and p1 != p2:
            raise forms.ValidationError(_("The two passwords differ."), code="password_mismatch")
        if p2:
            validate_password(p2, user=self.user)
        return p2 or ""


class PasswordChangeForm(PasswordSetForm):
    old_password = forms.CharField(
        label=_("Current password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    field_order = ["old_password", "new_password1", "new_password2"]

    def clean_old_password(self) -> str:
        value = self.cleaned_data.get("old_password") or ""
        if not self.user.check_password(value):
            raise forms.ValidationError(_("Your current password is not correct."), code="password_incorrect")
        return value


def _language_choices() -> list[tuple[str, str]]:
    from django.conf import settings

    return [("", _("Site default")), *sorted(settings.LANGUAGES, key=lambda c: str(c[1]))]


class ProfileForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=200, required=False, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    language = forms.ChoiceField(label=_("Language"), required=False, choices=_language_choices)


class EmailChangeForm(forms.Form):
    email = forms.EmailField(
        label=_("New email address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
