"""Ticket operations of the agent ticket page and the API (issue #14):
reply-and-set-status, the consolidated properties save and its undo,
link/unlink, CCs, spam/delete/restore, split. docs/workspace-ticket-page.md.

Each function checks access for every object it touches through
tickets.policy, then composes the single-purpose services of
tickets.services in one transaction, so the event log gets exactly the
events those services write (no new event shapes except `ticket.unlinked`
and `ticket.split`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from helpdesk.lib.exceptions import ApplicationError, NotFound
from tickets import policy, selectors, services, workflow
from tickets.attachments import IncomingFile
from tickets.events import event_record, events_batched
from tickets.models import Message, Queue, Ticket, TicketEvent

K = TicketEvent.Kind
S = Ticket.Status

# "Send as ..." choices of the reply box: a status to leave the ticket in.
SEND_AS = (S.OPEN, S.PENDING, S.SOLVED, S.ON_HOLD)

# Undo of a properties save: the same agent, within this many seconds, and
# only while nobody (and nothing but the clock-keeping kinds below) has
# written to the ticket since. Long enough to notice a slip, short enough
# that nobody else has acted on the new state.
UNDO_SECONDS = 120
UNDOABLE_KINDS = frozenset({K.STATUS, K.PRIORITY, K.ASSIGNEE, K.QUEUE, K.TAGS, K.CCS})
# Events that do not change what the agent changed (and that the system
# writes on its own): they do not block an undo.
UNDO_IGNORED_KINDS = frozenset({K.WORK_SESSION, K.SLA_WARNING, K.SLA_BREACHED, K.SLA_ESCALATED, K.TIME_ENTRY})


class PropertiesRefused(ApplicationError):
    """One or more fields of a properties save were refused; nothing was
    changed. `errors` maps each input field to its message."""

    code = "properties_refused"
    status_code = 400

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()), extra={"fields": errors})
        self.errors = errors


# --- reply and set status ----------------------------------------------------------


@transaction.atomic
def reply_post_and_set_status(
    *,
    ticket_id: int,
    author: User,
    body: str,
    visibility: str = Message.Visibility.PUBLIC,
    attachments: Sequence[IncomingFile] = (),
    status: str | None = None,
    channel: str = "web",
    macro: Any = None,
) -> Message | None:
    """Post a reply or note and leave the ticket in `status`, in one
    transaction: the `message.created` event, then `status.changed` (none
    when the ticket already has that status). A move the state machine
    refuses rolls both back (InvalidTransition, 409).

    With `macro`, the macro's message and actions are applied first (its
    own status action included); `status` then wins."""
    policy.staff_check(actor=author)
    message = None
    if macro is not None:
        from tickets import macros

        macros.macro_apply(
            macro=macro, ticket_id=ticket_id, agent=author, body=body, visibility=visibility, attachments=attachments
        )
    else:
        message = services.message_post(
            ticket_id=ticket_id,
            author=author,
            body=body,
            visibility=visibility,
            attachments=attachments,
            channel=channel,
            open_on_reply=not status,
        )
    if status:
        reply_status_set(ticket_id=ticket_id, actor=author, status=status)
    return message


def reply_status_set(*, ticket_id: int, actor: User, status: str) -> None:
    """The status half of "send as": a `status.changed` unless the ticket
    already has it. Call in the reply's transaction."""
    if status not in SEND_AS:
        raise ApplicationError(gettext("A reply cannot set the status '%s'.") % status, code="invalid_status")
    if Ticket.objects.only("status").get(pk=ticket_id).status != status:
        services.ticket_transition(ticket_id=ticket_id, target=status, actor=actor)


# --- the properties panel ------------------------------------------------------------


@dataclass(frozen=True)
class PropertiesResult:
    ticket: Ticket
    changed: list[str]  # the fields that really changed
    undo_after: int | None  # last event id before the save (None: nothing written)


def _last_event_id(ticket_id: int) -> int:
    from tickets.live import last_event_id

    return last_event_id(ticket_id=ticket_id)


