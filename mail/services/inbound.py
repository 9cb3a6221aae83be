"""Inbound mail: store raw first, then turn it into a ticket or a reply."""

import hashlib
import logging
import re
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Subquery
from django.utils import timezone

from accounts.models import User
from accounts.services import user_by_address, user_create_for_address, users_for_addresses
from helpdesk.lib.exceptions import ApplicationError
from mail import identity, parsing
from mail import storage as mail_storage
from mail.conf import mail_setting, reply_address
from mail.models import InboundMessage, Mailbox, Notification, ReplyToken
from mail.parsing import ParsedMail
from mail.quoting import reply_strip
from tickets import services as ticket_services
from tickets.models import Message, Queue, Ticket

logger = logging.getLogger(__name__)

TICKET_REF = re.compile(r"\[#(\d{1,12})\]")
TOKEN_RE = re.compile(r"\+([0-9a-f]{24})@")

IS = InboundMessage.Status


def inbound_receive(raw: bytes, *, source: str, mailbox: Mailbox | None = None, process: bool = True) -> InboundMessage:
    """Store one raw message, then process it (or leave it to a task).

    The raw row is committed in its own transaction before any parsing, so
    a crash later loses nothing. A second copy of a known Message-ID is
    stored as a duplicate and dropped. With `process=False` the caller
    enqueues processing (the HTTP endpoint does, after this returns).
    """
    inbound = inbound_store(raw, source=source, mailbox=mailbox)
    if process and inbound.status == IS.RECEIVED:
        inbound = inbound_process(inbound_id=inbound.pk)
    return inbound


def inbound_store(raw: bytes, *, source: str, mailbox: Mailbox | None = None) -> InboundMessage:
    """Insert the raw row (committed on return). Duplicates come back dropped.

    A duplicate has the same Message-ID and the same content digest (see
    mail.identity.content_digest); the unique dedupe key makes two
    simultaneous deliveries store one live row. A different mail reusing a
    Message-ID is stored, processed and flagged (`same_message_id_as`).
    """
    fields = _store_fields(raw, source=source, mailbox=mailbox)
    fields["same_message_id_as"] = _same_message_id_as(fields["message_id"], fields["content_sha256"])
    return _store_row(fields)


def inbound_store_many(raws: list[bytes], *, source: str, mailbox: Mailbox | None = None) -> list[InboundMessage]:
    """inbound_store for a batch (an IMAP fetch): the same rows, committed
    together on return, in the order given.

    One transaction and two statements for the batch instead of a commit
    and two or three statements per message (bench/MAIL.md). A batch that
    is not plainly new mail (a Message-ID twice in it, or a row the unique
    dedupe key refuses: a copy already stored) is stored message by
    message, with inbound_store's duplicate handling.
    """
    batch = [_store_fields(raw, source=source, mailbox=mailbox) for raw in raws]
    ids = [f["message_id"] for f in batch if f["message_id"]]
    if len(ids) != len(set(ids)):
        return [_store_one(f) for f in batch]
    earlier: dict[str, list[tuple[str, int]]] = {}
    for pk, message_id, content in (
        InboundMessage.objects.filter(message_id__in=ids, duplicate_of__isnull=True)
        .order_by("pk")
        .values_list("pk", "message_id", "content_sha256")
    ):
        earlier.setdefault(message_id, []).append((content, pk))
    for f in batch:
        other = [pk for content, pk in earlier.get(f["message_id"], []) if content != f["content_sha256"]]
        f["same_message_id_as_id"] = other[0] if other else None
    try:
        with transaction.atomic():
            return InboundMessage.objects.bulk_create([InboundMessage(**f) for f in batch])
    except IntegrityError:
        return [_store_one(f) for f in batch]


def _store_one(fields: dict[str, object]) -> InboundMessage:
    fields.pop("same_message_id_as_id", None)
    fields["same_message_id_as"] = _same_message_id_as(str(fields["message_id"]), str(fields["content_sha256"]))
    return _store_row(fields)


def _store_fields(raw: bytes, *, source: str, mailbox: Mailbox | None) -> dict[str, Any]:
    """The row of one raw message, its bytes already in the file storage."""
    raw = bytes(raw or b"")
    content = identity.content_digest(raw)
    message_id = parsing.message_id_peek(raw)
    return {
        # The bytes go to the file storage before the row exists: a row
        # never points at an object that was not written (docs/storage.md).
        "raw_file": mail_storage.raw_save(raw),
        "size": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "content_sha256": content,
        "source": source if source in InboundMessage.Source.values else InboundMessage.Source.OTHER,
        "mailbox": mailbox,
        "message_id": message_id,
        "dedupe_key": f"{content}{message_id}"[:998] if message_id else f"sha256:{content}",
    }


