"""Settings → Sign-in: which staff roles must use two-factor sign-in and
whether single sign-on counts as the second factor (docs/sign-in.md).

Managers see it; only admins change it (it binds managers too). Saved as
the audited HelpdeskSetting `signin.two_factor`, so the History page shows
who changed what and through which path.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import oidc, two_factor
from accounts.models import User
from accounts.policy import is_admin
from desk_settings.access import manager_required
from tickets.config import config_health

ROLE_LABELS = {
    User.Role.AGENT: gettext_lazy("Agents"),
    User.Role.MANAGER: gettext_lazy("Managers"),
    User.Role.ADMIN: gettext_lazy("Admins"),
}


class SignInPolicyForm(forms.Form):
    required_roles = forms.MultipleChoiceField(
        label=gettext_lazy("Roles that must use two-factor sign-in"),
        choices=[(r, ROLE_LABELS[r]) for r in two_factor.STAFF_ROLES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy("Roles set by HELPDESK_2FA_REQUIRED_ROLES in the environment are always required."),
    )
    oidc_satisfies_2fa = forms.BooleanField(
        label=gettext_lazy("Signing in with single sign-on counts as two-factor (the provider does MFA)"),
        required=False,
    )

    def __init__(self, *args: object, policy: two_factor.SignInPolicy, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.policy = policy
        self.fields["required_roles"].initial = sorted(policy.required_roles)
        self.fields["oidc_satisfies_2fa"].initial = policy.page_oidc_satisfies

    def clean_required_roles(self) -> list[str]:
        # The environment's floor stays whatever was posted.
        return sorted(set(self.cleaned_data["required_roles"]) | self.policy.env_roles)


@manager_required
def sign_in_policy(request: HttpRequest) -> HttpResponse:
    policy = two_factor.policy_get()
    may_edit = is_admin(request.user)
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(_("Only an admin can change the sign-in policy."))
        form = SignInPolicyForm(request.POST, policy=policy)
        if form.is_valid():
            page_roles = set(form.cleaned_data["required_roles"]) - policy.env_roles
            two_factor.policy_save(
                required_roles=sorted(page_roles), oidc_satisfies=form.cleaned_data["oidc_satisfies_2fa"]
            )
            messages.success(request, _("Sign-in policy saved."))
            return redirect("desk_settings:sign-in")
    else:
        form = SignInPolicyForm(policy=policy)
    cfg = oidc.config()
    context = {
        "form": form,
        "policy": policy,
        "env_roles": [ROLE_LABELS[r] for r in two_factor.STAFF_ROLES if r in policy.env_roles],
        "may_edit": may_edit,
        "oidc": cfg,
        "section": "sign_in",
        "config_warnings": config_health(),
    }
    return render(request, "desk_settings/sign_in.html", context, status=400 if form.errors else 200)
