"""The notifications outbox: rows written with the event, sent by Celery."""

import logging
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.language import recipient_language
from accounts.models import User
from helpdesk.lib import providers
from helpdesk.lib.markdown import render_body
from mail.conf import mail_domain, mail_setting, reply_address
from mail.models import Notification, NotificationPreference, ReplyToken
from mail.services import delivery
from tickets.models import Message, SLAMark, Ticket, TicketEvent
from tickets.workflow import customer_status_label

logger = logging.getLogger(__name__)

K = TicketEvent.Kind
NK = Notification.Kind
NS = Notification.Status

# Event kinds that may notify; everything else returns before any query.
NOTIFYING_KINDS = frozenset({K.CREATED, K.MESSAGE, K.STATUS, K.ASSIGNEE, K.SLA_WARNING})
CUSTOMER_KINDS = frozenset({NK.RECEIVED, NK.AGENT_REPLY, NK.SOLVED})
# A customer's own new request on these channels is acknowledged (when its
# queue's send_acknowledgement is on); agent-logged and imported ones not.
ACK_CHANNELS = frozenset({Ticket.Channel.EMAIL, Ticket.Channel.PORTAL, Ticket.Channel.API})


# --- reply tokens -----------------------------------------------------------


def reply_token_for(*, ticket_id: int) -> str:
    """The ticket's reply token (created once; 96 random bits, lower-case hex
    so mail servers that fold the local part to lower case keep it)."""
    existing = ReplyToken.objects.filter(ticket_id=ticket_id).values_list("token", flat=True).first()
    if existing:
        return existing
    token, _ = ReplyToken.objects.get_or_create(ticket_id=ticket_id, defaults={"token": secrets.token_hex(12)})
    return token.token


def reply_to_address(*, ticket: Ticket) -> str:
    """support+<token>@domain, on the queue's own address when it has one."""
    return _plus_address(ticket.queue.inbound_email, reply_token_for(ticket_id=ticket.pk))


def _plus_address(queue_address: str, token: str) -> str:
    base = queue_address or reply_address()
    local, _, domain = base.rpartition("@")
    return f"{local}+{token}@{domain}"


def message_id_for(notification: Notification) -> str:
    """<notification-id.ticket-id@domain> (<notification-id.kind@domain>
    for a ticketless row), stable across retries."""
    return _message_id(notification.pk, notification.ticket_id or notification.kind)


def _message_id(pk: int, ref: object) -> str:
    return f"<{pk}.{ref}@{mail_domain()}>"


def thread_root_id(*, ticket_id: int) -> str:
    """The Message-ID every email of a ticket refers to: the customer's
    original email when the ticket came by mail, else our first notification."""
    first = (
        Message.objects.filter(ticket_id=ticket_id, is_description=True)
        .exclude(email_message_id="")
        .values_list("email_message_id", flat=True)
        .first()
    )
    if first:
        return first
    notification = Notification.objects.filter(ticket_id=ticket_id).order_by("id").first()
    if notification is None:
        return ""
    return notification.message_id or message_id_for(notification)


# --- preferences -----------------------------------------------------------


def notification_preference_set(*, user: User, kind: str, enabled: bool) -> NotificationPreference:
    """Turn one kind of email on or off for a user."""
    if kind not in NK.values:
        from helpdesk.lib.exceptions import ApplicationError

        raise ApplicationError(f"Unknown notification kind '{kind}'.", code="invalid_kind")
    pref, _ = NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"enabled": enabled})
    return pref


CUSTOMER_KINDS = ("received", "agent_reply", "solved", "nps_survey")
AGENT_KINDS = ("assigned", "customer_reply", "sla_warning")
MANAGER_KINDS = (*AGENT_KINDS, "weekly_report")


