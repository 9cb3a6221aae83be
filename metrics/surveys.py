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
    queue_id: int | None = None  # the queue at the last resolution before the answer (as `side`)
    event_id: int | None = field(default=None, compare=False)  # log order among same-instant answers


@dataclass
class SurveyTicket:
    """What one ticket's events say about its surveys."""

    ticket_id: int
    excluded: bool = False
    requester_id: int | None = None
    # survey -> first offer (at, side, queue id)
    offers: dict[str, tuple[datetime, str, int | None]] = field(default_factory=dict)
    offer_ids: dict[str, int] = field(default_factory=dict, compare=False)  # survey -> first offer's event id
    latest: dict[str, Response] = field(default_factory=dict)  # survey -> latest answer
    nps: list[Response] = field(default_factory=list)  # every NPS answer (per customer later)
    # Surveys answered at some time (when `latest` holds only the window's answers).
    answered: set[str] = field(default_factory=set)


def ticket_surveys(ticket_id: int, events: Iterable[tuple[Any, ...]]) -> SurveyTicket:
    """Walk one ticket's events in log order (occurred_at, id).

    The side of an answer is the queue kind at the last resolution before
    it (docs/surveys.md, "CSAT/CES -> the queue at the last resolution before
    the rating"); before any resolution, the kind at the answer.
    """
    out = SurveyTicket(ticket_id=ticket_id)
    place: tuple[str, int | None] = ("", None)  # (queue kind, queue id) now
    at_resolution: tuple[str, int | None] | None = None  # ... at the last resolution
    restored_excluded = set()
    for _tid, event_id, k, at, actor_id, _role, _vis, _auto, data in events:
        data = data or {}
        attributed = at_resolution if at_resolution and at_resolution[0] else place
        if k == "ticket.created":
            place = (data.get("kind", place[0]), data.get("queue_id", place[1]))
            out.requester_id = data.get("requester_id")
        elif k == "group.changed":
            place = (data.get("to_kind", place[0]), data.get("to", place[1]))
        elif k == "status.changed" and is_resolution(data.get("from", ""), data.get("to", "")):
            at_resolution = place
        elif k in EXCLUDING:
            restored_excluded.add(k)
        elif k == "ticket.restored":
            restored_excluded.discard("ticket.marked_spam")
            restored_excluded.discard("ticket.deleted")
        elif k == "survey.offered":
            survey = data.get("survey", "csat")
            if survey not in out.offers:
                out.offers[survey] = (at, *attributed)
                out.offer_ids[survey] = event_id
        elif k in SURVEY_KINDS.values():
            survey = k.split(".")[0]
            response = Response(
                survey=survey,
                ticket_id=ticket_id,
                at=at,
                value=data.get("value"),
                scale=data.get("scale", ""),
                comment=data.get("comment", ""),
                side=attributed[0],
                customer_id=actor_id or out.requester_id,
                queue_id=attributed[1],
                event_id=event_id,
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
        return bool(response.value == "good")
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


SIDES = ("support", "service", "all")
TICKET_SURVEYS = ("csat", "ces")


@dataclass
class SurveyTally:
    """Per side and ticket survey (CSAT, CES): counted answers, offers and answered offers."""

    rows: dict[str, dict[str, list[Response]]] = field(
        default_factory=lambda: {s: {"csat": [], "ces": []} for s in SIDES}
    )
    offered: dict[str, dict[str, int]] = field(default_factory=lambda: {s: {"csat": 0, "ces": 0} for s in SIDES})
    responded: dict[str, dict[str, int]] = field(default_factory=lambda: {s: {"csat": 0, "ces": 0} for s in SIDES})

    def add(self, t: SurveyTicket, survey: str, window: Window, queue_id: int | None = None) -> None:
        """Count one ticket's answer and offer (with `queue_id`: only if attributed to that queue)."""
        r = t.latest.get(survey)
        if r is not None and r.at in window and queue_id in (None, r.queue_id):
            for side in (r.side, "all"):
                if side in self.rows:
                    self.rows[side][survey].append(r)
        offer = t.offers.get(survey)
        if offer is not None and offer[0] in window and queue_id in (None, offer[2]):
            for side in (offer[1], "all"):
                if side in self.offered:
                    self.offered[side][survey] += 1
                    self.responded[side][survey] += 1 if r is not None or survey in t.answered else 0


def nps_latest_per_customer(
    tickets: Iterable[SurveyTicket], window: Window, side: str = "all", queue_id: int | None = None
) -> dict[int | None, Response]:
    """M16: a customer's latest NPS answer in the window replaces earlier ones (with `side`:
    among the answers given on tickets of that side, docs/architecture-kpis.md)."""
    latest: dict[int | None, Response] = {}
    for t in tickets:
        for r in t.nps:
            if r.at not in window or side not in ("all", r.side) or queue_id not in (None, r.queue_id):
                continue
            key = r.customer_id
            if key not in latest or (r.at, r.ticket_id) >= (latest[key].at, latest[key].ticket_id):
                latest[key] = r
    return latest


def relationship_responses(events: Iterable[tuple[Any, ...]]) -> list[Response]:
    """NPS answers of the relationship survey (ticketless `nps.responded`
    event tuples, METRICS_EVENT_FIELDS order): the customer is the actor."""
    out = []
    for _tid, event_id, _k, at, actor_id, _role, _vis, _auto, data in events:
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
                event_id=event_id,
            )
        )
    return out


