"""Reads of the email channel, access control included."""

from django.db.models import Q, QuerySet

from accounts.models import User
from mail.models import InboundMessage


def inbound_held_list_for_user(*, user: User, ticket_id: int | None = None) -> QuerySet[InboundMessage]:
    """Held mail `user` may release or discard, newest first: on tickets
    they can see, plus held mail without a ticket for managers and admins.
    Nothing for customers."""
    qs = InboundMessage.objects.filter(status=InboundMessage.Status.HELD).defer("raw")
    if not (user.is_authenticated and user.is_active and user.is_staff_role):
        return qs.none()
    if ticket_id is not None:
        qs = qs.filter(ticket_id=ticket_id)
    from tickets.selectors import ticket_list_for_user

    visible = Q(ticket__in=ticket_list_for_user(user=user, include_hidden=True).values("pk"))
    if user.is_manager_role:
        visible |= Q(ticket__isnull=True)
    return qs.filter(visible).select_related("ticket").order_by("-received_at", "-id")


def inbound_held_on_ticket(*, ticket_id: int) -> bool:
    """Whether any mail is held on the ticket, whoever may act on it (the
    cheap pre-check of the ticket page's panel; access is checked by
    `inbound_held_list_for_user` when there is some)."""
    return InboundMessage.objects.filter(status=InboundMessage.Status.HELD, ticket_id=ticket_id).exists()


def inbound_held_rows(qs: QuerySet[InboundMessage], limit: int = 100) -> list[dict[str, object]]:
    """Rows for the held-mail pages: the row and the start of its text."""
    from mail import parsing
    from mail.storage import inbound_raw

    rows = []
    for inbound in qs[:limit]:
        try:
            text = parsing.mail_parse(inbound_raw(inbound)).text
        except Exception:  # quarantined as unparseable before, never held
            text = ""
        rows.append({"inbound": inbound, "preview": text[:1500] + ("…" if len(text) > 1500 else "")})
    return rows
