"""Held mail: an agent releases or discards what identity checks held.

Release never lets mail act as staff: a held mail from a staff address is
added as an internal note written by the releasing agent, and never becomes
a ticket; a customer's held mail goes in as that customer's reply (or new
ticket), exactly as if it had been trusted.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from accounts.services import user_by_address, user_create_for_address
from helpdesk.lib.exceptions import ApplicationError, Conflict, PermissionDenied
from mail import parsing
from mail.models import InboundMessage
from mail.services import inbound as inbound_services
from mail.storage import inbound_raw
from tickets import services as ticket_services
from tickets.models import Message

IS = InboundMessage.Status


def inbound_may_resolve(*, user: User, inbound: InboundMessage) -> bool:
    """Staff who can see the held mail's ticket; managers and admins for
    held mail without a ticket."""
    if not (user.is_authenticated and user.is_active and user.is_staff_role):
        return False
    if inbound.ticket_id is None:
        return user.is_manager_role
    from tickets.selectors import ticket_list_for_user

    return ticket_list_for_user(user=user, include_hidden=True).filter(pk=inbound.ticket_id).exists()


def _lock_held(inbound_id: int, actor: User) -> InboundMessage:
    inbound = InboundMessage.objects.select_for_update(no_key=True).filter(pk=inbound_id).first()
    if inbound is None or not inbound_may_resolve(user=actor, inbound=inbound):
        raise PermissionDenied(gettext("You may not act on this mail."), code="permission_denied")
    if inbound.status != IS.HELD:
        raise Conflict(
            gettext("This mail is no longer held (it is %s).") % inbound.get_status_display().lower(), code="not_held"
        )
    return inbound


def _resolved(inbound: InboundMessage, actor: User, reason: str) -> InboundMessage:
    inbound.reason = reason[:5000]
    inbound.resolved_by, inbound.resolved_at = actor, timezone.now()
    inbound.save(
        update_fields=["status", "reason", "ticket", "result_message", "threaded_by", "resolved_by", "resolved_at"]
    )
    return inbound


@transaction.atomic
def inbound_release(*, inbound_id: int, actor: User) -> InboundMessage:
    """Let a held mail in on an agent's word.

    On a ticket: a customer's mail becomes that customer's public reply; a
    staff address's mail becomes an internal note by `actor` quoting it.
    Without a ticket: a customer's mail opens a ticket; a staff address's
    is refused. Raises PermissionDenied, Conflict (not held any more) or
    ApplicationError (staff mail without a ticket, or a refused message).
    """
    inbound = _lock_held(inbound_id, actor)
    held_reason = inbound.reason
    parsed = parsing.mail_parse(inbound_raw(inbound))
    known = user_by_address(parsed.from_email)
    ticket = inbound_services._follow_merge(inbound.ticket) if inbound.ticket is not None else None
    if known is not None and known.is_staff_role:
        if ticket is None:
            raise ApplicationError(
                gettext("Mail from a staff address never becomes a ticket; discard it."), code="staff_sender"
            )
        files, refused = inbound_services._files_accepted(parsed)
        note = inbound_services._refused_note(refused)
        body = f"Mail from {parsed.from_email} ({parsed.subject}), held as unauthenticated, added by "
        body += f"{actor.email} as an internal note:\n\n{parsed.text}"
        if note:
            body = f"{body}\n\n{note}"
        message = ticket_services.message_post(
            ticket_id=ticket.pk,
            author=actor,
            body=body,
            visibility=Message.Visibility.INTERNAL,
            attachments=files,
            body_format=Message.Format.PLAIN,
        )
        inbound.ticket_id, inbound.result_message = message.ticket_id, message
        inbound.status = IS.PROCESSED
        return _resolved(inbound, actor, f"released by {actor.email} as an internal note on #{ticket.pk}; "
                                         f"was {held_reason}")  # fmt: skip
    sender = known if known is not None else user_create_for_address(parsed.from_email, parsed.from_name)
    if ticket is not None:
        inbound_services._reply_post(inbound, parsed, ticket, author=sender, method=inbound.threaded_by or "agent")
    else:
        inbound_services._ticket_open(inbound, parsed, sender)
    return _resolved(inbound, actor, f"released by {actor.email}: {inbound.reason}; was {held_reason}")


@transaction.atomic
def inbound_discard(*, inbound_id: int, actor: User) -> InboundMessage:
    """Drop a held mail on an agent's word (the raw row stays for audit).
    Raises PermissionDenied or Conflict (not held any more)."""
    inbound = _lock_held(inbound_id, actor)
    inbound.status = IS.DROPPED
    return _resolved(inbound, actor, f"discarded by {actor.email}; was {inbound.reason}")
