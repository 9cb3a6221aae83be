"""All writes to tickets. Each service validates, locks, mutates, records a
TicketEvent in the same transaction and enqueues follow-up work on commit.
"""

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from helpdesk.lib.exceptions import ApplicationError, Conflict, NotFound
from tickets import policy, workflow
from tickets.attachments import AttachmentRejected, IncomingFile, attachments_validate
from tickets.bulk import atomic_batched
from tickets.events import actor_role_of, event_record, events_batched
from tickets.models import Attachment, Message, Queue, Tag, Ticket, TicketEvent

K = TicketEvent.Kind
S = Ticket.Status


# The upload policy lives in tickets.attachments; re-exported here because
# every write path (forms, API, mail) calls it through the services.
__all__ = ["AttachmentRejected", "IncomingFile", "attachments_validate"]


def _attachments_store(message: Message, files: Sequence[IncomingFile]) -> list[Attachment]:
    from django.core.files.base import ContentFile

    stored = []
    for f in files:
        att = Attachment(
            message=message,
            filename=f.filename,
            content_type=f.content_type[:255],
            size=len(f.content),
            sha256=hashlib.sha256(f.content).hexdigest(),
            is_inline=f.is_inline,
        )
        att.file.save(att.filename, ContentFile(f.content), save=False)
        att.save()
        stored.append(att)
    return stored


def _lock(ticket_id: int, *, with_requester: bool = False) -> Ticket:
    """The ticket row, locked; `with_requester` loads its requester in the
    same statement (not locked) for the notifications a reply plans."""
    if with_requester:
        qs = Ticket.objects.select_related("requester").select_for_update(no_key=True, of=("self",))
        return qs.get(pk=ticket_id)
    return Ticket.objects.select_for_update(no_key=True).get(pk=ticket_id)


def _touch(ticket: Ticket, at: datetime, fields: list[str]) -> None:
    ticket.updated_at = max(ticket.updated_at, at) if ticket.updated_at else at
    ticket.save(update_fields=[*fields, "updated_at"])


def _tags_get_or_create(names: Iterable[str]) -> list[Tag]:
    clean = sorted({n.strip().lower()[:64] for n in names if n and n.strip()})
    if not clean:
        return []
    Tag.objects.bulk_create([Tag(name=n) for n in clean], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=clean))


@atomic_batched
def ticket_create(
    *,
    subject: str,
    body: str,
    queue: Queue,
    requester: User,
    actor: User | None,
    channel: str = Ticket.Channel.PORTAL,
    priority: str = Ticket.Priority.NORMAL,
    status: str = S.NEW,
    tags: Sequence[str] = (),
    ccs: Sequence[User] = (),
    request_type: Any = None,
    description_visibility: str = Message.Visibility.PUBLIC,
    attachments: Sequence[IncomingFile] = (),
    occurred_at: datetime | None = None,
    external_id: str | None = None,
    body_format: str = Message.Format.MARKDOWN,
    email_message_id: str = "",
    follow_up_of: Ticket | None = None,
    description_author: User | None = None,
    extra_data: dict[str, Any] | None = None,
) -> Ticket:
    """Create a ticket with its description message and a `ticket.created` event.

    The creation message is part of `ticket.created` (docs/metrics.md §1.1), not a
    separate message event. `description_author` (default: the actor) writes
    the description, as when an agent splits a customer's message off: its
    role is `creation_message_author_role`, which starts the first-reply
    clock. `extra_data` adds keys to the event. Raises ApplicationError on
    invalid input.
    """
    subject = _ticket_fields_check(subject, status=status, priority=priority, channel=channel)
    attachments = attachments_validate(attachments)
    at = occurred_at or timezone.now()
    role = actor_role_of(actor)
    author = description_author if description_author is not None else actor
    author_role = actor_role_of(author)
    fields = {"subject": subject[:500], "queue": queue, "status": status, "priority": priority, "channel": channel}
    ticket = _ticket_row_create(
        fields, requester, at, request_type=request_type, external_id=external_id, follow_up_of=follow_up_of
    )
    if tags:
        ticket.tags.set(_tags_get_or_create(tags))
    if ccs:
        ticket.ccs.add(*ccs)  # a new ticket has none: no read of the current set
    message = Message.objects.create(
        ticket=ticket,
        author=author,
        author_role=author_role,
        visibility=description_visibility,
        body=body or "",
        body_format=body_format,
        is_description=True,
        channel=channel,
        email_message_id=email_message_id,
        created_at=at,
    )
    _attachments_store(message, attachments)
    event_record(
        ticket,
        K.CREATED,
        actor=actor,
        actor_role=role,
        occurred_at=at,
        data={**_created_event_data(ticket, message, role, tags), **(extra_data or {})},
    )
    return _ticket_created_hooks(ticket, body=body or "")