def _store_row(fields: dict[str, Any]) -> InboundMessage:
    """Insert one row; a copy the dedupe key refuses is stored dropped."""
    try:
        with transaction.atomic():
            return InboundMessage.objects.create(**fields)
    except IntegrityError:
        pass
    with transaction.atomic():
        original = InboundMessage.objects.filter(dedupe_key=fields["dedupe_key"], duplicate_of__isnull=True).first()
        same = "same Message-ID and content" if fields["message_id"] else "same content, no Message-ID"
        return InboundMessage.objects.create(
            **fields,
            duplicate_of=original,
            status=IS.DROPPED,
            reason=f"duplicate of inbound #{original.pk if original else '?'} ({same})",
            processed_at=timezone.now(),
        )


def _same_message_id_as(message_id: str, content: str) -> InboundMessage | None:
    """The first earlier mail with this Message-ID but other content."""
    if not message_id:
        return None
    return (
        InboundMessage.objects.filter(message_id=message_id, duplicate_of__isnull=True)
        .exclude(content_sha256=content)
        .order_by("pk")
        .first()
    )


def inbound_replay(inbound_id: int) -> InboundMessage:
    """Process a quarantined (or still received) message again."""
    return inbound_process(inbound_id=inbound_id, replay=True)


def inbound_process(*, inbound_id: int, replay: bool = False) -> InboundMessage:
    """Parse and apply one stored message; idempotent.

    Only a message in `received` (or `quarantined` on replay) is touched,
    under a row lock, so two workers never apply it twice. Any exception
    rolls back what processing wrote and quarantines the message with a
    traceback summary; it never propagates (other messages go on).
    """
    allowed = {IS.RECEIVED, IS.QUARANTINED} if replay else {IS.RECEIVED}
    try:
        with transaction.atomic():
            # The mailbox (for its queue) in the same statement; only the row is locked.
            inbound = (
                InboundMessage.objects.select_for_update(no_key=True, of=("self",))
                .select_related("mailbox")
                .get(pk=inbound_id)
            )
            if inbound.status not in allowed:
                return inbound
            inbound.attempts += 1
            _apply(inbound)
            inbound.processed_at = timezone.now()
            inbound.save(
                update_fields=[
                    "status", "reason", "ticket", "result_message", "threaded_by", "attempts", "processed_at",
                    "from_address", "subject", "auth_status", "auth_detail",
                ]
            )  # fmt: skip
            return inbound
    except Exception as exc:
        logger.warning("inbound #%s quarantined: %s", inbound_id, exc)
        reason = _reason_of(exc)
        InboundMessage.objects.filter(pk=inbound_id, status__in=allowed).update(
            status=IS.QUARANTINED, reason=reason, processed_at=timezone.now(), attempts=F("attempts") + 1
        )
        return InboundMessage.objects.get(pk=inbound_id)


def _reason_of(exc: BaseException) -> str:
    if isinstance(exc, Quarantine):
        return str(exc)
    if isinstance(exc, ApplicationError):
        return f"{exc.code}: {exc.message}"
    summary = traceback.format_exception_only(type(exc), exc)[-1].strip()
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = "; ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in frames)
    return f"{summary[:1000]} (at {where})"


class Quarantine(Exception):
    """Processing refuses the message on purpose (kept for an admin)."""


@dataclass
class Thread:
    ticket: Ticket
    method: str


