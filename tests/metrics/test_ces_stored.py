"""Issue 15: CES (M15, docs/surveys.md) in the stored per-ticket metrics and
in metrics_export, through the event log and the engine, hand-checked."""

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import transaction

from metrics.models import TicketMetrics
from metrics.services import metrics_bulk_rebuild_range, tickets_recompute
from tests.factories import CustomerFactory, ticket_make
from tickets import services

pytestmark = pytest.mark.django_db


def at(day, hour=12):
    return datetime(2026, 11, day, hour, tzinfo=UTC)


@pytest.fixture
def tickets(queue, service_queue, agent, other_agent):
    """t1 (support): CES offered on the 2nd, answered 3 (2nd) then 6 (5th) -> latest 6,
    easy. t2 (support): offered, answered 4 -> not easy (easy is 5 or more).
    t3 (support): offered, never answered. t4 (service): CSAT only, no CES."""

    def solved(q, actor, day):
        t = ticket_make(queue=q, requester=CustomerFactory(), occurred_at=at(day, 9))
        services.ticket_transition(ticket_id=t.pk, target="solved", actor=actor, occurred_at=at(day, 10))
        return t

    t1, t2, t3 = solved(queue, agent, 2), solved(queue, agent, 3), solved(queue, agent, 4)
    t4 = solved(service_queue, other_agent, 4)
    for t in (t1, t2, t3):
        services.survey_offer(ticket_id=t.pk, survey="ces", occurred_at=at(t.created_at.day, 11))
    services.survey_offer(ticket_id=t4.pk, survey="csat", occurred_at=at(4, 11))
    services.survey_respond(ticket_id=t1.pk, survey="ces", value=3, actor=t1.requester, occurred_at=at(2, 12))
    services.survey_respond(ticket_id=t1.pk, survey="ces", value=6, actor=t1.requester, occurred_at=at(5, 8))
    services.survey_respond(ticket_id=t2.pk, survey="ces", value=4, actor=t2.requester, occurred_at=at(3, 12))
    services.survey_respond(ticket_id=t4.pk, survey="csat", value=5, actor=t4.requester, occurred_at=at(4, 12))
    return t1, t2, t3, t4


EXPECTED = {
    "t1": {"ces_offered": True, "ces_value": 6, "ces_easy": True, "ces_at": at(5, 8), "ces_offered_at": at(2, 11)},
    "t2": {"ces_offered": True, "ces_value": 4, "ces_easy": False, "ces_at": at(3, 12), "ces_offered_at": at(3, 11)},
    "t3": {"ces_offered": True, "ces_value": None, "ces_easy": None, "ces_at": None, "ces_offered_at": at(4, 11)},
    "t4": {"ces_offered": False, "ces_value": None, "ces_easy": None, "ces_at": None, "ces_offered_at": None},
}


def _stored(ticket):
    m = TicketMetrics.objects.get(ticket_id=ticket.pk)
    return {k: getattr(m, k) for k in EXPECTED["t1"]}


def test_ces_is_stored_per_ticket(tickets):
    with transaction.atomic():
        tickets_recompute(ticket_ids=[t.pk for t in tickets])
    for name, t in zip(("t1", "t2", "t3", "t4"), tickets, strict=True):
        assert _stored(t) == EXPECTED[name], name
    # Mean and % easy over the stored rows agree with M15: (6 + 4) / 2 = 5.0, 1 easy of 2 = 50 %.
    answered = TicketMetrics.objects.filter(ces_value__isnull=False)
    values = sorted(answered.values_list("ces_value", flat=True))
    assert values == [4, 6] and answered.filter(ces_easy=True).count() == 1


def test_bulk_rebuild_stores_the_same_ces(tickets):
    ids = [t.pk for t in tickets]
    metrics_bulk_rebuild_range(lo=min(ids), hi=max(ids) + 1)
    for name, t in zip(("t1", "t2", "t3", "t4"), tickets, strict=True):
        assert _stored(t) == EXPECTED[name], name


def test_metrics_export_has_ces(tickets):
    with transaction.atomic():
        tickets_recompute(ticket_ids=[t.pk for t in tickets])
    for args in ((), ("--as-of", "2026-11-30T00:00:00+00:00")):
        out = io.StringIO()
        call_command("metrics_export", "--format", "jsonl", *args, stdout=out)
        rows = {r["ticket"]: r for r in map(json.loads, out.getvalue().splitlines())}
        t1, t2, t3, t4 = (rows[t.pk] for t in tickets)
        assert (t1["ces_value"], t1["ces_easy"], t1["ces_at"], t1["ces_offered"]) == (
            6,
            True,
            "2026-11-05T08:00:00Z",
            True,
        )
        assert (t2["ces_value"], t2["ces_easy"]) == (4, False)
        assert (t3["ces_value"], t3["ces_offered"]) == (None, True)
        assert (t4["ces_value"], t4["ces_offered"]) == (None, False)
    # Before t1's second answer (as of the 4th 12:30), its latest is the 3.
    out = io.StringIO()
    call_command("metrics_export", "--format", "jsonl", "--as-of", "2026-11-04T12:30:00+00:00", stdout=out)
    rows = {r["ticket"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert (rows[tickets[0].pk]["ces_value"], rows[tickets[0].pk]["ces_easy"]) == (3, False)