def _ticket_row_create(
    fields: dict[str, Any],
    requester: User,
    at: datetime,
    *,
    request_type: Any,
    external_id: str | None,
    follow_up_of: Ticket | None,
) -> Ticket:
    return Ticket.objects.create(
        **fields,
        kind=fields["queue"].kind,
        requester=requester,
        organisation_id=requester.organisation_id,
        request_type=request_type,
        external_id=external_id,
        follow_up_of=follow_up_of,
        created_at=at,
        updated_at=at,
        status_changed_at=at,
        solved_at=at if fields["status"] in workflow.RESOLVED else None,
    )


def _follow_up_create(
    ticket: Ticket,
    author: User | None,
    body: str,
    channel: str,
    attachments: Sequence[IncomingFile],
    *,
    at: datetime,
    body_format: str,
    email_message_id: str,
) -> Message:
    """A customer's reply to a closed ticket: a linked follow-up ticket; its description."""
    follow_up = ticket_create(
        subject=ticket.subject if ticket.subject.lower().startswith("re:") else f"Re: {ticket.subject}",
        body=body,
        queue=ticket.queue,
        requester=ticket.requester,
        actor=author,
        channel=channel or ticket.channel,
        priority=ticket.priority,
        attachments=attachments,
        occurred_at=at,
        follow_up_of=ticket,
        body_format=body_format,
        email_message_id=email_message_id,
    )
    return follow_up.messages.get(is_description=True)


def _ticket_fields_check(subject: str, *, status: str, priority: str, channel: str) -> str:
    """The stripped subject; ApplicationError for an empty subject or an unknown choice."""
    subject = (subject or "").strip()
    if not subject:
        raise ApplicationError(gettext("A subject is required."), code="subject_required")
    if status not in S.values:
        raise ApplicationError(gettext("Unknown status '%s'.") % status, code="invalid_status")
    if priority not in Ticket.Priority.values:
        raise ApplicationError(gettext("Unknown priority '%s'.") % priority, code="invalid_priority")
    if channel not in Ticket.Channel.values:
        raise ApplicationError(gettext("Unknown channel '%s'.") % channel, code="invalid_channel")
    return subject


def _created_event_data(ticket: Ticket, message: Message, role: str, tags: Sequence[str]) -> dict[str, Any]:
    """The data of `ticket.created` (the description message is part of it)."""
    queue = ticket.queue
    return {
        "to": ticket.status,
        "requester_id": ticket.requester_id,
        "created_by_role": role,
        "creation_message_author_role": message.author_role,
        "creation_message_visibility": message.visibility,
        "channel": ticket.channel,
        "queue_id": queue.pk,
        "queue": queue.slug,
        "kind": queue.kind,
        "priority": ticket.priority,
        "message_id": message.pk,
        "tags": sorted(t.lower() for t in tags),
        "follow_up_of": ticket.follow_up_of_id,
    }


@transaction.atomic
def ticket_transition(
    *,
    ticket_id: int,
    target: str,
    actor: User | None,
    note: str = "",
    occurred_at: datetime | None = None,
    actor_role: str | None = None,
) -> Ticket:
    """Move a ticket to `target` and record `status.changed`.

    Raises InvalidTransition (409) when the table or the actor's role refuses.
    """
    ticket = _lock(ticket_id)
    role = actor_role or actor_role_of(actor)
    policy.transition_check(actor_role=role, current=ticket.status, target=target)
    return _transition_locked(ticket, target=target, actor=actor, role=role, note=note, at=occurred_at)