def _order(r: Response) -> tuple[datetime, int]:
    return (r.at, r.ticket_id or 0)


def nps_keep_latest(latest: dict[int | None, Response], responses: Iterable[Response], window: Window) -> None:
    """M16: a customer's latest answer in the window replaces earlier ones,
    whether it came with a ticket or from the relationship survey."""
    for r in responses:
        if r.at in window:
            key = r.customer_id
            if key not in latest or _order(r) >= _order(latest[key]):
                latest[key] = r


def _newest_first(responses: Iterable[Response]) -> list[Response]:
    return sorted(responses, key=_order, reverse=True)


def survey_report(
    tickets: Iterable[SurveyTicket], window: Window, relationship: Iterable[Response] = ()
) -> dict[str, Any]:
    """CSAT and CES per side (support, service, all) and NPS, for answers
    whose latest-response instant is in the window (response rate: offers
    in the window, answered as of now). NPS: a customer's latest answer in
    the window replaces earlier ones (M16)."""
    counted = [t for t in tickets if not t.excluded]
    tally = SurveyTally()
    for t in counted:
        for survey in TICKET_SURVEYS:
            tally.add(t, survey, window)
    nps_latest = nps_latest_per_customer(counted, window)
    nps_keep_latest(nps_latest, relationship, window)

    def per_side(survey: str, aggregate: Any) -> dict[str, Any]:
        return {
            s: aggregate(tally.rows[s][survey], tally.offered[s][survey], tally.responded[s][survey]) for s in SIDES
        }

    return {
        "csat": per_side("csat", aggregate_csat),
        "ces": per_side("ces", aggregate_ces),
        "nps": aggregate_nps(list(nps_latest.values())),
        "responses": {
            "csat": _newest_first(tally.rows["all"]["csat"]),
            "ces": _newest_first(tally.rows["all"]["ces"]),
            "nps": _newest_first(nps_latest.values()),
        },
    }


def _kind(value: str | None) -> Any:
    """A place's kind as the walk holds it: "" before any, None for a null value (typed
    like the walk's `data.get`)."""
    from tickets.selectors import NULL_KIND

    return "" if value is None else (None if value == NULL_KIND else value)


def survey_tickets_load(*, window: Window, surveys: Iterable[str] = ("csat", "ces", "nps")) -> list[SurveyTicket]:
    """The non-excluded tickets with a survey event in the window, as far as the
    window's KPIs need them: first offers in the window (with `answered`), latest
    CSAT/CES answers in the window, NPS answers in the window.

    One query over the survey events in the window (the (kind, occurred_at)
    index); their attribution is read in SQL by index probes, so the cost does not
    grow with the tickets' other events (issue 22, docs/surveys.md "Reading the
    survey KPIs"). Equal, on the window, to walking each ticket's whole history
    with `ticket_surveys` (tests/metrics/test_survey_load.py).
    """
    from tickets import selectors

    wanted = set(surveys)
    out: dict[int, SurveyTicket] = {}
    for row in selectors.survey_events_for_metrics(start=window.start, end=window.end, surveys=wanted):
        tid, event_id, k, at, actor_id, data, survey, answered, requester_id = row[:9]
        kind_now, queue_now, kind_res, queue_res = row[9:]
        data = data or {}
        t = out.setdefault(tid, SurveyTicket(ticket_id=tid))
        t.requester_id = requester_id
        # The walk's rule: the place at the last resolution if its kind is set, else the place now.
        kind_res, kind_now = (_kind(k) for k in (kind_res, kind_now))
        side, queue_id = (kind_res, queue_res) if kind_res else (kind_now, queue_now)
        if k == "survey.offered":
            if survey in wanted:
                t.offers[survey] = (at, side, queue_id)
                t.offer_ids[survey] = event_id
                if answered:
                    t.answered.add(survey)
            continue
        name = k.split(".")[0]
        response = Response(
            survey=name,
            ticket_id=tid,
            at=at,
            value=data.get("value"),
            scale=data.get("scale", ""),
            comment=data.get("comment", ""),
            side=side,
            customer_id=actor_id or requester_id,
            queue_id=queue_id,
            event_id=event_id,
        )
        if name == "nps":
            t.nps.append(response)
        else:
            t.latest[name] = response
    return list(out.values())


def relationship_nps_load(*, window: Window) -> list[Response]:
    """The relationship survey's NPS answers in the window (ticketless
    events, docs/surveys.md "Where NPS events live")."""
    from tickets import selectors

    return relationship_responses(selectors.relationship_nps_events(start=window.start, end=window.end))


def survey_report_load(*, window: Window) -> dict[str, Any]:
    """Read the tickets with a survey event in the window and report
    (NPS: answers given on tickets and to the relationship survey)."""
    return survey_report(survey_tickets_load(window=window), window, relationship_nps_load(window=window))
