"""Reads of tickets, and access control: the one place that decides who sees
what. Pages, API, search, exports and notifications all go through here.
"""

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import User
from tickets.models import Message, Queue, Ticket, TicketEvent


def queue_ids_for_agent(*, user: User) -> list[int]:
    return list(user.queues.values_list("pk", flat=True))


def ticket_visibility_q(*, user: User) -> Q | None:
    """The predicate of tickets `user` may see; None means every ticket.

    - manager/admin: all tickets
    - agent: tickets in the queues they are a member of
    - customer: tickets they requested or are CC'd on, plus their
      organisation's tickets when the organisation shares tickets
    - anyone else (inactive/anonymous): nothing
    """
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_manager_role:
        return None
    if user.role == User.Role.AGENT:
        return Q(queue__in=Queue.objects.filter(members=user).values("pk"))
    q = Q(requester=user) | Q(pk__in=Ticket.ccs.through.objects.filter(user_id=user.pk).values("ticket_id"))
    if user.organisation_id and user.organisation and user.organisation.shares_tickets:
        q |= Q(organisation_id=user.organisation_id)
    return q


def ticket_list_for_user(*, user: Any, include_hidden: bool = False) -> QuerySet[Ticket]:
    """Tickets `user` may see. Spam and deleted tickets are hidden unless
    `include_hidden` (agents' trash and spam views)."""
    qs = Ticket.objects.select_related("queue", "requester", "assignee")
    q = ticket_visibility_q(user=user)
    if q is not None:
        qs = qs.filter(q)
    if not include_hidden or not getattr(user, "is_staff_role", False):
        qs = qs.filter(is_spam=False, is_deleted=False)
    return qs


def ticket_get_for_user(*, user: Any, ticket_id: int) -> Ticket:
    """The ticket if `user` may see it; Http404 otherwise (never 403)."""
    try:
        return ticket_list_for_user(user=user, include_hidden=True).get(pk=ticket_id)
    except (Ticket.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such ticket.") from None


def user_may_see_internal(*, user: Any) -> bool:
    """Internal notes and internal events are for staff only."""
    return bool(getattr(user, "is_authenticated", False) and user.is_staff_role)


def message_list_for_ticket(*, user: Any, ticket: Ticket) -> QuerySet[Message]:
    """Messages of the ticket (and of tickets merged into it) for `user`.

    Customers get public messages only, whatever the path.
    """
    merged_ids = list(Ticket.objects.filter(merged_into=ticket).values_list("pk", flat=True))
    qs = (
        Message.objects.filter(ticket_id__in=[ticket.pk, *merged_ids])
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
    if not user_may_see_internal(user=user):
        qs = qs.filter(visibility=Message.Visibility.PUBLIC)
    return qs


# Event kinds a customer may see on their ticket's timeline.
CUSTOMER_EVENT_KINDS = (
    TicketEvent.Kind.CREATED,
    TicketEvent.Kind.STATUS,
    TicketEvent.Kind.MERGED_INTO,
    TicketEvent.Kind.MERGED_FROM,
)


def event_list_for_ticket(*, user: Any, ticket: Ticket) -> QuerySet[TicketEvent]:
    """The ticket's timeline events for `user`; customers see a safe subset."""
    qs = TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("occurred_at", "id")
    if not user_may_see_internal(user=user):
        qs = qs.filter(kind__in=CUSTOMER_EVENT_KINDS).exclude(visibility=Message.Visibility.INTERNAL)
    return qs


def ticket_requester_other_tickets(*, user: Any, ticket: Ticket, limit: int = 10) -> QuerySet[Ticket]:
    return (
        ticket_list_for_user(user=user)
        .filter(requester_id=ticket.requester_id)
        .exclude(pk=ticket.pk)
        .order_by("-created_at")[:limit]
    )


def attachment_get_for_user(*, user: Any, attachment_id: int) -> Any:
    """An attachment if `user` may see its message; Http404 otherwise."""
    from tickets.models import Attachment

    try:
        att = Attachment.objects.select_related("message").get(pk=attachment_id)
    except (Attachment.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such file.") from None
    ticket = ticket_get_for_user(user=user, ticket_id=att.message.ticket_id)
    del ticket
    if att.message.visibility != Message.Visibility.PUBLIC and not user_may_see_internal(user=user):
        raise Http404("No such file.")
    return att


def queue_list_for_user(*, user: Any) -> QuerySet[Queue]:
    if user.is_manager_role:
        return Queue.objects.filter(is_active=True)
    if user.role == User.Role.AGENT:
        return Queue.objects.filter(is_active=True, members=user)
    return Queue.objects.none()
