"""Survey KPIs from the event log (docs/surveys.md: M10 CSAT, M15 CES, M16 NPS).

Pure over event tuples (tickets.selectors.METRICS_EVENT_FIELDS) plus one
reader. Definitions, cohorts and the worked values are in docs/surveys.md.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tickets.workflow import is_resolution

SURVEY_KINDS = {"csat": "csat.responded", "ces": "ces.responded", "nps": "nps.responded"}
EXCLUDING = frozenset({"ticket.marked_spam", "ticket.deleted", "ticket.merged_into"})


@dataclass
class Response:
    """The latest answer of one ticket (CSAT/CES) or one customer (NPS)."""

    survey: str
    ticket_id: int | None  # None: a relationship NPS answer (no ticket)
    at: datetime
    value: Any
    scale: str
    comment: str
    side: str  # support / service: the queue kind at the last resolution before the answer
    customer_id: int | None
    organisation_id: int | None = None


@dataclass
class SurveyTicket:
    """What one ticket's events say about its surveys."""

    ticket_id: int
    excluded: bool = False
    requester_id: int | None = None
    offers: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # survey -> first offer (at, side)
    latest: dict[str, Response] = field(default_factory=dict)  # survey -> latest answer
    nps: list[Response] = field(default_factory=list)  # every NPS answer (per customer later)


def ticket_surveys(ticket_id: int, events: Iterable[tuple[Any, ...]]) -> SurveyTicket:
    """Walk one ticket's events in log order (occurred_at, id).

    The side of an answer is the queue kind at the last resolution before
    it (docs/surveys.md, "CSAT/CES -> the queue at the last resolution before
    the rating"); before any resolution, the kind at the answer.
    """
    out = SurveyTicket(ticket_id=ticket_id)
    kind = ""
    kind_at_resolution: str | None = None
    restored_excluded = set()
    for _tid, _id, k, at, actor_id, _role, _vis, _auto, data in events:
        data = data or {}
        if k == "ticket.created":
            kind = data.get("kind", kind)
            out.requester_id = data.get("requester_id")
        elif k == "group.changed":
            kind = data.get("to_kind", kind)
        elif k == "status.changed" and is_resolution(data.get("from", ""), data.get("to", "")):
            kind_at_resolution = kind
        elif k in EXCLUDING:
            restored_excluded.add(k)
        elif k == "ticket.restored":
            restored_excluded.discard("ticket.marked_spam")
            restored_excluded.discard("ticket.deleted")
        elif k == "survey.offered":
            survey = data.get("survey", "csat")
            out.offers.setdefault(survey, (at, kind_at_resolution or kind))
        elif k in SURVEY_KINDS.values():
            survey = k.split(".")[0]
            response = Response(
                survey=survey,
                ticket_id=ticket_id,
                at=at,
                value=data.get("value"),
                scale=data.get("scale", ""),
                comment=data.get("comment", ""),
                side=kind_at_resolution or kind,
                customer_id=actor_id or out.requester_id,
            )
            if survey == "nps":
                out.nps.append(response)
            else:
                out.latest[survey] = response  # later events replace earlier ones
    out.excluded = bool(restored_excluded)
    return out


def csat_satisfied(response: Response) -> bool:
    """M10 (docs/surveys.md): 4-5 on the 1-5 scale, or good."""
    if response.scale == "good_bad":
        return response.value == "good"
    return isinstance(response.value, int) and response.value >= 4


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 2) if den else None


def aggregate_csat(responses: list[Response], offered: int, responded: int) -> dict[str, Any]:
    scores = [r.value for r in responses if r.scale == "1-5" and isinstance(r.value, int)]
    satisfied = sum(1 for r in responses if csat_satisfied(r))
    return {
        "n": len(responses),
        "satisfied": satisfied,
        "csat_pct": _pct(satisfied, len(responses)),
        "mean_score": round(sum(scores) / len(scores), 4) if scores else None,
        "offered": offered,
        "responded": responded,
        "response_rate_pct": _pct(responded, offered),
    }


def aggregate_ces(responses: list[Response], offered: int, responded: int) -> dict[str, Any]:
    """M15 (docs/surveys.md): mean score and % easy (>= 5 on 1-7), n, response rate."""
    values = [r.value for r in responses if isinstance(r.value, int)]
    easy = sum(1 for v in values if v >= 5)
    return {
        "n": len(values),
        "easy": easy,
        "easy_pct": _pct(easy, len(values)),
        "mean_score": round(sum(values) / len(values), 4) if values else None,
        "offered": offered,
        "responded": responded,
        "response_rate_pct": _pct(responded, offered),
    }


