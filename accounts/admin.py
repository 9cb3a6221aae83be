from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.http import HttpRequest

from accounts import policy
from accounts.forms import AdminLoginForm
from accounts.models import Organisation, User

# The admin's login goes through the same lock-out as the app's login.
admin.site.login_form = AdminLoginForm


def _guard_account_change(form: forms.ModelForm, actor: Any) -> None:
    """accounts.policy on the admin's user forms: errors on the field."""
    data = form.cleaned_data
    instance = form.instance
    before = policy.AccountState.of(User.objects.get(pk=instance.pk)) if instance.pk else None
    after = policy.AccountState(
        role=data.get("role", before.role if before else User.Role.CUSTOMER),
        is_active=data.get("is_active", before.is_active if before else True),
        is_superuser=data.get("is_superuser", before.is_superuser if before else False),
    )
    problems = policy.account_change_problems(actor=actor, before=before, after=after)
    if before is not None and instance.pk:
        with transaction.atomic():  # the admin's view holds the outer transaction
            last = policy.last_admin_problem(account=instance, before=before, after=after)
        if last is not None:
            problems.append(last)
    for problem in problems:
        form.add_error(problem.field if problem.field in form.fields else None, problem.message)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "role", "organisation", "is_active"]
    list_filter = ["role", "is_active", "organisation"]
    search_fields = ["email", "name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "first_name", "last_name", "role", "organisation", "capacity", "timezone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        base = super().get_form(request, obj, change=change, **kwargs)
        actor = request.user

        class GuardedForm(base):  # type: ignore[misc, valid-type]
            def clean(self) -> Any:
                data = super().clean()
                _guard_account_change(self, actor)
                return data

        return GuardedForm

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Staff accounts are deleted by admins only, the last active admin
        by nobody (deactivate accounts rather than delete them)."""
        if obj is not None and obj.role in policy.STAFF_ROLES and not policy.is_admin(request.user):
            return False
        if obj is not None:
            before = policy.AccountState.of(obj)
            if before.is_admin and not policy.active_admin_ids(exclude=[obj.pk], lock=False):
                return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> Any:
        # Bulk delete would skip the per-account checks above.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "shares_tickets"]
    search_fields = ["name", "domain"]
