"""Survey KPIs on the dashboard: CES (M15) and NPS (M16) from the survey facts (docs/metrics.md, docs/surveys.md).

Computed exactly on every path (also when the other tiles come from rollup cells) from the survey
facts the metrics engine stores per ticket (`metrics.survey_facts`, docs/surveys.md "Survey facts"):
on PostgreSQL two aggregates over one index range of `metrics_surveyfact` each (CES: GROUP BY
period, side; NPS: DISTINCT ON customer, then GROUP BY), elsewhere the facts read back and counted in
Python (`metrics.surveys`). The survey events carry no agent, priority or channel, so the tiles are
computed only without those filters; the queue filter applies to the queue at the last resolution
before the answer (docs/architecture-kpis.md). Relationship NPS answers (no ticket) are read from
the event log: they count in "all" only and not under a queue filter.
"""

from __future__ import annotations

from typing import Any

from helpdesk.lib.db_router import read_connection
from metrics.ces_days import ces_day_rows
from metrics.dashboard.db import _use_sql
from metrics.dashboard.kpis import PERIODS, SIDES, Kpi, kpis_of
from metrics.dashboard.period import Scope
from metrics.survey_facts import survey_facts_load
from metrics.surveys import (
    TICKET_SURVEYS,
    Response,
    SurveyTally,
    SurveyTicket,
    Window,
    aggregate_ces,
    aggregate_nps,
    nps_keep_latest,
    nps_latest_per_customer,
    relationship_nps_load,
)

SURVEY_DRILL_COLUMNS = ("ticket_id", "kind", "queue_id", "agent_id", "instant", "value", "category", "customer_id",
                        "comment")  # fmt: skip
# Filters the survey events cannot honour (they carry none of these).
UNFILTERABLE = ("agent_id", "priority", "channel")
# The surveys these tiles read (CSAT is a rollup tile): the loader skips the others' events.
TILE_SURVEYS = ("ces", "nps")


def survey_filterable(scope: Scope) -> bool:
    return all(getattr(scope, k) in (None, "") for k in UNFILTERABLE)


def _windows(scope: Scope) -> dict[str, Window]:
    prev = scope.period.previous
    return {
        "cur": Window(scope.period.start, scope.period.end),
        "prev": Window(prev.start, prev.end),
    }


def _queue(scope: Scope) -> int | None:
    return None if scope.queue_id is None else int(scope.queue_id)


def _tally(tickets: list[SurveyTicket], window: Window, queue_id: int | None) -> SurveyTally:
    tally = SurveyTally()
    for t in tickets:
        for survey in TICKET_SURVEYS:
            tally.add(t, survey, window, queue_id)
    return tally


def _nps_latest(
    tickets: list[SurveyTicket], window: Window, side: str, queue: int | None, relationship: list[Response]
) -> dict[int | None, Response]:
    """M16 per customer: answers on tickets of the side (and queue); the
    relationship survey's answers have neither, so they count in "all" only
    and not under a queue filter (docs/surveys.md)."""
    latest = nps_latest_per_customer(tickets, window, side, queue)
    if side == "all" and queue is None:
        nps_keep_latest(latest, relationship, window)
    return latest


def _side_values(
    kpi: Kpi, tickets: list[SurveyTicket], window: Window, queue: int | None, relationship: list[Response]
) -> dict[str, Any]:
    if kpi.key == "nps":
        return {s: aggregate_nps(list(_nps_latest(tickets, window, s, queue, relationship).values())) for s in SIDES}
    tally = _tally(tickets, window, queue)
    return {s: aggregate_ces(tally.rows[s]["ces"], tally.offered[s]["ces"], tally.responded[s]["ces"]) for s in SIDES}


def survey_tiles(scope: Scope, *, ces_days: bool = False) -> dict[str, dict[str, dict[str, Any]]]:
    """kpi -> side -> period -> value for the survey KPIs of the registry ({} when filtered).

    `ces_days` (the rollup path, whose cells are in the reporting zone): CES from the day cells
    (`metrics.ces_days`: O(days), the same numbers), NPS from the facts either way."""
    if not survey_filterable(scope):
        return {}
    windows = _windows(scope)
    if _use_sql():
        return _survey_tiles_sql(windows, _queue(scope), scope if ces_days else None)
    both = Window(windows["prev"].start, windows["cur"].end)
    tickets = survey_facts_load(window=both, surveys=TILE_SURVEYS)
    relationship = relationship_nps_load(window=both)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kpi in kpis_of("survey"):
        per_period = {p: _side_values(kpi, tickets, windows[p], _queue(scope), relationship) for p in PERIODS}
        out[kpi.key] = {side: {p: per_period[p][side] for p in PERIODS} for side in SIDES}
    return out


