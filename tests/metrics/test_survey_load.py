"""The survey KPIs' loader (issue 22, docs/surveys.md "Reading the survey KPIs").

`metrics.surveys.survey_tickets_load` reads only the survey events in the window, with their
attribution (queue at the last resolution before the event) and the ticket's exclusion found
by SQL index probes. The reference is the walk of each surveyed ticket's whole history
(`ticket_surveys`, the loader before issue 22, kept below as `walked_load`): on random event
logs (ties in time, queue moves across kinds, reopens, spam/restore, merges, missing keys)
both must give the same CSAT/CES/NPS figures per side and queue for every window. A second
test checks that the rows read do not grow with the surveyed tickets' other events.
"""

import random
from datetime import UTC, datetime, timedelta
from itertools import groupby

import pytest
from django.db import connection

from metrics import dashboard, services
from metrics.dashboard.surveys import TILE_SURVEYS, _nps_latest, _survey_tiles_sql, _tally, survey_tiles
from metrics.models import SurveyFact
from metrics.survey_facts import survey_facts_load
from metrics.surveys import (
    SIDES,
    SURVEY_KINDS,
    Window,
    aggregate_ces,
    aggregate_nps,
    relationship_nps_load,
    survey_report,
    survey_tickets_load,
    ticket_surveys,
)
from tests.factories import CustomerFactory, QueueFactory, ticket_make
from tickets import selectors
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 10, 1, tzinfo=UTC)
STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")


def walked_load(window: Window):
    """The loader before issue 22: every event of each ticket with a survey event in the window."""
    kinds = ["survey.offered", *SURVEY_KINDS.values()]
    ids = TicketEvent.objects.filter(
        kind__in=kinds, occurred_at__gte=window.start, occurred_at__lt=window.end, ticket__isnull=False
    ).values("ticket_id")
    events = selectors.ticket_events_for_metrics(ticket_ids=ids)
    return [ticket_surveys(tid, list(evs)) for tid, evs in groupby(events, key=lambda e: e[0])]


def _random_data(rnd, kind, queues):
    if kind == "group.changed":
        q = rnd.choice(queues)
        data = {"from": None, "to": q.pk, "to_kind": q.kind}
        if rnd.random() < 0.1:
            del data["to_kind"]  # an old event without the kind: the walk keeps the previous one
        if rnd.random() < 0.05:
            data["to_kind"] = rnd.choice(("", None))
        return data
    if kind == "status.changed":
        return {"from": rnd.choice(STATUSES), "to": rnd.choice(STATUSES)}
    if kind == "survey.offered":
        return {} if rnd.random() < 0.1 else {"survey": rnd.choice(("csat", "ces", "nps"))}
    if kind == "csat.responded":
        if rnd.random() < 0.2:
            return {"value": rnd.choice(("good", "bad")), "scale": "good_bad"}
        return {"value": rnd.randint(1, 5), "scale": "1-5", "comment": rnd.choice(("", "ok"))}
    if kind == "ces.responded":
        return {"value": rnd.randint(1, 7), "scale": "1-7"}
    if kind == "nps.responded":
        return {"value": rnd.randint(0, 10), "scale": "0-10"}
    return {}


WEIGHTED = (
    ["group.changed"] * 4
    + ["status.changed"] * 6
    + ["message.created"] * 3
    + ["survey.offered"] * 4
    + ["csat.responded", "ces.responded", "nps.responded"] * 2
    + ["ticket.marked_spam", "ticket.deleted", "ticket.restored", "ticket.merged_into"]
)


