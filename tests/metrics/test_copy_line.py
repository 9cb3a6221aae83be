"""The bulk rebuild's COPY lines (`metrics.services._copy_line`) spell every value exactly as
`_copy_field` does, including the text that needs escaping (bench/METRICS.md, "Third round")."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from metrics.services import _copy_field, _copy_line


def test_copy_line_equals_the_field_by_field_text():
    values = [
        None,
        0,
        -7,
        2**62,
        True,
        False,
        0.1,
        1e-7,
        float("inf"),
        3600.0,
        "",
        "plain",
        "tab\there",
        "new\nline\r",
        "back\\slash",
        datetime(2025, 11, 2, 5, 30, tzinfo=UTC),
        datetime(2025, 11, 2, 1, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-5))),
        date(2025, 1, 31),
        Decimal("1.50"),
        {"a": [1, "x\ty"], "b": None},
        [[1.5, 2.5]],
    ]
    assert _copy_line(values) == "\t".join(_copy_field(v) for v in values) + "\n"
    assert _copy_line([]) == "\n"