def notification_kinds_for_user(*, user: User) -> list[tuple[str, str]]:
    """The kinds of email this user can receive, with their labels."""
    if user.is_manager_role:
        wanted = MANAGER_KINDS
    elif user.is_staff_role:
        wanted = AGENT_KINDS
    else:
        wanted = CUSTOMER_KINDS
    return [(k, label) for k, label in NK.choices if k in wanted]


def _disabled(user_ids: list[int], kinds: set[str]) -> set[tuple[int, str]]:
    rows = NotificationPreference.objects.filter(user_id__in=user_ids, kind__in=kinds, enabled=False)
    return set(rows.values_list("user_id", "kind"))


# --- creating rows (inside the event's transaction) --------------------------


def _plan_created(event: TicketEvent, ticket: Ticket, data: dict[str, Any]) -> list[tuple[int, str]]:
    acknowledged = (
        data.get("channel") in ACK_CHANNELS
        and data.get("created_by_role") == "customer"
        and ticket.queue.send_acknowledgement
    )
    return [(ticket.requester_id, NK.RECEIVED)] if acknowledged else []


def _plan_message(event: TicketEvent, ticket: Ticket, data: dict[str, Any]) -> list[tuple[int, str]]:
    if event.visibility != Message.Visibility.PUBLIC:
        return []  # internal notes never leave the building
    if event.actor_role == TicketEvent.ActorRole.CUSTOMER:
        return [(ticket.assignee_id, NK.CUSTOMER_REPLY)] if ticket.assignee_id else []
    ccs = ticket.ccs.values_list("pk", flat=True)
    return [(ticket.requester_id, NK.AGENT_REPLY), *((pk, NK.AGENT_REPLY) for pk in ccs)]


def _plan_status(event: TicketEvent, ticket: Ticket, data: dict[str, Any]) -> list[tuple[int, str]]:
    return [(ticket.requester_id, NK.SOLVED)] if data.get("to") == Ticket.Status.SOLVED else []


def _plan_assignee(event: TicketEvent, ticket: Ticket, data: dict[str, Any]) -> list[tuple[int, str]]:
    return [(int(data["to"]), NK.ASSIGNED)] if data.get("to") else []


def _plan_sla_warning(event: TicketEvent, ticket: Ticket, data: dict[str, Any]) -> list[tuple[int, str]]:
    return [(ticket.assignee_id, NK.SLA_WARNING)] if ticket.assignee_id else []


# Who an event notifies, per event kind: (recipient id, notification kind).
PLANNERS = {
    K.CREATED: _plan_created,
    K.MESSAGE: _plan_message,
    K.STATUS: _plan_status,
    K.ASSIGNEE: _plan_assignee,
    K.SLA_WARNING: _plan_sla_warning,
}


def _plan(event: TicketEvent, ticket: Ticket) -> list[tuple[int, str]]:
    planner = PLANNERS.get(event.kind)
    plan = planner(event, ticket, event.data or {}) if planner else []
    # Nobody is told about their own action (except the acknowledgement of
    # their own request).
    return [(pk, kind) for pk, kind in dict.fromkeys(plan) if pk and (pk != event.actor_id or kind == NK.RECEIVED)]


def _notifies(event: TicketEvent) -> bool:
    """Kinds that notify, on live tickets, and not history replayed by a seed or an import."""
    if event.kind not in NOTIFYING_KINDS:
        return False
    max_age = timedelta(hours=mail_setting("HELPDESK_NOTIFY_MAX_EVENT_AGE_HOURS"))
    if event.occurred_at and event.occurred_at < timezone.now() - max_age:
        return False
    return not (event.ticket.is_spam or event.ticket.is_deleted)


def _recipients(ticket: Ticket, ids: set[int]) -> dict[int, User]:
    """The users `ids`: the ticket's requester and assignee from the
    instance when the writing service loaded them, the rest in one query."""
    found: dict[int, User] = {}
    for field in (Ticket.requester.field, Ticket.assignee.field):
        user = field.get_cached_value(ticket, default=None)
        if user is not None and user.pk in ids:
            found[user.pk] = user
    if rest := ids - found.keys():
        found.update((u.pk, u) for u in User.objects.filter(pk__in=rest))
    return found


