"""The latest CSAT comments are read through a partial index of the commented
ratings only (tickets/migrations/0019): a period where few ratings carry a
comment must not read every rating (bench/METRICS.md, 1M section)."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from metrics.dashboard import Period, Scope
from metrics.dashboard.comments import csat_comments


def _comments_sql() -> str:
    scope = Scope(period=Period(date(2025, 1, 1), date(2025, 12, 31), ZoneInfo("UTC")))
    with CaptureQueriesContext(connection) as ctx:
        csat_comments(scope=scope)
    sql = [q["sql"] for q in ctx.captured_queries if "csat.responded" in q["sql"]]
    assert sql, "the comments query did not run"
    return sql[-1]


@pytest.mark.django_db
def test_the_comments_query_matches_the_partial_index():
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'event_csat_comment'")
        (definition,) = cur.fetchone()
    assert "WHERE" in definition and "csat.responded" in definition
    sql = _comments_sql()
    with connection.cursor() as cur:
        # Small test tables make a sequential scan cheapest; forbid it to see whether the
        # planner can use the index at all, i.e. whether the query implies its predicate.
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "event_csat_comment" in plan, plan
