"""Who may see the customer success view (docs/customer-success.md):
managers and admins, and agents who work in at least one service queue
(customer success is a service function). Ticket lists inside it are still
filtered by the ticket access rule (tickets.selectors.ticket_list_for_user)."""

from typing import Any

from accounts.models import User
from tickets.models import QueueKind


def success_viewer(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if user.role in User.MANAGER_ROLES:
        return True
    return user.role == User.Role.AGENT and user.queues.filter(kind=QueueKind.SERVICE).exists()
