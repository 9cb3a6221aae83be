"""API reads built on `tickets.selectors` (the one access predicate).

Kept beside the API so the shared selectors module stays as it is; every
queryset here starts from `ticket_list_for_user` / `ticket_visibility_q`.
"""

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections, router
from django.db.models import ForeignKey, Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import Http404

from accounts.models import User
from helpdesk.lib.db_router import data_as_of
from tickets import selectors
from tickets.models import Attachment, Message, Queue, RequestType, Tag, Ticket, TicketEvent


def _customer_visibility_q(user: Any) -> Q:
    """`tickets.selectors.ticket_visibility_q` for a customer (never None)."""
    return selectors.ticket_visibility_q(user=user) or Q(pk__in=[])


def ticket_list_filtered(*, user: Any, filters: Mapping[str, Any]) -> QuerySet[Ticket]:
    """Tickets `user` may see, narrowed by validated list filters."""
    if getattr(user, "is_authenticated", False) and user.is_active and not user.is_staff_role:
        # Same rows as selectors.ticket_list_for_user (asserted by a test).
        qs = Ticket.objects.select_related("queue", "requester", "assignee").filter(
            _customer_visibility_q(user), is_spam=False, is_deleted=False
        )
    else:
        qs = selectors.ticket_list_for_user(user=user)
    if "queue" in filters:
        qs = qs.filter(queue__slug=filters["queue"])
    if "kind" in filters:
        qs = qs.filter(kind=filters["kind"])
    status = filters.get("status")
    if status == "unsolved":
        qs = qs.filter(status__in=Ticket.UNSOLVED)
    elif status:
        qs = qs.filter(status=status)
    if "priority" in filters:
        qs = qs.filter(priority=filters["priority"])
    assignee = filters.get("assignee")
    if assignee == "me":
        qs = qs.filter(assignee_id=user.pk)
    elif assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif assignee:
        qs = qs.filter(assignee_id=int(assignee))
    if "requester" in filters:
        qs = qs.filter(requester__email__iexact=filters["requester"])
    if "tag" in filters:
        qs = qs.filter(tags__name=filters["tag"].strip().lower())
    for field in ("created", "updated"):
        if f"{field}_after" in filters:
            qs = qs.filter(**{f"{field}_at__gte": filters[f"{field}_after"]})
        if f"{field}_before" in filters:
            qs = qs.filter(**{f"{field}_at__lt": filters[f"{field}_before"]})
    return qs


# The ticket's instants, in output order (the serializer's fields end with them).
TICKET_INSTANTS = (
    "created_at",
    "updated_at",
    "status_changed_at",
    "solved_at",
    "first_response_due_at",
    "next_reply_due_at",
    "resolution_due_at",
)

# What TicketOutputSerializer reads, as `.values()` names: the list reads
# its page as rows, not model instances (docs/api.md, "The ticket list").
TICKET_OUTPUT_VALUES = (
    "id",
    "subject",
    "queue_id",
    "queue__slug",
    "queue__name",
    "queue__kind",
    "kind",
    "status",
    "priority",
    "channel",
    "requester_id",
    "requester__name",
    "requester__email",
    "assignee_id",
    "assignee__name",
    "assignee__email",
    "organisation_id",
    "request_type__slug",
    "merged_into_id",
    "follow_up_of_id",
    *TICKET_INSTANTS,
)


def ticket_list_values(*, user: Any, filters: Mapping[str, Any]) -> QuerySet[Ticket, dict[str, Any]]:
    """`ticket_list_filtered` as rows of `TICKET_OUTPUT_VALUES` (one
    statement; the pagination orders and cuts it)."""
    rows: QuerySet[Ticket, dict[str, Any]] = ticket_list_filtered(user=user, filters=filters).values(
        *TICKET_OUTPUT_VALUES
    )
    return rows


