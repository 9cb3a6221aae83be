"""Settings → Agents and Organisations forms.

The role and active-flag rules are accounts/policy.py's, the same function
the config API, the config command and the Django admin use; this form only
maps its problems onto its own fields.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import policy
from accounts.models import Organisation, User
from automation.forms import DOMAIN_RE
from tickets.models import Queue


class StaffForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, label=_("Name"))
    role = forms.ChoiceField(
        choices=User.Role.choices,
        label=_("Role"),
        help_text=_("Only an admin grants or revokes the manager and admin roles."),
    )
    is_active = forms.BooleanField(
        required=False, label=_("Active"), help_text=_("Only an admin deactivates or reactivates a staff account.")
    )
    queues = forms.ModelMultipleChoiceField(
        queryset=Queue.objects.none(), required=False, widget=forms.CheckboxSelectMultiple, label=_("Queues")
    )
    capacity = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1000,
        label=_("Capacity"),
        help_text=_("Most open tickets auto-assignment gives; empty: no limit."),
    )
    is_away = forms.BooleanField(required=False, label=_("Away (no automatic assignments)"))

    def __init__(self, *args: Any, actor: User, account: User, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "name": account.name,
                "role": account.role,
                "is_active": account.is_active,
                "queues": list(account.queues.values_list("pk", flat=True)),
                "capacity": account.capacity,
                "is_away": account.is_away,
            },
        )
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.account = account
        self.fields["queues"].queryset = Queue.objects.filter(is_active=True).order_by("kind", "name")
        if not policy.is_admin(actor):
            # Offer only what this editor may grant; a forged value gets the
            # policy's own message.
            grantable = {account.role}
            if account.role not in policy.PRIVILEGED_ROLES:
                grantable |= {User.Role.AGENT, User.Role.CUSTOMER}
            role = self.fields["role"]
            role.choices = [(v, label) for v, label in User.Role.choices if v in grantable]
            role.error_messages["invalid_choice"] = policy.ONLY_ADMIN_ROLE

    def after_state(self) -> policy.AccountState:
        return policy.AccountState(
            role=self.cleaned_data["role"],
            is_active=self.cleaned_data["is_active"],
            is_superuser=self.account.is_superuser,
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        problems = policy.account_change_problems(
            actor=self.actor, before=policy.AccountState.of(self.account), after=self.after_state()
        )
        for problem in problems:
            self.add_error(problem.field if problem.field in self.fields else None, problem.message)
        return data


class OrganisationForm(forms.Form):
    name = forms.CharField(max_length=200, label=_("Name"))
    domain = forms.CharField(
        max_length=200,
        required=False,
        label=_("Email domain"),
        help_text=_("New customers with this email domain join the organisation (e.g. acme.com)."),
    )
    shares_tickets = forms.BooleanField(
        required=False,
        label=_("Members see each other's tickets"),
        help_text=_("Every member sees every ticket of the organisation."),
    )

    def __init__(self, *args: Any, instance: Organisation | None = None, **kwargs: Any) -> None:
        if instance is not None:
            kwargs.setdefault(
                "initial", {"name": instance.name, "domain": instance.domain, "shares_tickets": instance.shares_tickets}
            )
        super().__init__(*args, **kwargs)
        self.instance = instance

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Organisation.objects.filter(name__iexact=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(gettext("An organisation with this name already exists."))
        return name

    def clean_domain(self) -> str:
        domain = self.cleaned_data.get("domain", "").strip().lower().lstrip("@")
        if not domain:
            return ""
        if not DOMAIN_RE.match(domain):
            raise ValidationError(gettext("Not a domain name: %s (expected e.g. acme.com).") % domain)
        clash = Organisation.objects.filter(domain__iexact=domain)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(
                gettext("%(domain)s already belongs to %(org)s.") % {"domain": domain, "org": clash.first()}
            )
        return domain