# CES per (offer, side) and period: answers (counted if an integer, easy if >= 5, summed for the mean)
# and first offers (answered at some time); the side is folded into support / service / all below.
# One index range of sf_survey_at; the periods are FILTERs, so the few groups hash.
_CES_MEASURES = {"rows": "true", "n": "f.score IS NOT NULL", "easy": "f.score >= 5", "answered": "f.answered"}
_CES_COLUMNS = ", ".join(
    [
        f"count(*) FILTER (WHERE f.at {op} %(cur)s AND {cond}) AS {period}_{name}"
        for period, op in (("cur", ">="), ("prev", "<"))
        for name, cond in _CES_MEASURES.items()
    ]
    + [f"sum(f.score) FILTER (WHERE f.at {op} %(cur)s) AS {p}_total" for p, op in (("cur", ">="), ("prev", "<"))]
)
_CES_SQL = (
    f"SELECT f.offer, f.side, {_CES_COLUMNS} FROM metrics_surveyfact f"  # noqa: S608 - fixed column names
    " WHERE f.survey = 'ces' AND f.offer IN (true, false) AND f.at >= %(start)s AND f.at < %(end)s {queue}"
    " GROUP BY 1, 2"
)

# NPS per (period, side): each customer's latest answer in the period (M16), among the answers on
# tickets of the side, or among all answers and the relationship survey's for "all"; ties in time
# go to the higher ticket id, then to the later event (the order of metrics.surveys.nps_keep_latest).
# Periods and sides are small integers (p: 0 cur, 1 prev; s: 0 all, 1 support, 2 service): the sort
# compares no text.
_NPS_SQL = """
    WITH a AS (
      SELECT CASE WHEN f.at >= %(cur)s THEN 0 ELSE 1 END AS p,
             CASE f.side WHEN 'support' THEN 1 WHEN 'service' THEN 2 END AS side,
             f.customer_id AS c, f.at, f.ticket_id AS t, f.event_id AS e, f.score
      FROM metrics_surveyfact f
      WHERE f.survey = 'nps' AND NOT f.offer AND f.at >= %(start)s AND f.at < %(end)s {queue}
      {relationship}
    ), latest AS (
      SELECT DISTINCT ON (a.p, g.s, a.c) a.p, g.s, a.score
      FROM a CROSS JOIN LATERAL (VALUES (0), (a.side)) AS g(s)
      WHERE g.s IS NOT NULL
      ORDER BY a.p, g.s, a.c, a.at DESC, COALESCE(a.t, 0) DESC, a.e DESC
    )
    SELECT p, s, count(score) AS n, count(*) FILTER (WHERE score >= 9) AS promoters,
           count(*) FILTER (WHERE score <= 6) AS detractors
    FROM latest GROUP BY 1, 2
"""

# The relationship survey's answers (ticketless nps.responded events): the customer is the actor
# (else data.customer_id), counted if the value is an integer (as `isinstance(value, int)`).
_RELATIONSHIP_SQL = """
      UNION ALL
      SELECT CASE WHEN e.occurred_at >= %(cur)s THEN 0 ELSE 1 END, NULL, COALESCE(e.actor_id,
               CASE WHEN jsonb_typeof(e.data->'customer_id') = 'number'
                    AND e.data->>'customer_id' ~ '^-?[0-9]{1,18}$' THEN (e.data->>'customer_id')::bigint END),
             e.occurred_at, NULL, e.id,
             CASE jsonb_typeof(e.data->'value')
               WHEN 'number' THEN CASE WHEN e.data->>'value' ~ '^-?[0-9]{1,18}$' THEN (e.data->>'value')::bigint END
               WHEN 'boolean' THEN (e.data->>'value')::boolean::int END
      FROM (
        -- The window's ticketless events on event_ticket_occurred (ticket_id IS NULL): OFFSET 0 keeps
        -- the kind test outside, else the planner takes event_kind_time and reads every ticket's
        -- NPS answer from the heap to drop it.
        SELECT * FROM tickets_ticketevent
        WHERE ticket_id IS NULL AND occurred_at >= %(start)s AND occurred_at < %(end)s OFFSET 0
      ) e
      WHERE e.kind = 'nps.responded'
"""
_PERIOD_OF = {0: "cur", 1: "prev"}
_SIDE_OF = {0: "all", 1: "support", 2: "service"}