def _transition_locked(
    ticket: Ticket, *, target: str, actor: User | None, role: str, note: str, at: datetime | None
) -> Ticket:
    at = at or timezone.now()
    source = ticket.status
    ticket.status = target
    ticket.status_changed_at = at
    fields = ["status", "status_changed_at"]
    if workflow.is_resolution(source, target):
        ticket.solved_at = at
        fields.append("solved_at")
    elif workflow.is_reopen(source, target):
        ticket.solved_at = None
        fields.append("solved_at")
    _touch(ticket, at, fields)
    data: dict[str, Any] = {"from": source, "to": target}
    if note:
        data["note"] = note
    event_record(ticket, K.STATUS, actor=actor, actor_role=role, occurred_at=at, data=data)
    return ticket


@transaction.atomic
def message_post(
    *,
    ticket_id: int,
    author: User | None,
    body: str,
    visibility: str = Message.Visibility.PUBLIC,
    is_automated: bool = False,
    attachments: Sequence[IncomingFile] = (),
    occurred_at: datetime | None = None,
    author_role: str | None = None,
    body_format: str = Message.Format.MARKDOWN,
    channel: str = "",
    email_message_id: str = "",
    apply_rules: bool = True,
    open_on_reply: bool = True,
) -> Message:
    """Add a public reply or an internal note and record `message.created`.

    With `apply_rules` (every interactive path): a customer reply reopens a
    solved or pending ticket, and a customer reply to a closed ticket creates
    a linked follow-up ticket (the message lands there), and the first
    public human agent reply moves a New ticket to Open
    (workflow.status_after_agent_reply). Customers cannot
    write internal notes. The import passes apply_rules=False: it replays
    exactly what its line says. "Send as <status>" passes open_on_reply=False
    and sets the status itself, so a reply and its status are one event pair.
    """
    role = _message_check(body, attachments, visibility=visibility, role=author_role or actor_role_of(author))
    attachments = attachments_validate(attachments)
    ticket = _lock(ticket_id, with_requester=True)
    at = occurred_at or timezone.now()
    if apply_rules and ticket.status == S.CLOSED:
        if role != "customer":
            raise Conflict(gettext("This ticket is closed; it can no longer be changed."), code="ticket_closed")
        return _follow_up_create(
            ticket,
            author,
            body,
            channel,
            attachments,
            at=at,
            body_format=body_format,
            email_message_id=email_message_id,
        )
    # One set of dirty marks for the message and the status it moves (a
    # first agent reply opens the ticket): events_batched (docs/architecture.md).
    with events_batched():
        message = _message_record(
            ticket,
            author,
            role,
            body,
            visibility,
            is_automated,
            attachments,
            at=at,
            body_format=body_format,
            channel=channel,
            email_message_id=email_message_id,
        )
        _touch(ticket, at, [])
        _search_refresh(ticket.pk)
        if apply_rules:
            _status_after_reply(ticket, message, actor=author, open_on_reply=open_on_reply, at=at)
    return message


def _message_record(
    ticket: Ticket,
    author: User | None,
    role: str,
    body: str,
    visibility: str,
    is_automated: bool,
    attachments: Sequence[IncomingFile],
    *,
    at: datetime,
    body_format: str,
    channel: str,
    email_message_id: str,
) -> Message:
    """The message row, its attachments and its `message.created` event."""
    message = Message.objects.create(
        ticket=ticket,
        author=author,
        author_role=role,
        visibility=visibility,
        body=body or "",
        body_format=body_format,
        is_automated=is_automated,
        channel=channel,
        email_message_id=email_message_id,
        created_at=at,
    )
    _attachments_store(message, attachments)
    event_record(
        ticket,
        K.MESSAGE,
        actor=author,
        actor_role=role,
        occurred_at=at,
        visibility=visibility,
        is_automated=is_automated,
        data={
            "message_id": message.pk,
            "author_role": role,
            "visibility": visibility,
            "is_automated": is_automated,
            "via_merge": False,
        },
    )
    return message


