"""Who may see the customer success view (docs/customer-success.md):
managers and admins, and agents who work in at least one service queue
(customer success is a service function). Ticket lists inside it are still
filtered by the ticket access rule (tickets.selectors.ticket_list_for_user)."""

from typing import Any

from django.db import connections, router

from accounts.models import User
from tickets.models import Queue, QueueKind, QueueMembership


def _works_in_a_service_queue(user: Any) -> bool:
    """`user.queues.filter(kind=SERVICE).exists()`, written out: the agent
    menu asks it on every page, and compiling the ORM's join cost ~1 ms of CPU
    for a 0.1 ms statement (docs/workspace-list.md, "Rendering cost")."""
    membership, queue = QueueMembership._meta.db_table, Queue._meta.db_table
    sql = (
        f'SELECT 1 FROM "{membership}" m INNER JOIN "{queue}" q ON q."id" = m."queue_id"'  # noqa: S608 (names only)
        ' WHERE m."user_id" = %s AND q."kind" = %s LIMIT 1'
    )
    with connections[router.db_for_read(Queue)].cursor() as cursor:
        cursor.execute(sql, [user.pk, QueueKind.SERVICE.value])
        return cursor.fetchone() is not None


def success_viewer(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    if user.role in User.MANAGER_ROLES:
        return True
    return user.role == User.Role.AGENT and _works_in_a_service_queue(user)