def aggregate_nps(responses: list[Response]) -> dict[str, Any]:
    """M16 (docs/surveys.md): % promoters (9-10) - % detractors (0-6), with n."""
    values = [r.value for r in responses if isinstance(r.value, int)]
    promoters = sum(1 for v in values if v >= 9)
    detractors = sum(1 for v in values if v <= 6)
    n = len(values)
    return {
        "n": n,
        "promoters": promoters,
        "passives": n - promoters - detractors,
        "detractors": detractors,
        "nps": round(100.0 * (promoters - detractors) / n, 2) if n else None,
    }


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime  # half-open [start, end)

    @classmethod
    def of_dates(cls, first: date, last: date, zone: ZoneInfo) -> "Window":
        """Local days first..last (inclusive) in the reporting zone."""
        start = datetime.combine(first, time(0), tzinfo=zone)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
        return cls(start=start, end=end)

    def __contains__(self, at: datetime) -> bool:
        return self.start <= at < self.end


def relationship_responses(events: Iterable[tuple[Any, ...]]) -> list[Response]:
    """NPS answers of the relationship survey (ticketless `nps.responded`
    event tuples, METRICS_EVENT_FIELDS order): the customer is the actor."""
    out = []
    for _tid, _id, _k, at, actor_id, _role, _vis, _auto, data in events:
        data = data or {}
        out.append(
            Response(
                survey="nps",
                ticket_id=None,
                at=at,
                value=data.get("value"),
                scale=data.get("scale", "0-10"),
                comment=data.get("comment", ""),
                side="",
                customer_id=actor_id or data.get("customer_id"),
                organisation_id=data.get("organisation_id"),
            )
        )
    return out


def _order(r: Response) -> tuple[datetime, int]:
    return (r.at, r.ticket_id or 0)


def survey_report(
    tickets: Iterable[SurveyTicket], window: Window, relationship: Iterable[Response] = ()
) -> dict[str, Any]:
    """CSAT and CES per side (support, service, all) and NPS, for answers
    whose latest-response instant is in the window (response rate: offers
    in the window, answered as of now). NPS: a customer's latest answer in
    the window replaces earlier ones (M16)."""
    sides = ("support", "service", "all")
    rows: dict[str, dict[str, list[Response]]] = {s: {"csat": [], "ces": []} for s in sides}
    offered = {s: {"csat": 0, "ces": 0} for s in sides}
    responded = {s: {"csat": 0, "ces": 0} for s in sides}
    nps_latest: dict[int | None, Response] = {}
    for t in tickets:
        if t.excluded:
            continue
        for survey in ("csat", "ces"):
            r = t.latest.get(survey)
            if r is not None and r.at in window:
                for side in (r.side, "all"):
                    if side in rows:
                        rows[side][survey].append(r)
            offer = t.offers.get(survey)
            if offer is not None and offer[0] in window:
                for side in (offer[1], "all"):
                    if side in offered:
                        offered[side][survey] += 1
                        responded[side][survey] += 1 if r is not None else 0
        _nps_keep(nps_latest, t.nps, window)
    _nps_keep(nps_latest, relationship, window)
    return {
        "csat": {s: aggregate_csat(rows[s]["csat"], offered[s]["csat"], responded[s]["csat"]) for s in sides},
        "ces": {s: aggregate_ces(rows[s]["ces"], offered[s]["ces"], responded[s]["ces"]) for s in sides},
        "nps": aggregate_nps(list(nps_latest.values())),
        "responses": {
            "csat": sorted(rows["all"]["csat"], key=lambda r: (r.at, r.ticket_id), reverse=True),
            "ces": sorted(rows["all"]["ces"], key=lambda r: (r.at, r.ticket_id), reverse=True),
            "nps": sorted(nps_latest.values(), key=_order, reverse=True),
        },
    }


def _nps_keep(latest: dict[int | None, Response], responses: Iterable[Response], window: Window) -> None:
    """M16: a customer's latest answer in the window replaces earlier ones,
    whether it came with a ticket or from the relationship survey."""
    for r in responses:
        if r.at in window:
            key = r.customer_id
            if key not in latest or _order(r) >= _order(latest[key]):
                latest[key] = r


def survey_report_load(*, window: Window) -> dict[str, Any]:
    """Read the tickets with a survey event in the window and report."""
    from itertools import groupby

    from tickets import selectors

    ids = selectors.ticket_ids_with_survey_events(start=window.start, end=window.end)
    tickets = [
        ticket_surveys(tid, list(evs))
        for tid, evs in groupby(selectors.ticket_events_for_metrics(ticket_ids=ids), key=lambda e: e[0])
    ]
    relationship = relationship_responses(selectors.relationship_nps_events(start=window.start, end=window.end))
    return survey_report(tickets, window, relationship)