def notifications_for_new_event(event: TicketEvent) -> list[Notification]:
    """The EVENT_RECORDED subscriber (mail.apps): notifications_for_event for
    an event its recorder has just inserted in this transaction, which no
    row can reference yet, so without the once-per-recipient read (the
    notification_once constraint still stands behind it)."""
    return notifications_for_event(event, new=True)


def notifications_for_event(event: TicketEvent, *, new: bool = False) -> list[Notification]:
    """Write the outbox rows an event calls for, in the caller's transaction.

    Agent public reply -> requester and CCs; solved -> requester (with CSAT
    links); assignment -> the new assignee; customer reply -> the assignee;
    SLA warning -> the assignee; a customer's new request (e-mail,
    portal, API) -> an acknowledgement when its queue sends them
    (Queue.send_acknowledgement). Internal notes notify no one. Events older than
    HELPDESK_NOTIFY_MAX_EVENT_AGE_HOURS (history replayed by a seed or an
    import) and spam/deleted tickets notify no one. Idempotent per
    (event, recipient, kind). Delivery is enqueued on commit.
    """
    if not _notifies(event):
        return []
    ticket = event.ticket
    plan = _plan(event, ticket)
    if not plan:
        return []
    users = _recipients(ticket, {pk for pk, _ in plan})
    disabled = _disabled(list(users), {kind for _, kind in plan})
    rows = []
    at_send = render_at_send()
    for pk, kind in plan:
        user = users.get(pk)
        if user is None or not user.email or (pk, kind) in disabled:
            continue
        if kind not in CUSTOMER_KINDS and not user.is_staff_role:
            continue
        row = Notification(event=event, ticket=ticket, recipient=user, to_email=user.email, kind=kind)
        if at_send:  # the worker renders it (docs/delivery.md, "Rendering at send time")
            row.subject, row.render_pending = _subject(ticket), True
        else:
            row.subject, row.body, row.body_html = _render(kind=kind, event=event, ticket=ticket, recipient=user)
        rows.append(row)
    if not rows:
        return []
    # Once per (event, recipient, kind): a second call for the same event
    # (a retried caller) writes nothing new; the constraint backs this up.
    if not new:
        done = set(Notification.objects.filter(event=event).values_list("recipient_id", "kind"))
        rows = [r for r in rows if (r.recipient_id, r.kind) not in done]
    created = Notification.objects.bulk_create(rows)
    _enqueue_on_commit([n.pk for n in created])
    return created


def _enqueue_on_commit(ids: list[int]) -> None:
    """Wake the notifications drain once this transaction commits (once per
    transaction, however many rows it wrote). The rows are the truth: the
    drain sends every pending row that is due (docs/delivery.md, "One
    wake-up for many writes")."""
    if not ids:
        return
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(entry[1] is notifications_wake for entry in conn.run_on_commit):
        return
    transaction.on_commit(notifications_wake)


def notifications_wake() -> None:
    """One coalesced wake-up of the drain (one Redis SET NX for every write
    of a burst but the first, instead of a broker publish per write); never
    raises: the sweeper re-enqueues what a lost wake-up leaves."""
    from helpdesk.lib.tasks import enqueue_coalesced
    from mail.tasks import notifications_drain

    enqueue_coalesced(notifications_drain)


