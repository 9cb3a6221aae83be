"""Where an imported event's fingerprint (tickets.importing.parse.event_fingerprint) is kept.

The fingerprint is "<type>@<instant in UTC ms>" plus "#n" for the n-th event of that type at that
instant. The type follows from the row's kind and the instant is the row's `occurred_at`, so a
row keeps only the rest, under the short key `imp` ("" in almost every row), instead of the whole
string under `import_fp` (46 MB per 100k tickets; docs/database-size.md). A fingerprint that does
not have that shape is kept whole under `import_fp`, and rows imported before keep theirs: the
reader takes either, so both read the same.
"""

from datetime import datetime
from typing import Any

from tickets.models import TicketEvent

K = TicketEvent.Kind
CREATED_FP = "created"
FULL_KEY = "import_fp"
REST_KEY = "imp"

# The import type (docs/import.md) that writes each kind.
TYPE_OF_KIND: dict[str, str] = {
    K.MESSAGE: "message",
    K.STATUS: "status",
    K.ASSIGNEE: "assign",
    K.QUEUE: "queue",
    K.PRIORITY: "priority",
    K.TAGS: "tag",
    K.WORK_SESSION: "work_session",
    K.TIME_ENTRY: "time_entry",
    K.SURVEY_OFFERED: "survey_offered",
    K.CSAT: "csat",
    K.CES: "ces",
    K.NPS: "nps",
    K.SPAM: "spam",
    K.MERGED_INTO: "merged_into",
    K.DELETED: "deleted",
}


def stem(kind: str, at: datetime) -> str | None:
    """The part of a fingerprint the row itself spells (None: a kind the import never writes)."""
    if kind == K.CREATED:
        return CREATED_FP
    etype = TYPE_OF_KIND.get(kind)
    return f"{etype}@{int(at.timestamp() * 1000)}" if etype else None


def store(data: dict[str, Any], kind: str, at: datetime, fp: str) -> None:
    """Record `fp` in the data of a row of `kind` occurring `at`."""
    head = stem(kind, at)
    if head is not None and (fp == head or fp.startswith(head + "#")):
        data[REST_KEY] = fp[len(head) :]
    else:
        data[FULL_KEY] = fp


def read(kind: str, at: datetime, full: str | None, rest: str | None) -> str | None:
    """The fingerprint of a stored row from its kind, instant and the two keys (None: the row
    was not imported)."""
    if full:
        return full
    if rest is None:
        return None
    head = stem(kind, at)
    return None if head is None else head + rest


def data_out(kind: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """`data` as the event log's readers see it: the fingerprint whole under `import_fp`."""
    if REST_KEY not in data:
        return dict(data)
    out = {k: v for k, v in data.items() if k != REST_KEY}
    out[FULL_KEY] = read(kind, at, None, data[REST_KEY])
    return out