def ticket_tag_names(*, ticket_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each of the tickets' tag names, sorted; none for no ticket, else one
    statement written out (the ORM's compiling of a 50-id filter cost more
    than the rows it reads). A ticket without tags has no key."""
    names: dict[int, list[str]] = {}
    if not ticket_ids:
        return names
    through = Ticket.tags.through
    placeholders = ", ".join(["%s"] * len(ticket_ids))
    sql = (
        f'SELECT tt."ticket_id", t."name" FROM "{through._meta.db_table}" tt '  # noqa: S608 (model table names)
        f'JOIN "{Tag._meta.db_table}" t ON t."id" = tt."tag_id" WHERE tt."ticket_id" IN ({placeholders})'
    )
    with connections[router.db_for_read(through)].cursor() as cursor:
        cursor.execute(sql, [int(pk) for pk in ticket_ids])
        for ticket_id, name in cursor.fetchall():
            names.setdefault(ticket_id, []).append(name)
    for tag_names in names.values():
        tag_names.sort()
    return names


def ticket_get_for_api(*, user: Any, ticket_id: Any) -> Ticket:
    """`tickets.selectors.ticket_get_for_user` (Http404) with what the API
    serializer reads preloaded."""
    ticket = selectors.ticket_get_for_user(user=user, ticket_id=ticket_id)
    return ticket_for_output(ticket_id=ticket.pk)


def ticket_id_for_user(*, user: Any, ticket_id: Any) -> int:
    """`tickets.selectors.ticket_get_for_user`'s check (Http404, never 403)
    selecting the id alone, for commands that need no ticket row."""
    visible = selectors.ticket_list_for_user(user=user, include_hidden=True)
    try:
        found = visible.filter(pk=ticket_id).values_list("pk", flat=True)[:1]
        pk = next(iter(found), None)
    except (ValueError, TypeError, OverflowError):
        pk = None
    if pk is None:
        raise Http404("No such ticket.")
    return int(pk)


def ticket_for_output(*, ticket_id: int) -> Ticket:
    """A ticket with what TicketOutputSerializer reads. No access check:
    only for a ticket the caller has just been allowed to act on."""
    return (
        Ticket.objects.select_related("queue", "requester", "assignee", "request_type")
        .prefetch_related("tags")
        .get(pk=ticket_id)
    )


def _loaded(ticket: Ticket, name: str) -> bool:
    field = Ticket._meta.get_field(name)
    return isinstance(field, ForeignKey) and field.is_cached(ticket)


def ticket_for_output_from(ticket: Ticket, *, tags: Sequence[str] | None = None) -> Ticket:
    """`ticket` itself when the serializer's relations are loaded on it (the
    create's own instance, which routing left as it was), with its tags read
    (one query; none when the create was given no `tags`, the instance
    being the one routing left untouched); else ticket_for_output. No
    access check.

    With the SLA refresh inline the transaction wrote due instants the
    instance lacks: read again then (tickets.sla_dirty)."""
    from tickets.sla_dirty import INLINE, sla_refresh_mode

    relations = ["queue", "requester", "request_type"] + (["assignee"] if ticket.assignee_id else [])
    if sla_refresh_mode() == INLINE or not all(_loaded(ticket, name) for name in relations):
        return ticket_for_output(ticket_id=ticket.pk)
    no_tags = tags is not None and not tags
    prefetch_related_objects([ticket], Prefetch("tags", queryset=Tag.objects.none()) if no_tags else "tags")
    return ticket


def message_for_output_from(message: Message) -> Message:
    """A message the caller has just written without attachments (a JSON
    body), ready for MessageOutputSerializer: no query when the service's
    instance holds its author. No access check: the caller wrote it."""
    prefetch_related_objects([message], "author", Prefetch("attachments", queryset=Attachment.objects.none()))
    return message


def events_settle_seconds() -> float:
    """Events younger than this are held back from the feed, so a reader
    paging by id never skips a row whose transaction commits late."""
    return float(getattr(settings, "HELPDESK_API_EVENTS_SETTLE_SECONDS", 2))


def event_feed_for_user(
    *, user: Any, after: int, limit: int, ticket_id: int | None = None
) -> tuple[list[TicketEvent], bool]:
    """Events with id > `after` on tickets `user` may see, in id order.

    Customers get only the customer-safe kinds of their tickets, never an
    internal one. Returns (events, has_more).
    """
    qs = TicketEvent.objects.filter(id__gt=after).order_by("id")
    settle = events_settle_seconds()
    if settle > 0:
        # Settled relative to what the database read holds (a replica's replay
        # instant), so a replica's lag can never make the cursor skip an event.
        qs = qs.filter(recorded_at__lte=data_as_of() - timedelta(seconds=settle))
    visible = selectors.ticket_visibility_q(user=user)
    if visible is not None:
        qs = qs.filter(ticket__in=Ticket.objects.filter(visible).values("pk"))
    if not selectors.user_may_see_internal(user=user):
        qs = qs.filter(kind__in=selectors.CUSTOMER_EVENT_KINDS).exclude(visibility=Message.Visibility.INTERNAL)
    if ticket_id is not None:
        qs = qs.filter(ticket_id=ticket_id)
    rows = list(qs[: limit + 1])
    return rows[:limit], len(rows) > limit


def queue_get_active(*, slug: str) -> Queue | None:
    return Queue.objects.filter(slug=slug, is_active=True).first()


def queue_is_workable_by(*, user: Any, queue: Queue) -> bool:
    """Agents create tickets in their own queues; managers in any."""
    return selectors.queue_list_for_user(user=user).filter(pk=queue.pk).exists()


def request_type_get_active(*, slug: str) -> RequestType | None:
    return selectors.request_type_list_active().filter(slug=slug).first()


def user_get_active_by_email(*, email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip(), is_active=True).first()


def staff_get_active(*, user_id: int) -> User | None:
    return User.objects.filter(pk=user_id, is_active=True).filter(Q(role__in=User.STAFF_ROLES)).first()