def sla_escalation_notify(*, event: TicketEvent, ticket: Ticket, users: Sequence[Any], on: str, target: Any) -> int:
    """Outbox rows for an SLA escalation (a tickets.subscribers SLA_NOTIFY
    handler, mail.apps): one per user with an address; delivered on commit.
    `target` is the tickets.sla.TargetState escalated."""
    rows = [
        Notification(
            event=event,
            ticket=ticket,
            recipient=u,
            to_email=u.email,
            kind=Notification.Kind.SLA_WARNING,
            **_sla_escalation_text(ticket=ticket, breach=on == SLAMark.Kind.BREACH, target=target, recipient=u),
        )
        for u in users
        if u.email
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    # Read the ids back: with ignore_conflicts PostgreSQL returns none, and
    # without them nothing would be enqueued until the 5-minute sweeper.
    ids = list(
        Notification.objects.filter(
            event=event, kind=Notification.Kind.SLA_WARNING, status=Notification.Status.PENDING
        ).values_list("pk", flat=True)
    )
    if ids:
        transaction.on_commit(lambda: notifications_enqueue(ids))
    return len(rows)


def notification_enqueue_report(
    *, recipient: User, subject: str, body: str, body_html: str = "", dedupe_key: str
) -> Notification | None:
    """Write one weekly-report outbox row (no ticket, no event) in the
    caller's transaction and enqueue its delivery on commit.

    Idempotent per `dedupe_key` (e.g. "weekly_report:<user>:<week start>"):
    a second call with the same key writes nothing, also when two callers
    race (the partial unique constraint decides). Nothing is written for an
    inactive recipient, one without an address, or one who turned
    weekly_report off in their email settings. Returns the new row, else
    None. Delivery, retries and backoff are notification_deliver's.

    Raises:
        ValueError: `dedupe_key` is empty.
    """
    if not dedupe_key:
        raise ValueError("a report notification needs a dedupe_key")
    kind = NK.WEEKLY_REPORT
    if not recipient.is_active or not recipient.email or _disabled([recipient.pk], {kind}):
        return None
    notification, created = Notification.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "recipient": recipient,
            "to_email": recipient.email,
            "kind": kind,
            "subject": subject[:998],
            "body": body,
            "body_html": body_html,
        },
    )
    if not created:
        return None
    pk = notification.pk
    transaction.on_commit(lambda: notifications_enqueue([pk]))
    return notification


def notification_enqueue_account(*, recipient: User, to_email: str, subject: str, body: str) -> Notification:
    """Write one account e-mail (sign-in link, password reset, address
    confirmation, address change notices) to the outbox in the caller's
    transaction; the worker delivers it after the commit, with the usual
    retries (docs/accounts.md, "Account e-mails go through the outbox").

    `to_email` may differ from the recipient's address (a confirmation
    sent to a new address). Preferences do not apply: the person asked for it.
    """
    n = Notification.objects.create(
        recipient=recipient, to_email=to_email, kind=NK.ACCOUNT, subject=subject[:998], body=body
    )
    pk = n.pk
    transaction.on_commit(lambda: notifications_enqueue([pk]))
    return n


def _sla_escalation_text(*, ticket: Ticket, breach: bool, target: Any, recipient: User) -> dict[str, str]:
    """Subject and body of an SLA escalation, in the recipient's language."""
    with translation.override(recipient_language(recipient)):
        values = {
            "number": ticket.pk,
            "subject": ticket.subject,
            "target": target.target.replace("_", " "),
            "due": f"{target.due_at:%Y-%m-%d %H:%M}" if target.due_at else "",
        }
        if breach:
            subject = gettext("[#%(number)s] SLA %(target)s breached: %(subject)s") % values
            body = gettext('Ticket #%(number)s "%(subject)s": the %(target)s target breached') % values
        else:
            subject = gettext("[#%(number)s] SLA %(target)s is at risk of breaching: %(subject)s") % values
            body = gettext('Ticket #%(number)s "%(subject)s": the %(target)s target is at risk of breaching') % values
        if target.due_at:
            body += gettext(" (due %(due)s UTC)") % values
    return {"subject": subject[:998], "body": body + ".\n"}


def _url(name: str, *args: Any) -> str:
    try:
        path = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    return mail_setting("HELPDESK_BASE_URL").rstrip("/") + path