def _random_log(rnd, queues, customers, n_tickets=24):
    for _ in range(n_tickets):
        t = ticket_make(
            queue=rnd.choice(queues),
            requester=rnd.choice(customers),
            occurred_at=T0 + timedelta(hours=rnd.randint(0, 9)),
        )
        for _ in range(rnd.randint(0, 18)):
            kind = rnd.choice(WEIGHTED)
            if kind in ("ticket.marked_spam", "ticket.deleted", "ticket.merged_into") and rnd.random() < 0.7:
                continue  # keep most tickets counted
            answer = kind.endswith(".responded")
            TicketEvent.objects.create(
                ticket=t,
                kind=kind,
                # Hours on a coarse grid: many ties in time (log order falls back to the id).
                occurred_at=T0 + timedelta(hours=rnd.randint(0, 40) * 6),
                actor=rnd.choice([*customers, None]) if answer else None,
                actor_role="customer" if answer else "system",
                data=_random_data(rnd, kind, queues),
            )


def _relationship_answers(rnd, customers, n=12):
    """Ticketless NPS answers (the relationship survey): the actor, or only data.customer_id."""
    for _ in range(n):
        who = rnd.choice(customers)
        by_actor = rnd.random() < 0.7
        TicketEvent.objects.create(
            ticket=None,
            kind="nps.responded",
            occurred_at=T0 + timedelta(hours=rnd.randint(0, 40) * 6),
            actor=who if by_actor else None,
            actor_role="customer",
            data={"value": rnd.randint(0, 10), "scale": "0-10", **({} if by_actor else {"customer_id": who.pk})},
        )


def _windows(rnd):
    out = [Window(T0, T0 + timedelta(days=11))]
    for _ in range(5):
        a, b = sorted(rnd.sample(range(0, 44), 2))
        out.append(Window(T0 + timedelta(hours=a * 6), T0 + timedelta(hours=b * 6)))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_loader_equals_the_walk_of_whole_histories(seed):
    rnd = random.Random(seed)
    queues = [QueueFactory(kind="support"), QueueFactory(kind="service"), QueueFactory(kind="service")]
    customers = [CustomerFactory() for _ in range(4)]
    _random_log(rnd, queues, customers)
    assert TicketEvent.objects.filter(kind="ces.responded").exists()
    for window in _windows(rnd):
        walked = [t for t in walked_load(window) if not t.excluded]
        loaded = survey_tickets_load(window=window)
        a, b = survey_report(loaded, window), survey_report(walked, window)
        for k in ("csat", "ces", "nps"):
            for x, y in zip(a["responses"][k], b["responses"][k], strict=False):
                assert x == y, (k, x, y)
            assert len(a["responses"][k]) == len(b["responses"][k]), k
        assert a == b, window
        tile = survey_tickets_load(window=window, surveys=TILE_SURVEYS)
        for queue in (None, *(q.pk for q in queues)):
            ref, new = _tally(walked, window, queue), _tally(tile, window, queue)
            for side in SIDES:
                assert new.rows[side]["ces"] == ref.rows[side]["ces"]
                assert new.offered[side]["ces"] == ref.offered[side]["ces"]
                assert new.responded[side]["ces"] == ref.responded[side]["ces"]
                assert _nps_latest(tile, window, side, queue, []) == _nps_latest(walked, window, side, queue, [])