def _message_check(body: str, attachments: Sequence[IncomingFile], *, visibility: str, role: str) -> str:
    """The author's role; ApplicationError for an empty message, an unknown
    visibility or a customer's internal note."""
    if not (body or "").strip() and not attachments:
        raise ApplicationError(gettext("The message is empty."), code="empty_message")
    if visibility not in Message.Visibility.values:
        raise ApplicationError(gettext("Unknown visibility '%s'.") % visibility, code="invalid_visibility")
    if role == "customer" and visibility == Message.Visibility.INTERNAL:
        raise ApplicationError(gettext("Customers cannot write internal notes."), code="permission_denied")
    return role


def _status_after_reply(
    ticket: Ticket, message: Message, *, actor: User | None, open_on_reply: bool, at: datetime
) -> None:
    """A customer reply reopens; the first public human agent reply opens a New ticket."""
    role = message.author_role
    if role == "customer":
        target = workflow.status_after_customer_reply(ticket.status)
        if target:
            _transition_locked(ticket, target=target, actor=actor, role=role, note="customer replied", at=at)
    elif open_on_reply and role == "agent":
        target = workflow.status_after_agent_reply(
            ticket.status, visibility=message.visibility, is_automated=message.is_automated
        )
        if target:
            _transition_locked(ticket, target=target, actor=actor, role=role, note="agent replied", at=at)


@transaction.atomic
def ticket_assign(
    *,
    ticket_id: int,
    assignee: User | None,
    actor: User | None,
    reason: str = "",
    occurred_at: datetime | None = None,
) -> Ticket:
    """Set or clear the assignee; records `assignee.changed` with the reason."""
    ticket = _lock(ticket_id)
    if assignee is not None and not assignee.is_staff_role:
        raise ApplicationError(gettext("Only agents can be assigned tickets."), code="invalid_assignee")
    if ticket.status == S.CLOSED:
        raise Conflict(gettext("This ticket is closed; it can no longer be changed."), code="ticket_closed")
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    return _assign_on(ticket, assignee, actor=actor, reason=reason, at=occurred_at or timezone.now())


def ticket_assign_new(*, ticket: Ticket, assignee: User, reason: str) -> Ticket:
    """ticket_assign for a ticket its caller inserted in the running
    transaction (routing's auto-assignment at creation): on the instance in
    hand, at its creation instant, with no savepoint, lock or re-read (no
    other transaction can see the row yet). The same row change and event."""
    if not assignee.is_staff_role:
        raise ApplicationError(gettext("Only agents can be assigned tickets."), code="invalid_assignee")
    if ticket.status == S.CLOSED:
        raise Conflict(gettext("This ticket is closed; it can no longer be changed."), code="ticket_closed")
    if ticket.assignee_id == assignee.pk:
        return ticket
    return _assign_on(ticket, assignee, actor=None, reason=reason, at=ticket.created_at)


def _assign_on(ticket: Ticket, assignee: User | None, *, actor: User | None, reason: str, at: datetime) -> Ticket:
    source = ticket.assignee_id
    ticket.assignee = assignee
    _touch(ticket, at, ["assignee"])
    data: dict[str, Any] = {
        "from": source,
        "to": assignee.pk if assignee else None,
        "to_email": assignee.email if assignee else None,
    }
    if reason:
        data["reason"] = reason
    event_record(ticket, K.ASSIGNEE, actor=actor, occurred_at=at, data=data)
    return ticket