@transaction.atomic
def ticket_properties_update(
    *,
    ticket_id: int,
    actor: User,
    status: str | None = None,
    priority: str | None = None,
    assignee: User | str | None = "unchanged",
    queue: Queue | None = None,
    reason: str = "",
    tags: Sequence[str] | None = None,
    ccs: Sequence[User] | None = None,
) -> PropertiesResult:
    """Save the properties panel in one transaction; `None` (assignee:
    "unchanged") leaves a field alone, an equal value writes nothing.

    Order: queue (and escalation reason) first, so the assignee is checked
    against the queue the ticket ends up in; the status last. Every field
    is tried, so each refusal comes back with its field; if any is refused
    nothing is saved (PropertiesRefused). Access: the ticket must be visible
    (the caller fetched it through the selectors) and each target passes
    tickets.policy (assignee, queue, status move).
    """
    policy.staff_check(actor=actor)
    # Lock the ticket row only (not its queue); the queue is read by the
    # assignee check.
    ticket = Ticket.objects.select_for_update(no_key=True, of=("self",)).select_related("queue").get(pk=ticket_id)
    before = _last_event_id(ticket_id)
    errors: dict[str, str] = {}
    changed: list[str] = []

    def step(field: str, fn: Any) -> None:
        # No savepoint of our own: the policy checks write nothing, and each
        # service is atomic (a refused service rolls back its own writes).
        try:
            if fn():
                changed.append(field)
        except policy.Refused as exc:
            errors.setdefault(exc.field, exc.message)
        except ApplicationError as exc:
            key = "reason" if exc.code == "reason_required" else field
            errors.setdefault(key, exc.message)

    # One dirty mark and one SLA refresh for the whole save, not one per event.
    with events_batched():
        ticket = _properties_steps(
            ticket=ticket,
            actor=actor,
            step=step,
            status=status,
            priority=priority,
            assignee=assignee,
            queue=queue,
            reason=reason,
            tags=tags,
            ccs=ccs,
        )
        if errors:
            raise PropertiesRefused(errors)
    ticket = Ticket.objects.select_related("queue", "requester", "assignee").get(pk=ticket_id)
    return PropertiesResult(ticket=ticket, changed=changed, undo_after=before if changed else None)


def _properties_steps(
    *,
    ticket: Ticket,
    actor: User,
    step: Any,
    status: str | None,
    priority: str | None,
    assignee: User | str | None,
    queue: Queue | None,
    reason: str,
    tags: Sequence[str] | None,
    ccs: Sequence[User] | None,
) -> Ticket:
    """The fields of ticket_properties_update, in its order; each through
    `step` so every refusal is collected. Returns the ticket as the assignee
    check must see it (after a queue move)."""
    ticket_id = ticket.pk
    if queue is not None and queue.pk != ticket.queue_id:

        def move() -> bool:
            policy.queue_check(actor=actor, ticket=ticket, queue=queue, field="queue")
            if queue.kind != ticket.kind:
                services.ticket_escalate(ticket_id=ticket_id, queue=queue, actor=actor, reason=reason)
            else:
                services.ticket_move_queue(ticket_id=ticket_id, queue=queue, actor=actor, reason=reason)
            return True

        step("queue", move)
        ticket = Ticket.objects.select_related("queue").get(pk=ticket_id)
    if assignee != "unchanged" and (assignee.pk if isinstance(assignee, User) else None) != ticket.assignee_id:

        def assign() -> bool:
            who = assignee if isinstance(assignee, User) else None
            policy.assignee_check(actor=actor, ticket=ticket, assignee=who, field="assignee")
            services.ticket_assign(ticket_id=ticket_id, assignee=who, actor=actor)
            return True

        step("assignee", assign)
    if priority and priority != ticket.priority:
        step("priority", lambda: services.ticket_set_priority(ticket_id=ticket_id, priority=priority, actor=actor))
    if tags is not None:
        wanted = {t.strip().lower()[:64] for t in tags if t.strip()}
        current = set(ticket.tags.values_list("name", flat=True))
        if wanted != current:
            step(
                "tags",
                lambda: services.ticket_tag(
                    ticket_id=ticket_id, actor=actor, add=sorted(wanted - current), remove=sorted(current - wanted)
                ),
            )
    if ccs is not None and {u.pk for u in ccs} != set(ticket.ccs.values_list("pk", flat=True)):
        step("ccs", lambda: services.ticket_set_ccs(ticket_id=ticket_id, ccs=list(ccs), actor=actor))
    if status and status != ticket.status:
        step("status", lambda: services.ticket_transition(ticket_id=ticket_id, target=status, actor=actor))
    return ticket


@dataclass(frozen=True)
class UndoPlan:
    possible: bool
    reason: str  # why not, when not possible
    changes: dict[str, Any]


