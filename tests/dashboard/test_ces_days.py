"""CES day cells (metrics.ces_days, docs/surveys.md "CES day cells"): kept by the recompute over
random histories they equal the cells rebuilt from the facts, the CES tile read from them equals
the tile read from the facts (every period, queue, DST), and the rollup path reads no CES fact
(issue 22: the survey tiles grew with the facts of the range).
"""

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from metrics import dashboard, services
from metrics.dashboard.surveys import survey_tiles
from metrics.models import CesDay
from metrics.services import reporting_zone
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tests.metrics.histories import random_action
from tickets import services as ticket_services
from tickets.models import Ticket

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the rollup path is PostgreSQL's")

# Across the end of US daylight time (2025-11-02), so local days are 23, 24 and 25 hours long.
BASE = datetime(2025, 10, 12, 15, 0, tzinfo=UTC)


@pytest.fixture
def zone(settings):
    settings.HELPDESK_REPORTING_TIMEZONE = "America/New_York"


def _cells():
    return {
        (c.day, c.offer, c.side, c.queue_id): (c.rows, c.n, c.easy, int(c.total), c.answered)
        for c in CesDay.objects.all()
        if (c.rows, c.n, c.easy, c.total, c.answered) != (0, 0, 0, 0, 0)
    }


def _ces_action(rnd, ticket, at) -> None:
    """A CES offer, or an answer (integer, at times twice: the later one counts)."""
    if rnd.random() < 0.4:
        ticket_services.survey_offer(ticket_id=ticket.pk, survey="ces", occurred_at=at)
    else:
        ticket_services.survey_respond(
            ticket_id=ticket.pk, survey="ces", value=rnd.randint(1, 7), actor=ticket.requester, occurred_at=at
        )


def _histories(seed: int, *, tickets: int = 12, steps: int = 200) -> list:
    """Tickets over ~35 days in three queues (two kinds) with queue moves, solves, reopens, spam,
    late events and CES offers and answers, recomputed one step at a time as the worker does."""
    rnd = random.Random(seed)
    queues = [QueueFactory(), QueueFactory(kind="service"), QueueFactory()]
    agents = [AgentFactory(), AgentFactory()]
    with transaction.atomic():
        made = [
            ticket_make(
                queue=rnd.choice(queues),
                requester=CustomerFactory(),
                occurred_at=BASE + timedelta(hours=rnd.randint(0, 25 * 24)),
            )
            for _ in range(tickets)
        ]
    clock = {t.pk: t.created_at for t in made}
    for step in range(steps):
        t = rnd.choice(made)
        t.refresh_from_db()
        at = clock[t.pk] = clock[t.pk] + timedelta(seconds=rnd.randint(600, 20 * 3600))
        with transaction.atomic():
            if rnd.random() < 0.35:
                _ces_action(rnd, t, at)
            else:
                random_action(rnd, t, rnd.choice(agents), at, spam_p=0.1, late_hours=20, queues=queues)
            services.tickets_recompute(ticket_ids=[t.pk], as_of=at + timedelta(hours=step % 3))
    with transaction.atomic():
        services.tickets_recompute(
            ticket_ids=list(Ticket.objects.values_list("pk", flat=True)), as_of=BASE + timedelta(days=70)
        )
    return queues


@pytest.mark.parametrize("seed", [51, 52])
def test_ces_cells_kept_by_the_recompute_equal_the_rebuild_and_the_facts(db, zone, seed):
    """Retract-and-apply equals the cells rebuilt from the facts, and the CES tile from the cells
    equals the tile from the facts for ranges of 1 to 60 days (DST inside), unfiltered and per queue."""
    queues = _histories(seed)
    incremental = _cells()
    assert sum(v[1] for k, v in incremental.items() if not k[1]) > 10  # answers were counted
    services.metrics_rollups_rebuild()
    assert _cells() == incremental
    tz = reporting_zone()
    periods = [
        dashboard.Period(date(2025, 10, 12), date(2025, 11, 10), tz),
        dashboard.Period(date(2025, 10, 29), date(2025, 11, 4), tz),  # the DST week
        dashboard.Period(date(2025, 11, 2), date(2025, 11, 2), tz),  # the 25-hour day
        dashboard.Period(date(2025, 10, 20), date(2025, 12, 18), tz),
    ]
    compared = 0
    for period in periods:
        for queue in (None, *(q.pk for q in queues)):
            scope = dashboard.Scope(period=period, queue_id=queue)
            from_facts, from_days = survey_tiles(scope), survey_tiles(scope, ces_days=True)
            assert from_days == from_facts, (period, queue)
            compared += from_facts["ces"]["all"]["cur"]["n"] + from_facts["ces"]["all"]["prev"]["offered"]
    assert compared > 20


def test_rollup_path_reads_ces_from_day_cells_not_facts(db, zone, settings):
    """On the rollup path the page reads no CES fact (O(days) instead of O(facts of both periods))
    and shows the same CES tile as the exact path; an unchanged recompute writes no CES cell."""
    _histories(53, tickets=8, steps=120)
    period = dashboard.Period(date(2025, 10, 12), date(2025, 11, 10), reporting_zone())
    scope = dashboard.Scope(period=period)
    settings.DASHBOARD_EXACT_MAX_TICKETS = 10**9
    exact = dashboard.dashboard_build(scope=scope)
    settings.DASHBOARD_EXACT_MAX_TICKETS = -1
    with CaptureQueriesContext(connection) as ctx:
        cells = dashboard.dashboard_build(scope=scope)
    assert cells.approx and not exact.approx
    assert cells.tiles["ces"] == exact.tiles["ces"] and exact.tiles["ces"]["all"]["cur"]["n"] > 0
    fact_reads = [q["sql"] for q in ctx.captured_queries if "metrics_surveyfact" in q["sql"]]
    assert fact_reads and all("'ces'" not in sql for sql in fact_reads)  # NPS only
    assert any("metrics_cesday" in q["sql"] for q in ctx.captured_queries)
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        services.tickets_recompute(
            ticket_ids=list(Ticket.objects.values_list("pk", flat=True)), as_of=BASE + timedelta(days=70)
        )
    assert not [q for q in ctx.captured_queries if "INSERT INTO metrics_cesday" in q["sql"]]