def _rows_read(fn):
    """Run `fn`; return (queries, rows) where rows is what its SELECTs return (each re-run as a count)."""
    seen = []

    def keep(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        fn()
    rows = 0
    with connection.cursor() as cur:
        for sql, params in seen:
            if sql.lstrip().upper().startswith("SELECT"):
                cur.execute(f"SELECT COUNT(*) FROM ({sql}) AS q", params)  # noqa: S608 - our own captured SQL
                rows += cur.fetchone()[0]
    return len(seen), rows


def test_rows_read_do_not_grow_with_the_surveyed_tickets_other_events(settings, queue, agent):
    """Fails on the walk (it loads each surveyed ticket's whole history)."""
    from zoneinfo import ZoneInfo

    from metrics import services as metrics_services
    from tickets import services

    settings.HELPDESK_REPORTING_TIMEZONE = "UTC"
    tickets = []
    for i in range(3):
        t = ticket_make(queue=queue, occurred_at=T0 + timedelta(days=i, hours=1))
        services.ticket_transition(
            ticket_id=t.pk, target="solved", actor=agent, occurred_at=T0 + timedelta(days=i, hours=2)
        )
        services.survey_offer(ticket_id=t.pk, survey="ces", occurred_at=T0 + timedelta(days=i, hours=3))
        services.survey_respond(ticket_id=t.pk, survey="ces", value=6, occurred_at=T0 + timedelta(days=i, hours=4))
        services.survey_respond(ticket_id=t.pk, survey="nps", value=9, occurred_at=T0 + timedelta(days=i, hours=4))
        tickets.append(t)
    ids = [t.pk for t in tickets]
    metrics_services.tickets_recompute(ticket_ids=ids)  # the survey facts the tiles read
    period = dashboard.Period(T0.date(), (T0 + timedelta(days=6)).date(), ZoneInfo("UTC"))
    scope = dashboard.Scope(period=period)
    before = survey_tiles(scope)
    queries, rows = _rows_read(lambda: survey_tiles(scope))
    for t in tickets:  # a long conversation on every surveyed ticket
        TicketEvent.objects.bulk_create(
            TicketEvent(ticket=t, kind="message.created", occurred_at=T0 + timedelta(days=2, minutes=m), data={})
            for m in range(200)
        )
    metrics_services.tickets_recompute(ticket_ids=ids)
    assert survey_tiles(scope) == before
    assert before["ces"]["support"]["cur"]["n"] == 3
    assert _rows_read(lambda: survey_tiles(scope)) == (queries, rows)


def _reference_tiles(walked, relationship, windows, queue):
    """The dashboard's CES / NPS tiles counted in Python over whole-history walks."""
    out = {"ces": {s: {} for s in SIDES}, "nps": {s: {} for s in SIDES}}
    for p, window in windows.items():
        tally = _tally(walked, window, queue)
        for side in SIDES:
            out["ces"][side][p] = aggregate_ces(
                tally.rows[side]["ces"], tally.offered[side]["ces"], tally.responded[side]["ces"]
            )
            latest = _nps_latest(walked, window, side, queue, relationship)
            out["nps"][side][p] = aggregate_nps(list(latest.values()))
    return out


def _fact_rows():
    return sorted(SurveyFact.objects.values_list(*[f.name for f in SurveyFact._meta.concrete_fields if f.name != "id"]))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_survey_facts_and_their_sql_aggregate_equal_the_walk_of_whole_histories(seed):
    """The stored facts (written by the metrics engine) read back, and the dashboard's SQL
    aggregate over them, give the walk's figures for every window, side and queue."""
    rnd = random.Random(seed)
    queues = [QueueFactory(kind="support"), QueueFactory(kind="service"), QueueFactory(kind="service")]
    customers = [CustomerFactory() for _ in range(4)]
    _random_log(rnd, queues, customers, n_tickets=30)
    _relationship_answers(rnd, customers)
    ids = list(TicketEvent.objects.filter(ticket__isnull=False).values_list("ticket_id", flat=True).distinct())
    services.tickets_recompute(ticket_ids=ids)
    assert SurveyFact.objects.filter(survey="nps").exists() and SurveyFact.objects.filter(offer=True).exists()
    for window in _windows(rnd):
        walked = [t for t in walked_load(window) if not t.excluded]
        relationship = relationship_nps_load(window=window)
        a = survey_report(survey_facts_load(window=window), window, relationship)
        b = survey_report(walked, window, relationship)
        for k in ("csat", "ces", "nps"):
            assert a["responses"][k] == b["responses"][k], k
        assert a == b, window
        mid = window.start + (window.end - window.start) / 2
        halves = {"prev": Window(window.start, mid), "cur": Window(mid, window.end)}
        for queue in (None, *(q.pk for q in queues)):
            ref = _reference_tiles(walked, relationship if queue is None else [], halves, queue)
            assert _survey_tiles_sql(halves, queue) == ref, (window, queue)
    # The bulk rebuild (metrics_rebuild) writes the same facts as the incremental recompute.
    before = _fact_rows()
    services.metrics_bulk_rebuild_range(lo=min(ids), hi=max(ids) + 1)
    assert _fact_rows() == before