def _apply(inbound: InboundMessage) -> None:
    raw = mail_storage.inbound_raw(inbound)
    try:
        parsed = parsing.mail_parse(raw)
    except Exception as exc:
        raise Quarantine(f"unparseable: {_reason_of(exc)}") from exc
    inbound.from_address = parsed.from_email
    inbound.subject = parsed.subject[:500]
    if parsed.invalid_reason:  # e.g. an encoded word as the From address: kept for an admin
        raise Quarantine(parsed.invalid_reason)
    reason = parsing.drop_reason(parsed)
    if reason:
        inbound.status, inbound.reason = IS.DROPPED, reason
        return
    queues = _queues_load(inbound.mailbox)
    reason = _own_address_reason(parsed, _our_addresses(queues))
    if reason:
        inbound.status, inbound.reason = IS.DROPPED, reason
        return
    verdict = identity.sender_verdict(identity.trusted_results(raw, trusted_authserv_ids()), parsed.from_email)
    inbound.auth_status, inbound.auth_detail = verdict.status, verdict.detail
    thread = thread_find(parsed)
    known = user_by_address(parsed.from_email)
    joins = thread is not None and known is not None and sender_may_reply(known, thread.ticket)
    hold = _hold_reason(parsed, verdict, thread if joins else None, known)
    if hold:
        # Kept for an agent to release or discard; nothing is posted and
        # no user is created for the sender. Only a sender who may answer
        # the ticket is held on it: a stranger's release opens a new ticket.
        inbound.status, inbound.reason = IS.HELD, hold
        inbound.ticket = thread.ticket if joins and thread else None
        inbound.threaded_by = thread.method if joins and thread else ""
        return
    sender = known if known is not None else user_create_for_address(parsed.from_email, parsed.from_name)
    if thread is not None and not sender_may_reply(sender, thread.ticket):
        if mail_setting("HELPDESK_MAIL_STRANGER_REPLY") == "quarantine":
            inbound.status = IS.QUARANTINED
            inbound.reason = (
                f"sender {parsed.from_email} is not the requester or a CC of #{thread.ticket.pk} "
                f"(matched by {thread.method})"
            )
            return
        thread = None
    if thread is not None:
        _reply_post(inbound, parsed, thread.ticket, author=sender, method=thread.method)
    else:
        _ticket_open(inbound, parsed, sender, queues=queues)


def trusted_authserv_ids() -> set[str]:
    value = mail_setting("HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS")
    if isinstance(value, str):
        value = value.split(",")
    return {str(v).strip().lower() for v in value or () if str(v).strip()}


def _hold_reason(parsed: ParsedMail, verdict: identity.Verdict, thread: Thread | None, known: User | None) -> str:
    """Why this mail must wait for an agent; "" when it may go in.

    Staff addresses act as staff only when authenticated; a failed verdict
    is always held; a reply that would be appended for a requester or CC
    needs a pass, or (verdict none) the ticket's secret reply address when
    HELPDESK_MAIL_TRUST_REPLY_TOKEN is on. New tickets from customers go in
    unauthenticated (docs/mail-security.md). `thread` is given only when
    the sender may answer that ticket.
    """
    if verdict.status == identity.PASS:
        return ""
    if known is not None and known.is_staff_role:
        return (
            f"held: sent from the staff address {parsed.from_email} without authentication "
            f"({verdict.detail}); mail never acts as staff unless authenticated"
        )
    if verdict.status == identity.FAIL:
        return f"held: the receiving server's authentication failed for {parsed.from_email} ({verdict.detail})"
    if thread is None:
        return ""  # a new ticket (or a stranger's, which never joins the ticket)
    if thread.method == "token" and mail_setting("HELPDESK_MAIL_TRUST_REPLY_TOKEN"):
        return ""
    return (
        f"held: reply to #{thread.ticket.pk} from {parsed.from_email} is not authenticated "
        f"({verdict.detail}) and was matched by {thread.method}, not by the ticket's reply address"
    )


def _reply_post(inbound: InboundMessage, parsed: ParsedMail, ticket: Ticket, *, author: User, method: str) -> None:
    files, refused = _files_accepted(parsed)
    note = _refused_note(refused)
    body = reply_strip(parsed.text)
    if note:
        body = f"{body}\n\n{note}".strip()
    if not body.strip() and not files:
        body = "(empty email)"
    message = ticket_services.message_post(
        ticket_id=ticket.pk,
        author=author,
        body=body,
        visibility=Message.Visibility.PUBLIC,
        attachments=files,
        body_format=Message.Format.PLAIN,
        channel=Ticket.Channel.EMAIL,
        email_message_id=parsed.message_id,
    )
    inbound.ticket_id, inbound.result_message = message.ticket_id, message
    inbound.threaded_by = method
    inbound.status = IS.PROCESSED
    inbound.reason = f"reply on #{message.ticket_id} (by {method})" + _refused_reason(refused)