@transaction.atomic
def ticket_move_queue(
    *,
    ticket_id: int,
    queue: Queue,
    actor: User | None,
    reason: str = "",
    occurred_at: datetime | None = None,
) -> Ticket:
    """Move a ticket to another queue. Between kinds this is an escalation.

    The ticket keeps its number, history, requester and clocks; the move is a
    `group.changed` event with both kinds so each side's metrics attribute it.
    An escalation between support and service requires a reason.
    """
    ticket = _lock(ticket_id)
    if ticket.status == S.CLOSED:
        raise Conflict(gettext("This ticket is closed; it can no longer be changed."), code="ticket_closed")
    if ticket.queue_id == queue.pk:
        return ticket
    escalation = ticket.kind != queue.kind
    if escalation and actor is not None and not reason.strip():
        raise ApplicationError(
            gettext("Moving a ticket from %(from)s to %(to)s is an escalation: give a reason.")
            % {"from": ticket.kind, "to": queue.kind},
            code="reason_required",
        )
    at = occurred_at or timezone.now()
    old_queue = ticket.queue
    ticket.queue = queue
    ticket.kind = queue.kind
    _touch(ticket, at, ["queue", "kind"])
    event_record(
        ticket,
        K.QUEUE,
        actor=actor,
        occurred_at=at,
        data={
            "from": old_queue.pk,
            "from_slug": old_queue.slug,
            "from_kind": old_queue.kind,
            "to": queue.pk,
            "to_slug": queue.slug,
            "to_kind": queue.kind,
            "escalation": escalation,
            "reason": reason,
        },
    )
    return ticket


def ticket_escalate(*, ticket_id: int, queue: Queue, actor: User | None, reason: str) -> Ticket:
    """Escalate service <-> support (a queue move that requires a reason)."""
    if not reason.strip():
        raise ApplicationError(gettext("An escalation needs a reason."), code="reason_required")
    return ticket_move_queue(ticket_id=ticket_id, queue=queue, actor=actor, reason=reason)


@transaction.atomic
def ticket_set_priority(
    *, ticket_id: int, priority: str, actor: User | None, occurred_at: datetime | None = None
) -> Ticket:
    """Change the priority; records `priority.changed`."""
    if priority not in Ticket.Priority.values:
        raise ApplicationError(gettext("Unknown priority '%s'.") % priority, code="invalid_priority")
    ticket = _lock(ticket_id)
    if ticket.priority == priority:
        return ticket
    at = occurred_at or timezone.now()
    source = ticket.priority
    ticket.priority = priority
    _touch(ticket, at, ["priority"])
    event_record(ticket, K.PRIORITY, actor=actor, occurred_at=at, data={"from": source, "to": priority})
    return ticket


@transaction.atomic
def ticket_tag(
    *,
    ticket_id: int,
    actor: User | None,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    occurred_at: datetime | None = None,
) -> Ticket:
    """Add and remove tags; records `tags.changed` with what really changed."""
    ticket = _lock(ticket_id)
    current = set(ticket.tags.values_list("name", flat=True))
    to_add = {t.strip().lower()[:64] for t in add if t.strip()} - current
    to_remove = {t.strip().lower() for t in remove} & current
    if not to_add and not to_remove:
        return ticket
    at = occurred_at or timezone.now()
    if to_add:
        ticket.tags.add(*_tags_get_or_create(to_add))
    if to_remove:
        ticket.tags.remove(*Tag.objects.filter(name__in=to_remove))
    _touch(ticket, at, [])
    event_record(ticket, K.TAGS, actor=actor, occurred_at=at, data={"add": sorted(to_add), "remove": sorted(to_remove)})
    return ticket


@transaction.atomic
def ticket_set_ccs(*, ticket_id: int, ccs: Sequence[User], actor: User | None) -> Ticket:
    """Replace the CC list; records `ccs.changed`."""
    ticket = _lock(ticket_id)
    before = set(ticket.ccs.values_list("pk", flat=True))
    after = {u.pk for u in ccs}
    if before == after:
        return ticket
    # add/remove from the ids read under the lock (set() would read them again).
    if before - after:
        ticket.ccs.remove(*(before - after))
    if after - before:
        ticket.ccs.add(*(after - before))
    _touch(ticket, timezone.now(), [])
    event_record(ticket, K.CCS, actor=actor, data={"add": sorted(after - before), "remove": sorted(before - after)})
    return ticket


