"""One streamed CSV download for every export (dashboard, surveys, customer
success): rows are written as they are produced, and text cells that a
spreadsheet would run as a formula are neutralised (CSV injection)."""

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_safe(value: Any) -> Any:
    """A text cell starting like a formula gets a leading quote."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def csv_response(name: str, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> StreamingHttpResponse:
    """`name`.csv with `header`, then `rows`, streamed."""
    writer = csv.writer(_Echo())

    def gen() -> Iterator[str]:
        yield writer.writerow(list(header))
        for row in rows:
            yield writer.writerow([csv_safe(v) for v in row])

    response = StreamingHttpResponse(gen(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