def properties_undo_plan(*, ticket: Ticket, actor: User, after_event_id: int) -> UndoPlan:
    """What undoing the save whose events follow `after_event_id` would
    set back, or why it cannot: the events must all be `actor`'s property
    changes, the first younger than UNDO_SECONDS, with nothing else written
    since, and the reverse status move must be one the state machine
    allows (closed is final)."""
    events = list(
        TicketEvent.objects.filter(ticket_id=ticket.pk, pk__gt=after_event_id)
        .exclude(kind__in=UNDO_IGNORED_KINDS)
        .order_by("pk")
    )
    if not events:
        return UndoPlan(False, gettext("There is nothing to undo."), {})
    if any(e.actor_id != actor.pk or e.kind not in UNDOABLE_KINDS for e in events):
        return UndoPlan(False, gettext("The ticket has changed since; undo is no longer possible."), {})
    if timezone.now() - events[0].occurred_at > timedelta(seconds=UNDO_SECONDS):
        minutes = UNDO_SECONDS // 60
        return UndoPlan(False, gettext("Undo is possible for %s minutes after a change.") % minutes, {})
    changes: dict[str, Any] = {}
    for e in reversed(events):
        d = e.data or {}
        if e.kind == K.STATUS:
            if d.get("from") not in workflow.TRANSITIONS.get(ticket.status, frozenset()):
                label = ticket.get_status_display()
                return UndoPlan(False, gettext("The status cannot go back from %s.") % label, {})
            changes["status"] = d.get("from")
        elif e.kind == K.PRIORITY:
            changes["priority"] = d.get("from")
        elif e.kind == K.ASSIGNEE:
            changes["assignee_id"] = d.get("from")
        elif e.kind == K.QUEUE:
            changes["queue_id"] = d.get("from")
        elif e.kind == K.TAGS:
            tags = set(changes.get("tags", ticket.tags.values_list("name", flat=True)))
            changes["tags"] = (tags - set(d.get("add", []))) | set(d.get("remove", []))
        elif e.kind == K.CCS:
            ccs = set(changes.get("cc_ids", ticket.ccs.values_list("pk", flat=True)))
            changes["cc_ids"] = (ccs - set(d.get("add", []))) | set(d.get("remove", []))
    return UndoPlan(True, "", changes)


@transaction.atomic
def ticket_properties_undo(*, ticket_id: int, actor: User, after_event_id: int) -> PropertiesResult:
    """Set back what the actor's last save changed (properties_undo_plan),
    through ticket_properties_update: the undo is new events (history is
    never rewritten), with the same access checks.

    Raises ApplicationError (409 `undo_unavailable`) when it is too late or
    the ticket changed since, PropertiesRefused when a target is no longer
    allowed."""
    policy.staff_check(actor=actor)
    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket_id)
    plan = properties_undo_plan(ticket=ticket, actor=actor, after_event_id=after_event_id)
    if not plan.possible:
        raise ApplicationError(plan.reason, code="undo_unavailable")
    ch = plan.changes
    assignee: User | str | None = "unchanged"
    if "assignee_id" in ch:
        assignee = User.objects.filter(pk=ch["assignee_id"]).first() if ch["assignee_id"] else None
    return ticket_properties_update(
        ticket_id=ticket_id,
        actor=actor,
        status=ch.get("status"),
        priority=ch.get("priority"),
        assignee=assignee,
        queue=Queue.objects.filter(pk=ch["queue_id"]).first() if "queue_id" in ch else None,
        reason="Undo of the previous change",
        tags=sorted(ch["tags"]) if "tags" in ch else None,
        ccs=list(User.objects.filter(pk__in=ch["cc_ids"])) if "cc_ids" in ch else None,
    )


# --- link, CCs, spam, delete -------------------------------------------------------


def ticket_link_for_user(*, actor: User, ticket: Ticket, other_id: Any, field: str = "other") -> Ticket:
    """Link `ticket` (visible to actor) to another ticket actor may see.
    Raises Refused(field), PermissionDenied for customers."""
    policy.staff_check(actor=actor)
    other = policy.related_target_get(actor=actor, target_id=other_id, field=field, ticket=ticket)
    if ticket.related.filter(pk=other.pk).exists():
        raise policy.Refused(gettext("#%s is already linked.") % other.pk, field=field, code="already_linked")
    services.ticket_link(ticket_id=ticket.pk, other_id=other.pk, actor=actor)
    return other


