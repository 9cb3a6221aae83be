"""The embedded SQLite default's Python percentile matches percentile_cont."""

import sqlite3

import pytest

from helpdesk.lib.sqlite import PercentileContAggregate, percentile_cont


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([2550, 3600, 66600, 226800], 0.5, 35100),  # docs/metrics.md §1.7 example
        ([2550, 3600, 66600, 226800], 0.9, 178740),
        ([5], 0.9, 5),
        ([], 0.5, None),
    ],
)
def test_percentile_cont(values, fraction, expected):
    result = percentile_cont(values, fraction)
    assert result == expected if expected is None else abs(result - expected) < 1e-6


def test_registered_aggregate_in_sqlite():
    conn = sqlite3.connect(":memory:")
    conn.create_aggregate("percentile_cont_py", 2, PercentileContAggregate)
    conn.execute("create table t (x real)")
    conn.executemany("insert into t values (?)", [(v,) for v in (226800, 2550, None, 66600, 3600)])
    (p90,) = conn.execute("select percentile_cont_py(x, 0.9) from t").fetchone()
    assert abs(p90 - 178740) < 1e-6