@transaction.atomic
def ticket_merge(*, source_id: int, target_id: int, actor: User | None, occurred_at: datetime | None = None) -> Ticket:
    """Merge `source` into `target`: source is closed and linked, its messages
    are shown on the target (selectors follow merged_into), both get events.

    Raises ApplicationError when merging into itself, a merged or closed
    target, NotFound when either ticket does not exist. Who may merge into
    what is decided by the caller through policy.merge_target_get.
    """
    if source_id == target_id:
        raise ApplicationError(gettext("A ticket cannot be merged into itself."), code="invalid_merge")
    # Lock in id order so two concurrent merges cannot deadlock.
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted([source_id, target_id]))
        .order_by("pk")
    }
    missing = [pk for pk in (source_id, target_id) if pk not in locked]
    if missing:
        raise NotFound(gettext("There is no ticket #%s.") % missing[0])
    source, target = locked[source_id], locked[target_id]
    if source.merged_into_id:
        raise Conflict(gettext("#%s is already merged.") % source.pk, code="already_merged")
    if target.merged_into_id or target.status == S.CLOSED:
        raise Conflict(gettext("#%s is closed or merged; choose another target.") % target.pk, code="invalid_merge")
    at = occurred_at or timezone.now()
    source.merged_into = target
    _touch(source, at, ["merged_into"])
    event_record(source, K.MERGED_INTO, actor=actor, occurred_at=at, data={"target_id": target.pk})
    if source.status != S.CLOSED:
        _transition_locked(
            source, target=S.CLOSED, actor=actor, role=actor_role_of(actor), note=f"merged into #{target.pk}", at=at
        )
    _touch(target, at, [])
    event_record(target, K.MERGED_FROM, actor=actor, occurred_at=at, data={"source_id": source.pk})
    return target


@transaction.atomic
def ticket_link(*, ticket_id: int, other_id: int, actor: User | None) -> Ticket:
    """Link two related tickets (both get a `ticket.linked` event)."""
    if ticket_id == other_id:
        raise ApplicationError(gettext("A ticket cannot be linked to itself."), code="invalid_link")
    ticket = _lock(ticket_id)
    other = _lock(other_id)
    ticket.related.add(other)
    event_record(ticket, K.LINKED, actor=actor, data={"other_id": other.pk})
    event_record(other, K.LINKED, actor=actor, data={"other_id": ticket.pk})
    return ticket


@transaction.atomic
def ticket_mark_spam(*, ticket_id: int, actor: User | None, occurred_at: datetime | None = None) -> Ticket:
    """Flag as spam: excluded from every metric and list (docs/metrics.md §1.6)."""
    ticket = _lock(ticket_id)
    if ticket.is_spam:
        return ticket
    at = occurred_at or timezone.now()
    ticket.is_spam = True
    _touch(ticket, at, ["is_spam"])
    event_record(ticket, K.SPAM, actor=actor, occurred_at=at)
    return ticket


@transaction.atomic
def ticket_delete(*, ticket_id: int, actor: User | None, occurred_at: datetime | None = None) -> Ticket:
    """Soft-delete (history is kept; the ticket leaves lists and metrics)."""
    ticket = _lock(ticket_id)
    if ticket.is_deleted:
        return ticket
    at = occurred_at or timezone.now()
    ticket.is_deleted = True
    _touch(ticket, at, ["is_deleted"])
    event_record(ticket, K.DELETED, actor=actor, occurred_at=at)
    return ticket


@transaction.atomic
def ticket_restore(*, ticket_id: int, actor: User | None) -> Ticket:
    """Undo delete and spam marking; the ticket counts again."""
    ticket = _lock(ticket_id)
    if not ticket.is_deleted and not ticket.is_spam:
        return ticket
    ticket.is_deleted = ticket.is_spam = False
    _touch(ticket, timezone.now(), ["is_deleted", "is_spam"])
    event_record(ticket, K.RESTORED, actor=actor)
    return ticket