@transaction.atomic
def ticket_unlink(*, ticket_id: int, other_id: int, actor: User | None) -> None:
    """Remove the link between two tickets (a `ticket.unlinked` event on
    both). Raises NotFound when they are not linked."""
    ids = sorted([ticket_id, other_id])
    locked = {t.pk: t for t in Ticket.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")}
    ticket, other = locked.get(ticket_id), locked.get(other_id)
    if ticket is None or other is None or not ticket.related.filter(pk=other_id).exists():
        raise NotFound(gettext("#%(ticket)s is not linked to #%(other)s.") % {"ticket": ticket_id, "other": other_id})
    ticket.related.remove(other)
    event_record(ticket, K.UNLINKED, actor=actor, data={"other_id": other.pk})
    event_record(other, K.UNLINKED, actor=actor, data={"other_id": ticket.pk})


def ticket_unlink_for_user(*, actor: User, ticket: Ticket, other_id: Any, field: str = "other") -> None:
    """Unlink, when actor may see both tickets (else Refused(field))."""
    policy.staff_check(actor=actor)
    other = policy.related_target_get(actor=actor, target_id=other_id, field=field, ticket=ticket)
    if not ticket.related.filter(pk=other.pk).exists():
        raise policy.Refused(gettext("#%s is not linked to this ticket.") % other.pk, field=field, code="not_linked")
    ticket_unlink(ticket_id=ticket.pk, other_id=other.pk, actor=actor)


def related_list_for_user(*, actor: User, ticket: Ticket) -> list[Ticket]:
    """Linked tickets the actor may see (a link to an unseen ticket is not
    shown, not even its number)."""
    # Most tickets have no link: ask that first (one plain statement) and
    # build the access-filtered read only when there is something to show
    # (its ORM compile cost a ticket page ~2.5 ms of CPU for an empty card).
    linked = selectors.linked_ticket_ids(ticket_id=ticket.pk)
    if not linked:
        return []
    qs = selectors.ticket_list_for_user(user=actor, include_hidden=True).filter(pk__in=linked)
    return list(qs.order_by("pk"))


def ticket_set_ccs_for_user(*, actor: User, ticket: Ticket, emails: list[str], field: str = "ccs") -> Ticket:
    policy.staff_check(actor=actor)
    users = policy.cc_users_get(emails=emails, field=field)
    return services.ticket_set_ccs(ticket_id=ticket.pk, ccs=users, actor=actor)


def ticket_mark_spam_for_user(*, actor: User, ticket: Ticket) -> Ticket:
    policy.staff_check(actor=actor)
    return services.ticket_mark_spam(ticket_id=ticket.pk, actor=actor)


def ticket_delete_for_user(*, actor: User, ticket: Ticket) -> Ticket:
    policy.staff_check(actor=actor)
    policy.delete_check(actor=actor)
    return services.ticket_delete(ticket_id=ticket.pk, actor=actor)


def ticket_restore_for_user(*, actor: User, ticket: Ticket) -> Ticket:
    """Back from spam (any agent who sees it) or from the trash (managers)."""
    policy.staff_check(actor=actor)
    if ticket.is_deleted:
        policy.delete_check(actor=actor)
    return services.ticket_restore(ticket_id=ticket.pk, actor=actor)


# --- split -------------------------------------------------------------------------------


@transaction.atomic
def ticket_split(*, ticket_id: int, message_id: int, actor: User, subject: str = "") -> Ticket:
    """Split one message off into a new ticket (docs/workspace-ticket-page.md).

    The new ticket keeps the requester, queue, priority and channel; its
    description is a copy of the message (author, visibility, attachments),
    so a customer's message starts the first-reply clock there. The
    message stays where it was: the source's history (and the metrics
    computed from it) is never rewritten. Events: on the source a
    `ticket.split` (message and new ticket ids) and a `ticket.linked`; on
    the new ticket its `ticket.created` (with `split_from` and
    `split_message_id`) and a `ticket.linked`.

    Access: the caller fetched the source through the selectors; the
    message must be one the actor may see on it. Raises Refused("message").
    """
    policy.staff_check(actor=actor)
    source = Ticket.objects.select_for_update(no_key=True).select_related("queue", "requester").get(pk=ticket_id)
    message = (
        selectors.message_list_for_ticket(user=actor, ticket=source).filter(pk=message_id).select_related("author")
    ).first()
    if message is None:
        raise policy.Refused(gettext("No such message on this ticket."), field="message", code="not_found")
    if message.is_description and message.ticket_id == source.pk:
        raise policy.Refused(
            gettext("The request itself cannot be split off; split a later message."),
            field="message",
            code="invalid_split",
        )
    files = []
    for a in message.attachments.all():
        with a.file.open("rb") as fh:
            files.append(
                IncomingFile(filename=a.filename, content_type=a.content_type, content=fh.read(), is_inline=a.is_inline)
            )
    new = services.ticket_create(
        subject=(subject or "").strip() or f"Split from #{source.pk}: {source.subject}"[:500],
        body=message.body,
        body_format=message.body_format,
        queue=source.queue,
        requester=source.requester,
        actor=actor,
        description_author=message.author if message.author is not None else actor,
        description_visibility=message.visibility,
        channel=source.channel if source.channel != Ticket.Channel.IMPORT else Ticket.Channel.AGENT,
        priority=source.priority,
        attachments=files,
        extra_data={"split_from": source.pk, "split_message_id": message.pk},
    )
    event_record(source, K.SPLIT, actor=actor, data={"message_id": message.pk, "new_ticket_id": new.pk})
    services.ticket_link(ticket_id=source.pk, other_id=new.pk, actor=actor)
    return new