def _ticket_open(
    inbound: InboundMessage, parsed: ParsedMail, sender: User, *, queues: list[Queue] | None = None
) -> None:
    """A new ticket from this mail. `queues` as _queues_load gave them (loaded when not given)."""
    queues = _queues_load(inbound.mailbox) if queues is None else queues
    queue = _queue_for(parsed, inbound.mailbox, queues)
    if queue is None:
        raise Quarantine("no queue: the mailbox has none, no Queue.inbound_email matches and no default is set")
    files, refused = _files_accepted(parsed)
    note = _refused_note(refused)
    subject = TICKET_REF.sub("", parsed.subject).strip() or "(no subject)"
    body = parsed.text
    if parsed.is_encrypted:
        body = f"{body}\n\n(This email was encrypted; the encrypted part is attached.)".strip()
    if note:
        body = f"{body}\n\n{note}".strip()
    cc_addresses, cc_dropped = _cc_addresses_kept(parsed, _our_addresses(queues))
    if cc_dropped:
        body = f"{body}\n\n({cc_dropped} more Cc address(es) were not added: at most {len(cc_addresses)} are kept.)"
    ccs = users_for_addresses(cc_addresses)
    ticket = ticket_services.ticket_create(
        subject=subject,
        body=body,
        queue=queue,
        requester=sender,
        actor=sender,
        channel=Ticket.Channel.EMAIL,
        attachments=files,
        body_format=Message.Format.PLAIN,
        email_message_id=parsed.message_id,
        ccs=ccs,
    )
    inbound.ticket = ticket
    inbound.result_message = ticket.messages.get(is_description=True)
    inbound.threaded_by = ""
    inbound.status, inbound.reason = IS.PROCESSED, f"new ticket #{ticket.pk}" + _refused_reason(refused)


def _cc_addresses_kept(parsed: ParsedMail, ours: set[str]) -> tuple[list[str], int]:
    """The Cc addresses that become CCs (at most HELPDESK_MAIL_MAX_CCS) and
    how many more were left out. Users are created only for the kept ones."""
    candidates = [a for a in dict.fromkeys(parsed.cc) if a != parsed.from_email and not _is_ours(a, ours)]
    limit = max(int(mail_setting("HELPDESK_MAIL_MAX_CCS")), 0)
    return candidates[:limit], max(len(candidates) - limit, 0)


def _files_accepted(parsed: ParsedMail) -> tuple[list[ticket_services.IncomingFile], list[str]]:
    """Attachments that pass the upload rules (as they will be stored), and
    one line per refused file saying why: the mail itself is kept."""
    from django.conf import settings

    from tickets.attachments import filename_normalise

    accepted: list[ticket_services.IncomingFile] = []
    refused: list[str] = []
    for f in parsed.files:
        incoming = ticket_services.IncomingFile(
            filename=f.filename, content=f.content, content_type=f.content_type, is_inline=f.is_inline
        )
        if len(accepted) >= settings.HELPDESK_ATTACHMENT_MAX_PER_MESSAGE:
            refused.append(f"{filename_normalise(f.filename)} (too many attachments)")
            continue
        try:
            accepted.extend(ticket_services.attachments_validate([incoming]))
        except ticket_services.AttachmentRejected as exc:
            refused.append(f"{filename_normalise(f.filename)}: {exc.message}")
    return accepted, refused


def _refused_note(refused: list[str]) -> str:
    if not refused:
        return ""
    return "Attachments not accepted (the original email is kept by the help desk):\n" + "\n".join(
        f"- {line}" for line in refused
    )


def _refused_reason(refused: list[str]) -> str:
    """Said in the inbound row's reason too, so the admin list shows it."""
    if not refused:
        return ""
    return f"; {len(refused)} attachment(s) refused: " + "; ".join(refused)[:1000]


def _queues_load(mailbox: Mailbox | None) -> list[Queue]:
    """In one query, every queue one message may need: those with an
    inbound address (ours, so mail from them is a loop; and where a new
    ticket goes), the default queue and the mailbox's queue. By pk."""
    match = ~Q(inbound_email="")
    slug = mail_setting("HELPDESK_MAIL_DEFAULT_QUEUE")
    if slug:
        match |= Q(slug=slug)
    if mailbox is not None and mailbox.queue_id:
        match |= Q(pk=mailbox.queue_id)
    return list(Queue.objects.filter(match).order_by("pk"))