@transaction.atomic
def work_session_record(
    *, ticket_id: int, agent: User, started_at: datetime, ended_at: datetime, source: str = "ui"
) -> TicketEvent:
    """Record one handle-time session (docs/metrics.md M9); `occurred_at` is its end."""
    if ended_at <= started_at:
        raise ApplicationError(gettext("A work session must end after it starts."), code="invalid_session")
    ticket = _lock(ticket_id)
    return event_record(
        ticket,
        K.WORK_SESSION,
        actor=agent,
        occurred_at=ended_at,
        data={
            "agent_id": agent.pk,
            "started_at": started_at.isoformat(),
            "ended_at": ended_at.isoformat(),
            "source": source,
        },
    )


@transaction.atomic
def time_entry_log(
    *, ticket_id: int, agent: User, seconds: int, note: str = "", occurred_at: datetime | None = None
) -> TicketEvent:
    """Log manual time (reported apart from handle time, docs/metrics.md M9)."""
    if seconds <= 0 or seconds > 24 * 3600:
        raise ApplicationError(gettext("Time logged must be between 1 second and 24 hours."), code="invalid_time")
    ticket = _lock(ticket_id)
    return event_record(
        ticket,
        K.TIME_ENTRY,
        actor=agent,
        occurred_at=occurred_at,
        data={"agent_id": agent.pk, "seconds": seconds, "note": note},
    )


SURVEY_KINDS = {"csat": K.CSAT, "ces": K.CES, "nps": K.NPS}


@transaction.atomic
def survey_offer(*, ticket_id: int, survey: str = "csat", occurred_at: datetime | None = None) -> TicketEvent:
    """Record that a survey was sent (the response-rate denominator)."""
    if survey not in SURVEY_KINDS:
        raise ApplicationError(gettext("Unknown survey '%(survey)s'.") % {"survey": survey}, code="invalid_survey")
    ticket = _lock(ticket_id)
    return event_record(ticket, K.SURVEY_OFFERED, occurred_at=occurred_at, data={"survey": survey})


def survey_validate(survey: str, scale: str, value: Any) -> None:
    """Raise ApplicationError unless `value` fits the survey's scale."""
    if survey == "csat" and scale == "good_bad":
        if value not in ("good", "bad"):
            raise ApplicationError(gettext("A good/bad rating must be 'good' or 'bad'."), code="invalid_rating")
        return
    ranges = {("csat", "1-5"): (1, 5), ("ces", "1-7"): (1, 7), ("nps", "0-10"): (0, 10)}
    bounds = ranges.get((survey, scale))
    if bounds is None:
        raise ApplicationError(
            gettext("Unknown scale '%(scale)s' for %(survey)s.") % {"scale": scale, "survey": survey},
            code="invalid_rating",
        )
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise ApplicationError(
            gettext("A %(survey)s rating must be a whole number from %(low)s to %(high)s.")
            % {"survey": survey.upper(), "low": bounds[0], "high": bounds[1]},
            code="invalid_rating",
        )


@transaction.atomic
def survey_respond(
    *,
    ticket_id: int,
    survey: str,
    value: Any,
    scale: str | None = None,
    comment: str = "",
    actor: User | None = None,
    occurred_at: datetime | None = None,
) -> TicketEvent:
    """Record a CSAT/CES/NPS response; a later one replaces it (as events)."""
    if survey not in SURVEY_KINDS:
        raise ApplicationError(gettext("Unknown survey '%(survey)s'.") % {"survey": survey}, code="invalid_survey")
    scale = scale or {"csat": "1-5", "ces": "1-7", "nps": "0-10"}[survey]
    survey_validate(survey, scale, value)
    ticket = _lock(ticket_id)
    return event_record(
        ticket,
        SURVEY_KINDS[survey],
        actor=actor,
        actor_role="customer" if actor is None else None,
        occurred_at=occurred_at,
        data={"scale": scale, "value": value, "comment": comment[:2000]},
    )


# --- customer-level survey events (no ticket) ----------------------------------
# The NPS relationship survey is about the customer, not a ticket: its offer
# and answer are rows of the same append-only event log with ticket NULL
# (docs/surveys.md, "Where NPS events live").