def _ces_links(ticket: Ticket) -> list[tuple[int, str, str]]:
    """CES answer links (support queues only), offered by the surveys app
    (helpdesk.lib.providers.SURVEY_LINKS); none when no app offers them."""
    links = providers.provider(providers.SURVEY_LINKS)
    return links(ticket=ticket) if links else []


def render_at_send() -> bool:
    """Render ticket notifications in the delivery worker (the default),
    not in the event's transaction (HELPDESK_NOTIFY_RENDER = "event")."""
    return getattr(settings, "HELPDESK_NOTIFY_RENDER", "send") != "event"


def _subject(ticket: Ticket) -> str:
    return f"[#{ticket.pk}] {ticket.subject}"[:998]


def _render_pending(n: Notification, claimed: delivery.Claimed) -> None:
    """Render a row written without its text (at its first attempt, under
    the row lock): the event's message and author, the ticket as it is now,
    all read by the claim's statement."""
    if claimed.event is None:
        raise TicketEvent.DoesNotExist(f"event {n.event_id} of notification {n.pk}")
    if n.ticket is None:
        raise Ticket.DoesNotExist(f"ticket {n.ticket_id} of notification {n.pk}")
    n.subject, n.body, n.body_html = _render(
        kind=n.kind,
        event=claimed.event,
        ticket=n.ticket,
        recipient=n.recipient,
        message=claimed.message,
        attachment_count=claimed.attachment_count,
    )
    n.render_pending = False


# `message` not given: _render_in_language reads it.
_READ: Any = object()


def _render(
    *,
    kind: str,
    event: TicketEvent,
    ticket: Ticket,
    recipient: User,
    message: Message | None = _READ,
    attachment_count: int | None = None,
) -> tuple[str, str, str]:
    """Subject, text and HTML body in the recipient's language, whoever
    triggered the event (docs/languages.md, E-mails). `message` and
    `attachment_count`, when the caller has read them, save their queries."""
    with translation.override(recipient_language(recipient)):
        return _render_in_language(
            kind=kind,
            event=event,
            ticket=ticket,
            recipient=recipient,
            message=message,
            attachment_count=attachment_count,
        )


def _render_in_language(
    *,
    kind: str,
    event: TicketEvent,
    ticket: Ticket,
    recipient: User,
    message: Message | None,
    attachment_count: int | None,
) -> tuple[str, str, str]:
    from mail.services.csat import csat_url

    if message is _READ:
        message = None
        if kind in delivery.MESSAGE_KINDS and event.data.get("message_id"):
            message = Message.objects.filter(pk=event.data["message_id"]).first()
    if attachment_count is None:
        attachment_count = message.attachments.count() if message is not None and kind == NK.AGENT_REPLY else 0
    customer = kind in CUSTOMER_KINDS
    context = {
        "kind": kind,
        "ticket": ticket,
        "recipient": recipient,
        "message": message,
        "attachment_count": attachment_count,
        "message_html": render_body(message.body, message.body_format) if message else "",
        "author": event.actor.display_name if event.actor_id and event.actor else "",
        "ticket_url": _url("tickets:customer-ticket-detail", ticket.pk)
        if customer
        else _url("tickets:agent-ticket-detail", ticket.pk),
        "csat_links": [(r, csat_url(ticket_id=ticket.pk, rating=r)) for r in range(5, 0, -1)]
        if kind == NK.SOLVED
        else [],
        "ces_links": _ces_links(ticket) if kind == NK.SOLVED else [],
        "status_label": customer_status_label(ticket.status) if customer else ticket.get_status_display(),
        "reply_marker": customer,
    }
    subject = _subject(ticket)
    body = render_to_string(f"mail/notification_{kind}.txt", context).strip() + "\n"
    body_html = render_to_string("mail/notification.html", context)
    return subject, body, body_html


# --- delivery -------------------------------------------------------------