def _our_addresses(queues: list[Queue] | None = None) -> set[str]:
    ours = {reply_address().lower()}
    from django.conf import settings

    ours.add(settings.DEFAULT_FROM_EMAIL.lower())
    if queues is None:
        ours.update(e.lower() for e in Queue.objects.exclude(inbound_email="").values_list("inbound_email", flat=True))
    else:
        ours.update(q.inbound_email.lower() for q in queues if q.inbound_email)
    return {a.split("<")[-1].strip(">").strip() for a in ours}


def _is_ours(address: str, ours: set[str] | None = None) -> bool:
    local, _, domain = address.lower().partition("@")
    base = f"{local.split('+')[0]}@{domain}"
    return base in (ours if ours is not None else _our_addresses())


def _own_address_reason(parsed: ParsedMail, ours: set[str] | None = None) -> str:
    if _is_ours(parsed.from_email, ours):
        return "loop (sent from one of our own addresses)"
    return ""


def sender_may_reply(sender: User, ticket: Ticket) -> bool:
    """The requester or a CC; staff who can see the ticket (agents answering
    a notification by mail) too."""
    if sender.pk == ticket.requester_id or ticket.ccs.filter(pk=sender.pk).exists():
        return True
    if sender.is_staff_role and sender.is_active:
        from tickets.selectors import ticket_list_for_user

        return ticket_list_for_user(user=sender, include_hidden=True).filter(pk=ticket.pk).exists()
    return False


def _follow_merge(ticket: Ticket) -> Ticket:
    seen = set()
    while ticket.merged_into_id and ticket.pk not in seen:
        seen.add(ticket.pk)
        ticket = ticket.merged_into  # type: ignore[assignment]
    return ticket


def thread_find(parsed: ParsedMail) -> Thread | None:
    """The ticket this mail answers: (a) reply token in a recipient address,
    (b) In-Reply-To/References naming one of our notifications or a stored
    message, (c) "[#123]" in the subject. None for a new conversation."""
    for address in [*parsed.to, *parsed.cc, *parsed.delivered_to]:
        match = TOKEN_RE.search(address)
        if match:
            token = ReplyToken.objects.select_related("ticket").filter(token=match.group(1)).first()
            if token is not None:
                return Thread(_follow_merge(token.ticket), "token")
    ids = [*reversed(parsed.in_reply_to), *reversed(parsed.references)]
    ids = [i for i in dict.fromkeys(ids) if i != parsed.message_id][:50]
    if ids:
        # Each source in turn; the ticket comes in the same statement.
        sources = (
            Notification.objects.filter(message_id__in=ids, ticket__isnull=False),
            Message.objects.filter(email_message_id__in=ids),
            # Processed mail only: a held mail's ticket is a claim, not a fact.
            InboundMessage.objects.filter(message_id__in=ids, ticket__isnull=False, status=IS.PROCESSED),
        )
        for source in sources:
            ticket = Ticket.objects.filter(pk=Subquery(source.order_by("-id").values("ticket_id")[:1])).first()
            if ticket is not None:
                return Thread(_follow_merge(ticket), "header")
    match = TICKET_REF.search(parsed.subject)
    if match:
        ticket = Ticket.objects.filter(pk=int(match.group(1)), is_deleted=False).first()
        if ticket is not None:
            return Thread(_follow_merge(ticket), "subject")
    return None


def _queue_for(parsed: ParsedMail, mailbox: Mailbox | None, queues: list[Queue]) -> Queue | None:
    """The mailbox's queue, else the first active queue (by pk) whose
    inbound address is a recipient's (plus-part dropped), else the default."""
    by_pk = {q.pk: q for q in queues}
    if mailbox is not None and mailbox.queue_id:
        return by_pk.get(mailbox.queue_id) or mailbox.queue
    bases = set()
    for a in [*parsed.delivered_to, *parsed.to, *parsed.cc]:
        local, _, domain = a.lower().partition("@")
        bases.add(f"{local.split('+')[0]}@{domain}")
    for queue in queues:  # by pk
        if queue.is_active and queue.inbound_email and queue.inbound_email.lower() in bases:
            return queue
    slug = mail_setting("HELPDESK_MAIL_DEFAULT_QUEUE")
    if slug:
        return next((q for q in queues if q.slug == slug), None)
    return None


def inbound_pending_ids(*, older_than_minutes: int = 5, limit: int = 500) -> list[int]:
    """Messages still `received` after a while (their enqueue was lost)."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    return list(
        InboundMessage.objects.filter(status=IS.RECEIVED, received_at__lt=cutoff)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