def _rows(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with read_connection().cursor() as cur:
        cur.execute(sql, params)
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _ces_statement(params: dict[str, Any], where: str, days: Scope | None) -> tuple[str, dict[str, Any]]:
    """The CES statement: over the facts of both periods, or over the day cells of `days`' periods."""
    if days is None:
        return _CES_SQL.format(queue=where), params
    period = days.period
    return ces_day_rows(period.previous.first, period.first, period.last, params["q"])


def _survey_tiles_sql(
    windows: dict[str, Window], queue: int | None, days: Scope | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    params = {"start": windows["prev"].start, "cur": windows["cur"].start, "end": windows["cur"].end, "q": queue}
    where = "" if queue is None else "AND f.queue_id = %(q)s"
    ces = {(p, s): {"n": 0, "easy": 0, "total": 0, "offered": 0, "responded": 0} for p in PERIODS for s in SIDES}
    for row in _rows(*_ces_statement(params, where, days)):
        for side in {row["side"], "all"} & set(SIDES):
            for p in PERIODS:
                cell = ces[(p, side)]
                if row["offer"]:
                    cell["offered"] += row[f"{p}_rows"]
                    cell["responded"] += row[f"{p}_answered"]
                else:
                    cell["n"] += row[f"{p}_n"]
                    cell["easy"] += row[f"{p}_easy"]
                    cell["total"] += int(row[f"{p}_total"] or 0)
    relationship = _RELATIONSHIP_SQL if queue is None else ""
    nps_sql = _NPS_SQL.format(queue=where, relationship=relationship)
    nps = {(_PERIOD_OF[r["p"]], _SIDE_OF[r["s"]]): r for r in _rows(nps_sql, params)}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kpi in kpis_of("survey"):
        if kpi.key == "ces":
            out["ces"] = {s: {p: _ces_value(ces[(p, s)]) for p in PERIODS} for s in SIDES}
        elif kpi.key == "nps":
            out["nps"] = {s: {p: _nps_value(nps.get((p, s))) for p in PERIODS} for s in SIDES}
    return out


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 2) if den else None


def _ces_value(c: dict[str, int]) -> dict[str, Any]:
    """`metrics.surveys.aggregate_ces` from the counts (same rounding: the sum of integers is exact)."""
    n = c["n"]
    return {
        "n": n,
        "easy": c["easy"],
        "easy_pct": _pct(c["easy"], n),
        "mean_score": round(c["total"] / n, 4) if n else None,
        "offered": c["offered"],
        "responded": c["responded"],
        "response_rate_pct": _pct(c["responded"], c["offered"]),
    }


def _nps_value(row: dict[str, Any] | None) -> dict[str, Any]:
    """`metrics.surveys.aggregate_nps` from the counts."""
    n, promoters, detractors = (row["n"], row["promoters"], row["detractors"]) if row else (0, 0, 0)
    return {
        "n": n,
        "promoters": promoters,
        "passives": n - promoters - detractors,
        "detractors": detractors,
        "nps": round(100.0 * (promoters - detractors) / n, 2) if n else None,
    }


def _category(kpi: Kpi, r: Response) -> str:
    v = r.value if isinstance(r.value, int) else None
    if v is None:
        return ""
    if kpi.key == "ces":
        return "easy" if v >= 5 else "not easy"
    return "promoter" if v >= 9 else ("detractor" if v <= 6 else "passive")


def _counted(
    kpi: Kpi, tickets: list[SurveyTicket], side: str, window: Window, queue: int | None, relationship: list[Response]
) -> list[Response]:
    if kpi.key == "nps":
        return list(_nps_latest(tickets, window, side, queue, relationship).values())
    return _tally(tickets, window, queue).rows[side if side in SIDES else "all"]["ces"]


def survey_drill_rows(kpi: Kpi, *, scope: Scope, side: str, start: Any, end: Any) -> list[dict[str, Any]]:
    """The answers counted in one survey tile (the latest per ticket / per customer), by ticket."""
    if not survey_filterable(scope):
        return []
    window = Window(start, end)
    tickets = survey_facts_load(window=window, surveys=TILE_SURVEYS)
    relationship = relationship_nps_load(window=window) if kpi.key == "nps" else []
    rows = [
        {
            "ticket_id": r.ticket_id,
            "kind": r.side,
            "queue_id": r.queue_id,
            "agent_id": None,
            "instant": r.at,
            "value": r.value,
            "category": _category(kpi, r),
            "customer_id": r.customer_id,
            "comment": r.comment,
        }
        for r in _counted(kpi, tickets, side, window, _queue(scope), relationship)
    ]
    # Relationship-survey answers have no ticket: listed first.
    rows.sort(key=lambda r: (r["ticket_id"] or 0, r["instant"]))
    return rows
