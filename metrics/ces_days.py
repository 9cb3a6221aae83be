"""CES day cells (`CesDay`): the CES survey facts summed per local day, offer or answer, side and
queue, so the dashboard's CES tile over a long range reads days, not facts (docs/surveys.md
"CES day cells").

Every count the tile shows is additive over facts (offers, answered offers, answers with a
score, easy answers, the score sum), and the period's bounds are local midnights, so a range of
day cells in the reporting zone sums to exactly what the facts of the range sum to. Kept like
the rollup cells: the recompute applies the difference between its tickets' old and new CES
facts (nothing is written for a ticket whose facts did not change), and `metrics.rollup.rebuild`
rebuilds every cell from the facts under the cells' lock. PostgreSQL only (the only database
with the rollup path).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection

from tickets.clock import KINDS  # the queue kinds (as metrics.dashboard.kpis.KINDS)

# (day, offer, side, queue) -> [rows, n, easy, total, answered]
Delta = dict[tuple[date, bool, str, int], list[int]]
EASY = 5  # a CES answer scoring 5 or more is "easy" (metrics.surveys.aggregate_ces)
_COLUMNS = ("rows", "n", "easy", "total", "answered")


def _side(side: str | None) -> str:
    """The side a fact adds to besides "all": its kind, else none ("")."""
    return side if side in KINDS else ""


def enabled() -> bool:
    return connection.vendor == "postgresql"


CesFact = tuple[datetime, bool, str | None, int | None, int | None, bool]  # at, offer, side, queue, score, answered


def ces_facts_load(ticket_ids: Sequence[int]) -> list[CesFact]:
    """The stored CES facts of these tickets (before the recompute replaces them): (at, offer,
    side, queue, score, answered)."""
    if not ticket_ids or not enabled():
        return []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT at, offer, side, queue_id, score, answered FROM metrics_surveyfact"
            " WHERE ticket_id = ANY(%s) AND survey = 'ces'",
            [list(ticket_ids)],
        )
        rows: list[CesFact] = cur.fetchall()
        return rows


def _add(delta: Delta, zone: ZoneInfo, sign: int, facts: Iterable[tuple[Any, ...]]) -> None:
    for at, offer, side, queue, score, answered in facts:
        cell = delta[(at.astimezone(zone).date(), bool(offer), _side(side), queue or 0)]
        cell[0] += sign
        if score is not None:
            cell[1] += sign
            cell[2] += sign if score >= EASY else 0
            cell[3] += sign * score
        cell[4] += sign if answered else 0


def ces_days_delta(old: Iterable[tuple[Any, ...]], new: Iterable[Any], zone: ZoneInfo) -> Delta:
    """What replacing `old` CES facts (tuples as `ces_facts_load`) by the `new` SurveyFact rows of
    the same tickets changes in the day cells (zero where nothing changed)."""
    delta: Delta = defaultdict(lambda: [0, 0, 0, 0, 0])
    _add(delta, zone, -1, old)
    _add(delta, zone, 1, ((f.at, f.offer, f.side, f.queue_id, f.score, f.answered) for f in new if f.survey == "ces"))
    return delta


_UPSERT = """
    INSERT INTO metrics_cesday (day, offer, side, queue_id, rows, n, easy, total, answered) VALUES %s
    ON CONFLICT (day, offer, side, queue_id) DO UPDATE SET
      rows = metrics_cesday.rows + EXCLUDED.rows, n = metrics_cesday.n + EXCLUDED.n,
      easy = metrics_cesday.easy + EXCLUDED.easy, total = metrics_cesday.total + EXCLUDED.total,
      answered = metrics_cesday.answered + EXCLUDED.answered
"""


def ces_days_apply(delta: Delta) -> int:
    """Upsert the non-zero cells of `delta`, sorted (concurrent recomputes lock in one order).
    Call after `rollup.apply_days` in the recompute transaction: a running rebuild holds the
    rollup cells' lock until it has rebuilt these cells too (`ces_days_rebuild`)."""
    rows = [(*key, *v) for key, v in sorted(delta.items()) if any(v)]
    if not rows or not enabled():
        return 0
    from psycopg2.extras import execute_values

    with connection.cursor() as cur:
        raw = cur.cursor if hasattr(cur, "cursor") else cur
        execute_values(raw, _UPSERT, rows, page_size=1000)
    return len(rows)


_REBUILD_SQL = f"""
    INSERT INTO metrics_cesday (day, offer, side, queue_id, rows, n, easy, total, answered)
    SELECT (f.at AT TIME ZONE %s)::date, f.offer,
           CASE WHEN f.side IN ({", ".join(f"'{k}'" for k in KINDS)}) THEN f.side ELSE '' END,
           COALESCE(f.queue_id, 0), count(*), count(f.score), count(*) FILTER (WHERE f.score >= {EASY}),
           COALESCE(sum(f.score), 0), count(*) FILTER (WHERE f.answered)
    FROM metrics_surveyfact f
    WHERE f.survey = 'ces' AND f.offer IN (true, false)
    GROUP BY 1, 2, 3, 4
"""  # noqa: S608 - fixed kinds


def ces_days_rebuild(cur: Any, zone: ZoneInfo) -> int:
    """Every CES day cell from the facts, in `zone` (inside the rollup rebuild, under its lock)."""
    cur.execute("LOCK TABLE metrics_cesday IN EXCLUSIVE MODE")
    cur.execute("DELETE FROM metrics_cesday")
    cur.execute(_REBUILD_SQL, [zone.key])
    return int(cur.rowcount)


_COLUMN_SUMS = ", ".join(
    f"COALESCE(sum(d.{col}) FILTER (WHERE d.day {op} %(cur_day)s), 0)::{'numeric' if col == 'total' else 'bigint'}"
    f" AS {period}_{col}"
    for period, op in (("cur", ">="), ("prev", "<"))
    for col in _COLUMNS
)
_READ_SQL = (
    f"SELECT d.offer, d.side, {_COLUMN_SUMS} FROM metrics_cesday d"  # noqa: S608 - fixed column names
    " WHERE d.day >= %(first)s AND d.day <= %(last)s {queue} GROUP BY 1, 2"
)


def ces_day_rows(first: date, cur_day: date, last: date, queue: int | None) -> tuple[str, dict[str, Any]]:
    """The statement summing the cells of the local days [first, last] per (offer, side), the days
    from `cur_day` on as the current period and the others as the previous one: the columns of
    `metrics.dashboard.surveys._CES_SQL` (rows, n, easy, total, answered per period)."""
    where = "" if queue is None else "AND d.queue_id = %(q)s"
    return _READ_SQL.format(queue=where), {"first": first, "cur_day": cur_day, "last": last, "q": queue}
