"""Who may open the Settings area: managers and admins."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


def manager_required(view: View) -> View:
    """Anonymous users are sent to log in; agents and customers get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(request.user, "is_manager_role", False):
            raise PermissionDenied("Settings are for managers and admins.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)
