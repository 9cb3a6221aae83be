"""Bulk writers for the import: PostgreSQL COPY, and an ORM fallback (SQLite).

Both take the same row tuples from `replay` with ids already allocated
(sequence values on PostgreSQL, so concurrent writers never collide). Rows
are only inserted: events are append-only (a trigger refuses UPDATE/DELETE).
"""

import json
from datetime import datetime
from io import StringIO
from typing import Any

from django.db import connection
from django.db.models import Max, Model

from tickets.models import Message, Ticket, TicketEvent

NULL = "\\N"
_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})

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


def _text(value: Any) -> str:
    """One value in COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False).translate(_ESC)
    return str(value).translate(_ESC)


def _columns(model: type[Model], known: tuple[str, ...]) -> tuple[list[str], str]:
    """Columns to COPY: `known` first, then any other concrete field with its
    default (so a field added to the model later does not break the import)."""
    extra_cols, extra_vals = [], []
    for f in model._meta.concrete_fields:
        if f.attname in known or f.primary_key or getattr(f, "generated", False):
            continue
        extra_cols.append(f.column)
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


class Writer:
    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"
        self.ticket_fields = [f for f in Ticket._meta.concrete_fields if not getattr(f, "generated", False)]
        self.ticket_defaults = {f.attname: f.get_default() for f in self.ticket_fields}
        self.message_cols, self.message_suffix = _columns(Message, MESSAGE_COLS)
        self.event_cols, self.event_suffix = _columns(TicketEvent, EVENT_COLS)
        self.tags_table = Ticket.tags.through._meta.db_table

    def _copy(self, table: str, cols: list[str], buf: StringIO) -> None:
        buf.seek(0)
        with connection.cursor() as cur:
            cur.copy_expert(f"COPY {table} ({', '.join(cols)}) FROM STDIN", buf)

    def tickets(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if not self.pg:
            Ticket.objects.bulk_create([Ticket(**{**self.ticket_defaults, **r}) for r in rows], batch_size=500)
            return
        defaults = self.ticket_defaults
        attnames = [f.attname for f in self.ticket_fields]
        buf = StringIO()
        write = buf.write
        for r in rows:
            write("\t".join(_text(r[a] if a in r else defaults[a]) for a in attnames))
            write("\n")
        self._copy(Ticket._meta.db_table, [f.column for f in self.ticket_fields], buf)

    def messages(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if not self.pg:
            Message.objects.bulk_create([Message(**dict(zip(MESSAGE_COLS, r, strict=True))) for r in rows], 500)
            return
        buf = StringIO()
        write = buf.write
        suffix = self.message_suffix + "\n"
        esc = _ESC
        for mid, tid, author, role, vis, body, auto, desc, channel, at in rows:
            write(
                f"{mid}\t{tid}\t{NULL if author is None else author}\t{role}\t{vis}\t{body.translate(esc)}\t"
                f"{'t' if auto else 'f'}\t{'t' if desc else 'f'}\t{channel}\t{at.isoformat()}{suffix}"
            )
        self._copy(Message._meta.db_table, self.message_cols, buf)

    def events(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if not self.pg:
            TicketEvent.objects.bulk_create(
                [TicketEvent(**dict(zip(EVENT_COLS, r[1:], strict=True))) for r in rows], batch_size=500
            )
            return
        buf = StringIO()
        write = buf.write
        suffix = self.event_suffix + "\n"
        esc = _ESC
        dumps = json.dumps
        # No id column: the identity default numbers events in COPY order
        # (the `seq` that breaks ties in occurred_at).
        iso_cache: dict[Any, str] = {}  # recorded_at is shared by a batch
        for _, tid, kind, actor, role, at, vis, auto, data, rec in rows:
            rec_text = iso_cache.get(rec)
            if rec_text is None:
                rec_text = iso_cache[rec] = rec.isoformat()
            write(
                f"{tid}\t{kind}\t{NULL if actor is None else actor}\t{role}\t{at.isoformat()}\t{vis}\t"
                f"{'t' if auto else 'f'}\t{dumps(data, ensure_ascii=False).translate(esc)}\t{rec_text}{suffix}"
            )
        self._copy(TicketEvent._meta.db_table, self.event_cols, buf)

    def ticket_tags(self, pairs: list[tuple[int, int]]) -> None:
        if not pairs:
            return
        through = Ticket.tags.through
        if not self.pg:
            through.objects.bulk_create([through(ticket_id=t, tag_id=g) for t, g in pairs], batch_size=500)
            return
        buf = StringIO("".join(f"{t}\t{g}\n" for t, g in pairs))
        self._copy(self.tags_table, ["ticket_id", "tag_id"], buf)

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
