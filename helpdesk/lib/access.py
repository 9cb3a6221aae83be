"""Role guards shared by the HTML views of every app."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Agents, managers and admins only. Anonymous users are sent to log in;
    customers get 404: staff pages do not exist for them."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(request.user, "is_staff_role", False):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)