def relationship_survey_offer(
    *, customer_id: int, organisation_id: int | None, notification_id: int, occurred_at: datetime | None = None
) -> TicketEvent:
    """Record that the NPS relationship survey was sent to a customer."""
    return TicketEvent.objects.create(
        ticket=None,
        kind=K.SURVEY_OFFERED,
        actor_role=TicketEvent.ActorRole.SYSTEM,
        occurred_at=occurred_at or timezone.now(),
        data={
            "survey": "nps",
            "customer_id": customer_id,
            "organisation_id": organisation_id,
            "notification_id": notification_id,
        },
    )


def relationship_survey_respond(
    *,
    customer: User,
    value: Any,
    comment: str = "",
    organisation_id: int | None = None,
    notification_id: int | None = None,
    occurred_at: datetime | None = None,
) -> TicketEvent:
    """Record one NPS relationship answer (0-10) by the customer; a later
    answer replaces it in the metrics (M16, docs/surveys.md)."""
    survey_validate("nps", "0-10", value)
    return TicketEvent.objects.create(
        ticket=None,
        kind=K.NPS,
        actor=customer,
        actor_role=TicketEvent.ActorRole.CUSTOMER,
        occurred_at=occurred_at or timezone.now(),
        data={
            "scale": "0-10",
            "value": value,
            "comment": (comment or "")[:2000],
            "customer_id": customer.pk,
            "organisation_id": organisation_id,
            "notification_id": notification_id,
        },
    )


def tickets_auto_close_solved(*, now: datetime | None = None, batch: int = 500) -> int:
    """Close solved tickets whose solve is older than their queue's
    `auto_close_days` (None: HELPDESK_AUTO_CLOSE_DAYS; 0: never).

    Runs in bounded batches (index ticket_solved_autoclose); each ticket is
    closed by ticket_transition as the system, so the rule and the event are
    the usual ones. A ticket reopened meanwhile is skipped. Returns the count.
    """
    from datetime import timedelta

    from django.db.models import Q

    now = now or timezone.now()
    per_queue = dict(Queue.objects.filter(auto_close_days__isnull=False).values_list("pk", "auto_close_days"))

    def cutoff_for(queue_id: int) -> datetime | None:
        days = per_queue.get(queue_id, settings.HELPDESK_AUTO_CLOSE_DAYS)
        return now - timedelta(days=days) if days else None

    default_cutoff = cutoff_for(0)
    cond = Q(solved_at__lt=default_cutoff) & ~Q(queue_id__in=list(per_queue)) if default_cutoff else Q(pk__in=[])
    for qid in per_queue:
        if cutoff_for(qid):
            cond |= Q(queue_id=qid, solved_at__lt=cutoff_for(qid))
    closed = 0
    ids = list(
        Ticket.objects.filter(cond, status=S.SOLVED).order_by("solved_at", "id").values_list("pk", flat=True)[:batch]
    )
    for pk in ids:
        with transaction.atomic():
            ticket = _lock(pk)
            cutoff = cutoff_for(ticket.queue_id)
            if ticket.status != S.SOLVED or not ticket.solved_at or not cutoff or ticket.solved_at >= cutoff:
                continue
            _transition_locked(
                ticket, target=S.CLOSED, actor=None, role="system", note="auto-closed after solve", at=now
            )
            closed += 1
    return closed


# --- Agent workspace hooks (issue 4) ---------------------------------------


def _search_refresh(ticket_id: int) -> None:
    """Rewrite the ticket's full-text documents in this transaction."""
    from tickets.search import ticket_search_refresh

    ticket_search_refresh(ticket_ids=[ticket_id])


def _ticket_created_hooks(ticket: Ticket, *, body: str) -> Ticket:
    """Search documents, then routing rules and auto-assignment for the
    interactive channels (the import replays history as it was)."""
    _search_refresh(ticket.pk)
    if ticket.channel != Ticket.Channel.IMPORT:
        from tickets.routing import ticket_route_on_create

        ticket = ticket_route_on_create(ticket=ticket, body=body)
    return ticket
