"""Role checks of the API. Object access is never decided here: the view
first fetches the ticket through the selectors (404 when it is not
visible), then asks for the role, so a foreign ticket is always a 404."""

from typing import Any

from rest_framework import exceptions


def require_staff(user: Any) -> None:
    """Raise 403 `permission_denied` unless the user works tickets."""
    if not getattr(user, "is_staff_role", False):
        raise exceptions.PermissionDenied("Only agents and managers can do this.")
