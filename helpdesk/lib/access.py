"""Role checks of every app, in one place (docs/access-control.md): the HTML
view guards (`staff_required`, `manager_required`) and the API's
(`IsManager`, `require_staff`). They read the user's role properties
(accounts.models.User.is_staff_role / is_manager_role, built on
User.STAFF_ROLES and User.MANAGER_ROLES), so this module imports no app.
Which object a user may touch is decided by tickets.policy and
accounts.policy, never here."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

View = Callable[..., HttpResponseBase]

NOT_MANAGER = "Only managers and admins can do this."


def is_staff(user: Any) -> bool:
    return bool(getattr(user, "is_staff_role", False))


def is_manager(user: Any) -> bool:
    return bool(getattr(user, "is_manager_role", False))


def staff_required(view: View) -> View:
    """Agents, managers and admins only. Anonymous users are sent to log in;
    customers get 404: staff pages do not exist for them."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_staff(request.user):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def manager_required(
    view: View | None = None, *, customers: int = 404, agents: int = 403, message: str = NOT_MANAGER
) -> Any:
    """Managers and admins only. Anonymous users are sent to log in; others
    get `customers` / `agents` (404: the page does not exist for them, 403:
    `message`). Use bare (`@manager_required`) or configured."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not is_manager(request.user):
                if (agents if is_staff(request.user) else customers) == 404:
                    raise Http404("No such page.")
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorate(view) if view is not None else decorate


class IsManager(BasePermission):
    """API: managers and admins (anonymous: 401, everyone else: 403)."""

    message = NOT_MANAGER

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and is_manager(user))


def require_staff(user: Any) -> None:
    """API: raise 403 `permission_denied` unless the user works tickets.
    Object access is never decided here: a view first fetches the object
    through the selectors (404 when it is not visible), then asks for the
    role, so a foreign ticket is always a 404."""
    if not is_staff(user):
        raise exceptions.PermissionDenied(gettext("Only agents and managers can do this."))
