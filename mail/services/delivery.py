"""The outbox delivery's statements, written out (docs/delivery.md,
"Delivery written out").

Sending one notification ran 11 to 14 ORM statements (the row lock, the
event, the ticket, the recipient, the message, the claim's save, two reads
for the thread root, the reply token, a second lock and save for the
outcome), and compiling them was over half of the worker's CPU for a write.
Here they are three statements: one locked read that brings everything the
mail needs, one UPDATE recording the attempt (and the rendering), one
UPDATE recording the success. The protocol around them (outbox.py,
`notification_deliver`) is unchanged: the same row lock, the same checks,
the same commits, the same text.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from accounts.models import User
from helpdesk.lib.rows import Columns
from mail.models import Notification, ReplyToken
from tickets.models import Attachment, Message, Queue, Ticket, TicketEvent

NK = Notification.Kind

# The kinds whose text quotes the event's message.
MESSAGE_KINDS = frozenset({NK.AGENT_REPLY, NK.CUSTOMER_REPLY})

_N = Columns(Notification, "n")
_R = Columns(User, "r")  # the recipient
_T = Columns(Ticket, "t")
_Q = Columns(Queue, "q")
_E = Columns(TicketEvent, "e")
_A = Columns(User, "a")  # the event's actor
_M = Columns(Message, "m")
_PARTS = (_N, _R, _T, _Q, _E, _A, _M)


@dataclass
class Claimed:
    """A locked row with what its mail needs. `notification` has its
    recipient and ticket (with its queue) loaded; `event` (with its actor),
    `message` and `attachment_count` are read only for a row to render."""

    notification: Notification
    event: TicketEvent | None
    message: Message | None
    attachment_count: int
    # The thread: the Message-ID of the customer's e-mail that opened the
    # ticket ("" when none), else the ticket's first notification.
    description_message_id: str
    first_id: int | None
    first_message_id: str
    reply_token: str | None


_sql: dict[str, str] = {}


def _db() -> BaseDatabaseWrapper:
    """This thread's connection (the claim's transaction is on it)."""
    return connections[DEFAULT_DB_ALIAS]


def _claim_sql(connection: BaseDatabaseWrapper) -> str:
    vendor = connection.vendor
    found = _sql.get(vendor)
    if found is not None:
        return found
    quote = connection.ops.quote_name
    if vendor == "postgresql":
        message_id, lock = "(e.data ->> 'message_id')::bigint", " FOR NO KEY UPDATE OF n"
    else:  # SQLite: one writer at a time, no row locks
        message_id, lock = "json_extract(e.data, '$.message_id')", ""
    kinds = ", ".join(f"'{k}'" for k in sorted(MESSAGE_KINDS))
    n, m = Notification._meta.db_table, Message._meta.db_table
    found = (
        f"SELECT {', '.join(part.sql(connection) for part in _PARTS)},"  # noqa: S608 - names from the models
        f" (SELECT COUNT(*) FROM {quote(Attachment._meta.db_table)} x WHERE x.message_id = m.id),"
        f" (SELECT d.email_message_id FROM {quote(m)} d WHERE d.ticket_id = n.ticket_id AND d.is_description"
        "   AND d.email_message_id <> '' ORDER BY d.id LIMIT 1),"
        f" (SELECT f.id FROM {quote(n)} f WHERE f.ticket_id = n.ticket_id ORDER BY f.id LIMIT 1),"
        f" (SELECT f.message_id FROM {quote(n)} f WHERE f.ticket_id = n.ticket_id ORDER BY f.id LIMIT 1),"
        f" (SELECT k.token FROM {quote(ReplyToken._meta.db_table)} k WHERE k.ticket_id = n.ticket_id)"
        f" FROM {quote(n)} n"
        f" JOIN {quote(User._meta.db_table)} r ON r.id = n.recipient_id"
        f" LEFT JOIN {quote(Ticket._meta.db_table)} t ON t.id = n.ticket_id"
        f" LEFT JOIN {quote(Queue._meta.db_table)} q ON q.id = t.queue_id"
        f" LEFT JOIN {quote(TicketEvent._meta.db_table)} e ON n.render_pending AND e.id = n.event_id"
        f" LEFT JOIN {quote(User._meta.db_table)} a ON a.id = e.actor_id"
        f" LEFT JOIN {quote(m)} m ON n.kind IN ({kinds}) AND m.id = {message_id}"
        f" WHERE n.id = %s{lock}"
    )
    _sql[vendor] = found
    return found


def claim_read(notification_id: int) -> Claimed:
    """Lock the row (FOR NO KEY UPDATE of the row only, as before) and read
    it with everything its mail needs, in one statement. Call it inside the
    claim's transaction.

    Raises:
        Notification.DoesNotExist: no such row.
    """
    connection = _db()
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(connection), [notification_id])
        row = cursor.fetchone()
    if row is None:
        raise Notification.DoesNotExist(f"Notification {notification_id} does not exist.")
    built: list[Any] = []
    at = 0
    for part in _PARTS:
        built.append(part.build(row[at : at + part.width], connection))
        at += part.width
    n, recipient, ticket, queue, event, actor, message = built
    Notification.recipient.field.set_cached_value(n, recipient)
    Notification.ticket.field.set_cached_value(n, ticket)
    if ticket is not None:
        Ticket.queue.field.set_cached_value(ticket, queue)
    if event is not None:
        TicketEvent.actor.field.set_cached_value(event, actor)
    count, description_mid, first_id, first_mid, token = row[at:]
    return Claimed(
        notification=n,
        event=event,
        message=message,
        attachment_count=count or 0,
        description_message_id=description_mid or "",
        first_id=first_id,
        first_message_id=first_mid or "",
        reply_token=token,
    )


def claim_write(n: Notification, *, rendered: bool) -> None:
    """Store the attempt (number, start, Message-ID) and, for a row just
    rendered, its text: one UPDATE, under the claim's lock."""
    connection = _db()
    sets = ["attempts = %s", "attempt_started_at = %s", "message_id = %s"]
    params: list[Any] = [n.attempts, _datetime(n.attempt_started_at), n.message_id]
    if rendered:
        sets += ["subject = %s", "body = %s", "body_html = %s", "render_pending = %s"]
        params += [n.subject, n.body, n.body_html, False]
    table = connection.ops.quote_name(Notification._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {', '.join(sets)} WHERE id = %s", [*params, n.pk])  # noqa: S608


def mark_sent(pk: int, *, at: datetime) -> bool:
    """The success as one compare-and-set: `sent` only while the row is
    still pending (False: something else decided it meanwhile)."""
    connection = _db()
    table = connection.ops.quote_name(Notification._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, sent_at = %s, last_error = '', attempt_started_at = NULL"  # noqa: S608
            " WHERE id = %s AND status = %s",
            [Notification.Status.SENT, _datetime(at), pk, Notification.Status.PENDING],
        )
        return cursor.rowcount == 1


def status_of(pk: int) -> str:
    """The row's status. Raises Notification.DoesNotExist."""
    status = Notification.objects.filter(pk=pk).values_list("status", flat=True).first()
    if status is None:
        raise Notification.DoesNotExist(f"Notification {pk} does not exist.")
    return status


def reply_token_create(*, ticket_id: int, token: str) -> str:
    """The ticket's reply token: `token` stored, or the one a concurrent
    writer stored first (one upsert instead of get_or_create's read,
    savepoint and insert)."""
    connection = _db()
    table = connection.ops.quote_name(ReplyToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (ticket_id, token, created_at) VALUES (%s, %s, %s)"  # noqa: S608
            f" ON CONFLICT (ticket_id) DO UPDATE SET token = {table}.token RETURNING token",
            [ticket_id, token, _datetime(timezone.now())],
        )
        return str(cursor.fetchone()[0])


def _datetime(value: datetime | None) -> Any:
    return _db().ops.adapt_datetimefield_value(value)
