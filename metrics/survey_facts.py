"""Survey facts: the offers and answers the survey KPIs count, stored per ticket (docs/surveys.md
"Survey facts").

Written by the metrics engine with the ticket's TicketMetrics row (`tickets_recompute`, the bulk
rebuild) from the same walk as the event-log reader (`metrics.surveys.ticket_surveys`), so a window's
figures are an aggregate over one index range of `metrics_surveyfact` (metrics.dashboard.surveys)
and equal to walking whole histories (tests/metrics/test_survey_load.py). The event log stays the
source of truth: `metrics_rebuild` rewrites every fact.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from metrics.models import SurveyFact
from metrics.surveys import (
    SURVEY_KINDS,
    TICKET_SURVEYS,
    Response,
    SurveyTicket,
    Window,
    csat_satisfied,
    ticket_surveys,
)
from tickets.clock import Ev

SURVEY_EVENT_KINDS = frozenset({"survey.offered", *SURVEY_KINDS.values()})
COPY_COLUMNS = (
    "ticket_id",
    "event_id",
    "survey",
    "offer",
    "at",
    "side",
    "queue_id",
    "customer_id",
    "score",
    "satisfied",
    "answered",
)
LOAD_COLUMNS = ("ticket_id", "event_id", "survey", "offer", "at", "side", "queue_id", "customer_id", "answered")
_BIGINT = (-(2**63), 2**63 - 1)


def _int_or_none(value: Any) -> int | None:
    """An id as stored (a bigint column): anything else reads as none."""
    if isinstance(value, int) and not isinstance(value, bool) and _BIGINT[0] <= value <= _BIGINT[1]:
        return value
    return None


def _score(value: Any) -> int | None:
    """What the aggregates count: an integer answer (`isinstance(value, int)` as in aggregate_*),
    clamped to the column (a real answer is 0-10)."""
    if not isinstance(value, int):
        return None
    return min(max(int(value), _BIGINT[0]), _BIGINT[1])


FactValues = tuple[Any, ...]  # one fact's values in COPY_COLUMNS order


def _answer(tid: int, r: Response) -> FactValues:
    return (
        tid,
        r.event_id or 0,  # always set by the walk
        r.survey,
        False,
        r.at,
        r.side if r.side is None else str(r.side),
        _int_or_none(r.queue_id),
        _int_or_none(r.customer_id),
        _score(r.value),
        csat_satisfied(r) if r.survey == "csat" else None,
        False,
    )


def survey_fact_values(tid: int, evs: Sequence[Ev]) -> list[FactValues]:
    """The facts of one ticket from all its events (any order), as value tuples in COPY_COLUMNS
    order (the bulk rebuild COPYs them without building model instances): none if it has no survey
    event or is excluded."""
    if not any(e.kind in SURVEY_EVENT_KINDS for e in evs):
        return []
    ordered = sorted(evs, key=lambda e: (e.occurred_at, e.id))
    rows = ((tid, e.id, e.kind, e.occurred_at, e.actor_id, e.actor_role, e.visibility, e.is_automated, e.data)
            for e in ordered)  # fmt: skip
    t = ticket_surveys(tid, rows)
    if t.excluded:
        return []
    out: list[FactValues] = []
    for survey in TICKET_SURVEYS:
        offer = t.offers.get(survey)
        if offer is not None:
            at, side, queue_id = offer
            side = side if side is None else str(side)
            out.append((tid, t.offer_ids[survey], survey, True, at, side, _int_or_none(queue_id), None, None, None,
                        survey in t.latest))  # fmt: skip
        if survey in t.latest:
            out.append(_answer(tid, t.latest[survey]))
    out.extend(_answer(tid, r) for r in t.nps)
    return out


def survey_facts_of(tid: int, evs: Sequence[Ev]) -> list[SurveyFact]:
    """`survey_fact_values` as (unsaved) model instances, for the per-ticket write path."""
    return [SurveyFact(**dict(zip(COPY_COLUMNS, values, strict=True))) for values in survey_fact_values(tid, evs)]


def survey_facts_load(*, window: Window, surveys: Iterable[str] = ("csat", "ces", "nps")) -> list[SurveyTicket]:
    """The tickets with a fact in the window, as `metrics.surveys.survey_tickets_load` gives them
    (first offers in the window with `answered`, latest CSAT/CES answers and NPS answers in the
    window): one index range of `sf_survey_at`, no event read."""
    wanted = sorted(set(surveys))
    rows = (
        SurveyFact.objects.filter(survey__in=wanted, offer__in=[True, False], at__gte=window.start, at__lt=window.end)
        .order_by("ticket_id", "at", "event_id")
        .values_list(*LOAD_COLUMNS)
    )
    out: dict[int, SurveyTicket] = {}
    for tid, event_id, survey, offer, at, side, queue_id, customer_id, answered in rows:
        t = out.setdefault(tid, SurveyTicket(ticket_id=tid))
        if offer:
            t.offers[survey] = (at, side, queue_id)
            t.offer_ids[survey] = event_id
            if answered:
                t.answered.add(survey)
            continue
        r = Response(
            survey=survey,
            ticket_id=tid,
            at=at,
            value=None,  # from the event, below
            scale="",
            comment="",
            side=side,
            customer_id=customer_id,
            queue_id=queue_id,
            event_id=event_id,
        )
        if survey == "nps":
            t.nps.append(r)
        else:
            t.latest[survey] = r
    _as_given(t for t in out.values())
    return list(out.values())


def _as_given(tickets: Iterable[SurveyTicket], chunk: int = 2000) -> None:
    """Fill the answers' value, scale and comment from their events (the facts keep none: an erasure
    redacts the comment in the event, docs/privacy.md). By primary key, in chunks."""
    from tickets.models import TicketEvent

    answers = {r.event_id or 0: r for t in tickets for r in [*t.latest.values(), *t.nps]}
    ids = list(answers)
    for i in range(0, len(ids), chunk):
        for pk, data in TicketEvent.objects.filter(pk__in=ids[i : i + chunk]).values_list("pk", "data"):
            data = data or {}
            r = answers[pk]
            r.value, r.scale, r.comment = data.get("value"), data.get("scale", ""), data.get("comment", "")
