"""Bulk writers for the import: PostgreSQL COPY, and an ORM fallback (SQLite).

Both take the same row tuples from `replay` with ids already allocated
(sequence values on PostgreSQL, so concurrent writers never collide). Rows
are only inserted: events are append-only (a trigger refuses UPDATE/DELETE).
"""

from dataclasses import dataclass, field
from datetime import datetime
from io import StringIO
from typing import Any

import orjson
from django.db import connection
from django.db.models import Max, Model

from tickets.models import Message, Ticket, TicketEvent

NULL = "\\N"

MESSAGE_COLS = (
    "id",
    "ticket_id",
    "author_id",
    "author_role",
    "visibility",
    "body",
    "is_automated",
    "is_description",
    "channel",
    "created_at",
)
EVENT_COLS = (
    "ticket_id",
    "kind",
    "actor_id",
    "actor_role",
    "occurred_at",
    "visibility",
    "is_automated",
    "data",
    "recorded_at",
)


def _esc(text: str) -> str:
    """Escape text for COPY's text format. Chained str.replace: each is one
    fast scan that returns the same string when there is nothing to replace
    (much cheaper than str.translate on the usual clean text)."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r").replace("\x00", "")


def _json(value: Any) -> str:
    """A JSON value in COPY text format. orjson writes no raw control
    characters (they are \\u escapes inside strings), so only the backslashes
    of its escapes need doubling."""
    text = orjson.dumps(value).decode()
    return text.replace("\\", "\\\\") if "\\" in text else text


def _text(value: Any) -> str:
    """One value in COPY text format."""
    t = type(value)
    if t is str:
        return _esc(value)
    if value is None:
        return NULL
    if t is bool:
        return "t" if value else "f"
    if t is int:
        return str(value)
    if t is datetime:
        return str(value.isoformat())
    if isinstance(value, dict | list):
        return _json(value)
    return _esc(str(value))


def _columns(model: type[Model], known: tuple[str, ...]) -> tuple[list[str], str]:
    """Columns to COPY: `known` first, then any other concrete field with its
    default (so a field added to the model later does not break the import)."""
    extra_cols: list[str] = []
    extra_vals: list[str] = []
    for f in model._meta.concrete_fields:
        if f.attname in known or f.primary_key or getattr(f, "generated", False):
            continue
        extra_cols.append(str(f.column))
        extra_vals.append(_text(f.get_default()))
    suffix = ("\t" + "\t".join(extra_vals)) if extra_vals else ""
    return [*known, *extra_cols], suffix


class IdPool:
    """Hands out primary keys in chunks (sequence values on PostgreSQL)."""

    def __init__(self, model: type[Model], chunk: int = 10000):
        self.model = model
        self.chunk = chunk
        self._ids: list[int] = []
        self._pos = 0
        self._last = 0

    def next(self) -> int:
        if self._pos >= len(self._ids):
            self._refill(self.chunk)
        value = self._ids[self._pos]
        self._pos += 1
        return value

    def take(self, n: int) -> list[int]:
        return [self.next() for _ in range(n)]

    def _refill(self, n: int) -> None:
        table = self.model._meta.db_table
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n])
                self._ids = [r[0] for r in cur.fetchall()]
        else:  # SQLite: one writer at a time; continue after the max id
            start = max(self.model.objects.aggregate(m=Max("id"))["m"] or 0, self._last) + 1  # type: ignore[attr-defined]
            self._ids = list(range(start, start + n))
            self._last = self._ids[-1]
        self._pos = 0


@dataclass
class Prepared:
    """One batch's rows, ready to write: on PostgreSQL the COPY texts (built
    by the parsing thread, so the writing thread mostly waits on the
    database), on SQLite the row lists."""

    copies: list[tuple[str, list[str], str]] = field(default_factory=list)  # (table, columns, text)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    ticket_tags: list[tuple[int, int]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)


class Writer:
    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        self.ticket_fields = [f for f in Ticket._meta.concrete_fields if not getattr(f, "generated", False)]
        self.ticket_defaults = {f.attname: f.get_default() for f in self.ticket_fields}
        self.ticket_attnames = [f.attname for f in self.ticket_fields]
        self.ticket_cols = [str(f.column) for f in self.ticket_fields]
        self.message_cols, self.message_suffix = _columns(Message, MESSAGE_COLS)
        self.event_cols, self.event_suffix = _columns(TicketEvent, EVENT_COLS)
        self.tags_table = Ticket.tags.through._meta.db_table

    # --- preparing (pure Python, any thread) -------------------------------------

    def prepare(
        self,
        *,
        tickets: list[dict[str, Any]],
        ticket_tags: list[tuple[int, int]],
        messages: list[tuple[Any, ...]],
        events: list[tuple[Any, ...]],
    ) -> Prepared:
        if not self.pg:
            return Prepared(tickets=tickets, ticket_tags=ticket_tags, messages=messages, events=events)
        copies: list[tuple[str, list[str], str]] = []
        if tickets:
            copies.append((Ticket._meta.db_table, self.ticket_cols, self.tickets_text(tickets)))
        if ticket_tags:
            copies.append((self.tags_table, ["ticket_id", "tag_id"], "".join(f"{t}\t{g}\n" for t, g in ticket_tags)))
        if messages:
            copies.append((Message._meta.db_table, self.message_cols, self.messages_text(messages)))
        if events:
            copies.append((TicketEvent._meta.db_table, self.event_cols, self.events_text(events)))
        return Prepared(copies=copies)

    def tickets_text(self, rows: list[dict[str, Any]]) -> str:
        attnames = self.ticket_attnames
        default_text = {a: _text(v) for a, v in self.ticket_defaults.items()}
        text = _text
        return "".join(["\t".join([text(r[a]) if a in r else default_text[a] for a in attnames]) + "\n" for r in rows])

    def messages_text(self, rows: list[tuple[Any, ...]]) -> str:
        suffix = self.message_suffix + "\n"
        esc = _esc
        return "".join(
            [
                f"{mid}\t{tid}\t{NULL if author is None else author}\t{role}\t{vis}\t{esc(body)}\t"
                f"{'t' if auto else 'f'}\t{'t' if desc else 'f'}\t{channel}\t{at.isoformat()}{suffix}"
                for mid, tid, author, role, vis, body, auto, desc, channel, at in rows
            ]
        )

    def events_text(self, rows: list[tuple[Any, ...]]) -> str:
        # No id column: the identity default numbers events in COPY order
        # (the `seq` that breaks ties in occurred_at).
        suffix = self.event_suffix + "\n"
        dumps = orjson.dumps
        iso_cache: dict[Any, str] = {}  # recorded_at is shared by a batch
        out: list[str] = []
        append = out.append
        for _, tid, kind, actor, role, at, vis, auto, data, rec in rows:
            rec_text = iso_cache.get(rec)
            if rec_text is None:
                rec_text = iso_cache[rec] = rec.isoformat()
            js = dumps(data).decode()
            if "\\" in js:  # see _json
                js = js.replace("\\", "\\\\")
            append(
                f"{tid}\t{kind}\t{NULL if actor is None else actor}\t{role}\t{at.isoformat()}\t{vis}\t"
                f"{'t' if auto else 'f'}\t{js}\t{rec_text}{suffix}"
            )
        return "".join(out)

    # --- writing (in the caller's transaction) -------------------------------------

    def write(self, prepared: Prepared) -> None:
        if self.pg:
            # wrap_database_errors: psycopg2's errors as django.db ones (the
            # caller isolates a refused line by catching DatabaseError).
            with connection.wrap_database_errors, connection.cursor() as cur:
                for table, cols, text in prepared.copies:
                    cur.copy_expert(f"COPY {table} ({', '.join(cols)}) FROM STDIN", StringIO(text))
            return
        if prepared.tickets:
            defaults = self.ticket_defaults
            Ticket.objects.bulk_create([Ticket(**{**defaults, **r}) for r in prepared.tickets], batch_size=500)
        if prepared.ticket_tags:
            through = Ticket.tags.through
            through.objects.bulk_create(
                [through(ticket_id=t, tag_id=g) for t, g in prepared.ticket_tags], batch_size=500
            )
        if prepared.messages:
            Message.objects.bulk_create(
                [Message(**dict(zip(MESSAGE_COLS, r, strict=True))) for r in prepared.messages], batch_size=500
            )
        if prepared.events:
            TicketEvent.objects.bulk_create(
                [TicketEvent(**dict(zip(EVENT_COLS, r[1:], strict=True))) for r in prepared.events], batch_size=500
            )

    def ticket_update(self, row: dict[str, Any], tag_ids: set[int]) -> None:
        """A changed line: set the ticket's final fields and tags."""
        pk = row["id"]
        Ticket.objects.filter(pk=pk).update(**{k: v for k, v in row.items() if k != "id"})
        through = Ticket.tags.through
        current = set(through.objects.filter(ticket_id=pk).values_list("tag_id", flat=True))
        if current - tag_ids:
            through.objects.filter(ticket_id=pk, tag_id__in=current - tag_ids).delete()
        if tag_ids - current:
            through.objects.bulk_create([through(ticket_id=pk, tag_id=g) for g in sorted(tag_ids - current)])
