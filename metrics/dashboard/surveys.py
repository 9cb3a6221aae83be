"""Survey KPIs on the dashboard: CES (M15) and NPS (M16) from the event log (docs/metrics.md, docs/surveys.md).

Computed exactly on every path (also when the other tiles come from rollup cells) from
the survey events in the window only (`metrics.surveys.survey_tickets_load`, one query
whose cost does not grow with the surveyed tickets' other events; docs/surveys.md). The
survey events carry no queue, agent, priority or channel, so the tiles are computed
only without those filters; the queue filter applies to the queue at the last resolution
before the answer (docs/architecture-kpis.md).
"""

from __future__ import annotations

from typing import Any

from metrics.dashboard.kpis import PERIODS, SIDES, Kpi, kpis_of
from metrics.dashboard.period import Scope
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
    survey_tickets_load,
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


def survey_tiles(scope: Scope) -> dict[str, dict[str, dict[str, Any]]]:
    """kpi -> side -> period -> value for the survey KPIs of the registry ({} when filtered)."""
    if not survey_filterable(scope):
        return {}
    windows = _windows(scope)
    loaded = survey_tickets_load(window=Window(windows["prev"].start, windows["cur"].end), surveys=TILE_SURVEYS)
    tickets = [t for t in loaded if not t.excluded]
    relationship = relationship_nps_load(window=Window(windows["prev"].start, windows["cur"].end))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kpi in kpis_of("survey"):
        per_period = {p: _side_values(kpi, tickets, windows[p], _queue(scope), relationship) for p in PERIODS}
        out[kpi.key] = {side: {p: per_period[p][side] for p in PERIODS} for side in SIDES}
    return out


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
    tickets = [t for t in survey_tickets_load(window=window, surveys=TILE_SURVEYS) if not t.excluded]
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