def notifications_enqueue(ids: list[int]) -> None:
    """Hand rows to Celery; a broker outage is logged, never raised (the
    sweeper re-enqueues rows still pending)."""
    from mail import tasks

    if len(ids) > 1:  # one message for the lot; the task gives each its own retries
        try:
            tasks.notifications_send_many.apply_async(kwargs={"notification_ids": list(ids)})
        except Exception:
            logger.warning("%s notifications not enqueued (broker down?); the sweeper will retry", len(ids))
        return
    for pk in ids:
        try:
            tasks.notification_send.apply_async(kwargs={"notification_id": pk})  # queue: helpdesk/celery.py
        except Exception:
            logger.warning("notification %s not enqueued (broker down?); the sweeper will retry", pk)
            return


def _email_for(n: Notification, thread: tuple[str, str] | None = None) -> EmailMultiAlternatives:
    """The e-mail of a claimed row. `thread` is (thread root, reply
    address) when the claim read them; else they are read here."""
    headers = {"Message-ID": n.message_id, "X-Helpdesk-Loop": mail_domain()}
    reply_to: list[str] = []
    if n.ticket_id is not None:
        headers["X-Helpdesk-Ticket"] = str(n.ticket_id)
        if thread is None:
            thread = thread_root_id(ticket_id=n.ticket_id), reply_to_address(ticket=n.ticket)
        root, reply = thread
        if root and root != n.message_id:
            headers["In-Reply-To"] = root
            headers["References"] = root
        reply_to = [reply]
    # A ticketless row (the weekly report) has no thread and no reply token:
    # an answer to it is ordinary inbound mail.
    if n.kind != NK.AGENT_REPLY:
        # RFC 3834: tells well-behaved auto-responders not to answer.
        headers["Auto-Submitted"] = "auto-generated"
    email = EmailMultiAlternatives(
        subject=n.subject,
        body=n.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[n.to_email],
        reply_to=reply_to,
        headers=headers,
    )
    if n.body_html:
        email.attach_alternative(n.body_html, "text/html")
    return email


def notification_deliver(*, notification_id: int) -> str:
    """Send one notification unless already sent; returns the final status.

    At least once, with the smallest window we can have (docs/delivery.md):
    the attempt is recorded and committed first (attempts + 1, the
    Message-ID, `attempt_started_at`), the SMTP conversation runs after the
    commit with no lock held, and its outcome is recorded in a second
    transaction. A row whose attempt is in flight is left alone, so two
    workers never send it at once; a row whose worker died mid-send is
    retried after HELPDESK_NOTIFY_ATTEMPT_TIMEOUT with the same Message-ID
    (receivers and mail clients de-duplicate on it). A failed send records
    the error and the next attempt time, marks the row failed after
    HELPDESK_NOTIFY_MAX_ATTEMPTS, and re-raises so Celery retries with
    backoff. A sent solved notification records survey.offered for each
    survey its links ask (CSAT; CES on support queues).
    """
    claimed = _attempt_claim(notification_id)
    if isinstance(claimed, str):
        return claimed
    n, attempt, thread = claimed
    try:
        _email_for(n, thread).send(fail_silently=False)
    except Exception as exc:
        _attempt_failed(n.pk, attempt, exc)
        raise
    return _attempt_succeeded(n)


def _attempt_timeout() -> timedelta:
    return timedelta(seconds=mail_setting("HELPDESK_NOTIFY_ATTEMPT_TIMEOUT"))


