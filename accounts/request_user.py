"""The signed-in user of a request, typed (docs/architecture.md, Types).

Views behind login_required, a staff check or DRF's IsAuthenticated only
ever see a User, but `request.user` is typed `User | AnonymousUser`.
`signed_in(request)` states it once, and answers 403 if it were ever not so."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.request import Request

from accounts.models import User


def signed_in(request: HttpRequest | Request) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
