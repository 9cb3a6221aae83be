"""Ticket import (docs/import.md): JSONL histories replayed into tickets, messages
and events, idempotently by external_id.

    report = import_file(path, create_queues_kind=None, on_progress=bar.update)
    report = import_records(iterable_of_(lineno, dict_or_str))

See runner.py for the pipeline, parse.py for the line format, replay.py for
how each event becomes the rows tickets/services.py would write.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tickets.importing.parse import LineError, ParsedLine, parse_line
from tickets.importing.runner import Importer, ImportIssue, ImportReport

__all__ = [
    "ImportIssue",
    "ImportReport",
    "Importer",
    "LineError",
    "ParsedLine",
    "count_lines",
    "import_file",
    "import_records",
    "parse_line",
]


def import_records(
    records: Iterable[tuple[int, Any]],
    *,
    create_queues_kind: str | None = None,
    batch_size: int = 1000,
    on_progress: Callable[[int], None] | None = None,
    pipeline: bool = True,
) -> ImportReport:
    """Import (line number, line) pairs; a line is a JSON text or a dict."""
    importer = Importer(
        create_queues_kind=create_queues_kind, batch_size=batch_size, on_progress=on_progress, pipeline=pipeline
    )
    return importer.run(records)


def _read_lines(path: str) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as fh:
        yield from enumerate(fh, start=1)


def import_file(
    path: str,
    *,
    create_queues_kind: str | None = None,
    batch_size: int = 1000,
    on_progress: Callable[[int], None] | None = None,
    pipeline: bool = True,
) -> ImportReport:
    """Import a JSONL file (one ticket a line). Raises OSError if unreadable."""
    return import_records(
        _read_lines(path),
        create_queues_kind=create_queues_kind,
        batch_size=batch_size,
        on_progress=on_progress,
        pipeline=pipeline,
    )


def count_lines(path: str) -> int:
    """Non-blank lines (the progress bar's total), read in 1 MB chunks."""
    n = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")