def _attempt_claim(notification_id: int) -> str | tuple[Notification, int, tuple[str, str] | None]:
    """Record the attempt (committed before the send): the row, its attempt
    number and its thread (root, reply address; None for a ticketless row),
    else its status (or "in_flight") if there is nothing to send. Two
    statements, three when the ticket has no reply token yet
    (docs/delivery.md, "Delivery written out")."""
    now = timezone.now()
    with transaction.atomic():
        # Locks the row only (FOR NO KEY UPDATE OF n): the joins are outer
        # joins (ticketless rows), which PostgreSQL cannot lock.
        claimed = delivery.claim_read(notification_id)
        n = claimed.notification
        if n.status != NS.PENDING:
            return n.status
        if n.attempt_started_at is not None and n.attempt_started_at > now - _attempt_timeout():
            return "in_flight"  # another worker is sending it (or died; retried after the timeout)
        rendered = n.render_pending
        if rendered:
            _render_pending(n, claimed)
        if not n.message_id:
            n.message_id = message_id_for(n)
        n.attempts += 1
        n.attempt_started_at = now
        delivery.claim_write(n, rendered=rendered)
        return n, n.attempts, _thread(n, claimed)


def _thread(n: Notification, claimed: delivery.Claimed) -> tuple[str, str] | None:
    """thread_root_id and reply_to_address from what the claim read (the
    token is created here, under the claim, for a ticket's first e-mail)."""
    if n.ticket is None:
        return None
    root = claimed.description_message_id
    if not root and claimed.first_id is not None:
        root = claimed.first_message_id or _message_id(claimed.first_id, n.ticket_id)
    token = claimed.reply_token or delivery.reply_token_create(ticket_id=n.ticket.pk, token=secrets.token_hex(12))
    return root, _plus_address(n.ticket.queue.inbound_email, token)


def _attempt_succeeded(n: Notification) -> str:
    """Record the success: one UPDATE … WHERE status = 'pending' (a row
    something else decided meanwhile keeps its status, as under the lock
    before), and the survey offer in the same transaction."""
    now = timezone.now()
    with transaction.atomic():
        if not delivery.mark_sent(n.pk, at=now):
            return delivery.status_of(n.pk)
        n.status, n.sent_at, n.last_error, n.attempt_started_at = NS.SENT, now, "", None
        # A sent "solved" or NPS e-mail is a survey's offer (surveys records it).
        sent = providers.provider(providers.NOTIFICATION_SENT)
        if sent is not None:
            sent(n)
    return NS.SENT


def _attempt_failed(pk: int, attempt: int, exc: Exception) -> None:
    with transaction.atomic():
        n = Notification.objects.select_for_update(no_key=True).get(pk=pk)
        if n.status != NS.PENDING or n.attempts != attempt:
            return  # a later attempt (after a timeout) owns the row now
        n.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        backoff = min(60 * 2 ** (n.attempts - 1), 3600)
        n.next_attempt_at = timezone.now() + timedelta(seconds=backoff)
        n.attempt_started_at = None
        if n.attempts >= mail_setting("HELPDESK_NOTIFY_MAX_ATTEMPTS"):
            n.status = NS.FAILED
        n.save(update_fields=["last_error", "next_attempt_at", "attempt_started_at", "status"])


def notifications_due_ids(*, limit: int = 500) -> list[int]:
    """Pending rows the sweeper should enqueue again: older than
    HELPDESK_NOTIFY_SWEEP_AFTER_MINUTES, due for their next attempt and not
    in flight (an attempt with no outcome after
    HELPDESK_NOTIFY_ATTEMPT_TIMEOUT was cut short by a crash: due again)."""
    cutoff = timezone.now() - timedelta(minutes=mail_setting("HELPDESK_NOTIFY_SWEEP_AFTER_MINUTES"))
    return notifications_ready_ids(limit=limit, created_before=cutoff)


def notifications_ready_ids(*, limit: int = 500, created_before: Any = None) -> list[int]:
    """Pending rows due for their (next) attempt and not in flight, oldest
    first: what the drain sends (all of them) and the sweeper re-enqueues
    (those written before `created_before`)."""
    now = timezone.now()
    from django.db.models import Q

    rows = Notification.objects.filter(status=NS.PENDING)
    if created_before is not None:
        rows = rows.filter(created_at__lt=created_before)
    return list(
        rows.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(Q(attempt_started_at__isnull=True) | Q(attempt_started_at__lte=now - _attempt_timeout()))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
