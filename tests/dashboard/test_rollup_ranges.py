"""The rollup path over random histories: every tile equal to the exact path's (medians / p90
within one histogram bin), for ranges of several lengths, unfiltered, one queue and one kind, and
no statement of the rollup path that reads per-reply rows (issue 22: any range at 1M tickets).
"""

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from metrics import dashboard, rollup, services
from metrics.services import reporting_zone
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tests.metrics.histories import random_action
from tickets.models import Ticket

from .test_rollup import _cells, _close, _comparable

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the rollup path is PostgreSQL's")

BASE = datetime(2025, 9, 20, 13, 0, tzinfo=UTC)


def _random_histories(seed: int, *, tickets: int = 14, steps: int = 220) -> list:
    """Tickets over ~40 days in three queues (two kinds), with replies, customer messages (next
    reply runs), solves, reopens, CSAT, spam and queue moves; recomputed incrementally as the
    worker does, then the week / month cells folded."""
    rnd = random.Random(seed)
    queues = [QueueFactory(), QueueFactory(kind="service"), QueueFactory()]
    agents = [AgentFactory(), AgentFactory()]
    with transaction.atomic():
        made = [
            ticket_make(
                queue=rnd.choice(queues),
                requester=CustomerFactory(),
                occurred_at=BASE + timedelta(hours=rnd.randint(0, 30 * 24)),
            )
            for _ in range(tickets)
        ]
    clock = {t.pk: t.created_at for t in made}
    for step in range(steps):
        t = rnd.choice(made)
        t.refresh_from_db()
        at = clock[t.pk] = clock[t.pk] + timedelta(seconds=rnd.randint(300, 30 * 3600))
        with transaction.atomic():
            random_action(rnd, t, rnd.choice(agents), at, spam_p=0.1, late_hours=20, queues=queues)
            services.tickets_recompute(ticket_ids=[t.pk], as_of=at + timedelta(hours=step % 3))
    with transaction.atomic():
        services.tickets_recompute(
            ticket_ids=list(Ticket.objects.values_list("pk", flat=True)), as_of=BASE + timedelta(days=80)
        )
    rollup.fold()
    return queues


def _comparable_now(dash):
    """`_comparable` without the live ages of "awaiting first reply now" (each build's own now)."""
    out = _comparable(dash)
    for side in out["tiles"]["awaiting_first_reply"].values():
        side["now"] = side["now"]["n"]
    return out


def _both(scope, settings):
    settings.DASHBOARD_EXACT_MAX_TICKETS = 10**9
    exact = dashboard.dashboard_build(scope=scope)
    settings.DASHBOARD_EXACT_MAX_TICKETS = -1
    with CaptureQueriesContext(connection) as ctx:
        approx = dashboard.dashboard_build(scope=scope)
    assert approx.approx and not exact.approx
    return exact, approx, [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("seed", [31, 32])
def test_rollup_path_equals_exact_path_on_random_histories(db, settings, seed):
    """30 / 60 days and a custom range (mid-week to mid-month), unfiltered, each queue and each
    kind, both clocks: counts, sums, means, ratios, trend, agents, backlog equal; medians / p90
    within one bin; next reply times included (read from their cells)."""
    queues = _random_histories(seed)
    zone = reporting_zone()
    periods = [
        dashboard.Period(date(2025, 9, 20), date(2025, 10, 19), zone),  # 30 days, daily buckets
        dashboard.Period(date(2025, 9, 15), date(2025, 11, 13), zone),  # 60 days over month starts
        dashboard.Period(date(2025, 9, 24), date(2025, 10, 15), zone),  # custom: Wednesday .. mid-month
    ]
    replies_seen = 0
    for i, period in enumerate(periods):
        bucket = "day" if period.days <= 31 else "week"
        clock = "bus" if i == 1 else "cal"
        filters = [{}, {"kind": "support"}, {"kind": "service"}, *({"queue_id": q.pk} for q in queues)]
        for extra in filters:
            scope = dashboard.Scope(period=period, bucket=bucket, clock=clock, **extra)
            exact, approx, sql = _both(scope, settings)
            _close(_comparable_now(exact), _comparable_now(approx), f"{period} {extra} {clock}")
            # The rollup path never reads the per-reply rows (they grow with the tickets of the range).
            assert not [s for s in sql if "metrics_ticketnextreply" in s], extra
            replies_seen += exact.tiles["next_reply"]["all"]["cur"]["n"]
    assert replies_seen > 10  # next reply times were compared, not two empty tiles


def test_next_reply_cells_follow_retract_and_apply(db):
    """The incremental next-reply cells equal the set-based and the Python rebuilds."""
    _random_histories(33, tickets=8, steps=150)
    incremental = _cells()
    assert any(k[2] in rollup.NEXT_REPLY and k[6] >= 0 for k in incremental)
    services.metrics_rollups_rebuild()
    assert _cells() == incremental
    with transaction.atomic():
        rollup._rebuild_python(reporting_zone())
    assert _cells() == incremental


def test_csat_comments_equal_the_portable_path_under_filters(db):
    """The comments' LATERAL walk (metrics/dashboard/comments.py) lists the same ratings as the
    Python path: newest first, only a ticket's latest rating, with queue / kind / agent filters."""
    from metrics.dashboard.comments import csat_comments
    from tickets import services as ticket_services

    rnd = random.Random(41)
    queues = [QueueFactory(), QueueFactory(kind="service")]
    agents = [AgentFactory(), AgentFactory()]
    with transaction.atomic():
        for i in range(24):
            at = BASE + timedelta(hours=7 * i)
            t = ticket_make(queue=rnd.choice(queues), requester=CustomerFactory(), occurred_at=at)
            agent = rnd.choice(agents)
            ticket_services.ticket_assign(ticket_id=t.pk, assignee=agent, actor=agent, occurred_at=at)
            ticket_services.ticket_transition(ticket_id=t.pk, target="solved", actor=agent, occurred_at=at)
            for k in range(rnd.randint(1, 3)):  # a later rating replaces the earlier one
                comment = rnd.choice(["", f"comment {i}.{k}"])
                ticket_services.survey_respond(
                    ticket_id=t.pk, survey="csat", value=rnd.randint(1, 5), comment=comment,
                    occurred_at=at + timedelta(hours=1 + k),
                )  # fmt: skip
        services.tickets_recompute(
            ticket_ids=list(Ticket.objects.values_list("pk", flat=True)), as_of=BASE + timedelta(days=30)
        )
    period = dashboard.Period(date(2025, 9, 20), date(2025, 10, 1), reporting_zone())
    filters = [{}, {"kind": "service"}, {"queue_id": queues[0].pk}, {"agent_id": agents[1].pk}]
    listed = 0
    for extra in filters:
        scope = dashboard.Scope(period=period, **extra)
        sql = csat_comments(scope=scope, limit=5)
        with dashboard.portable():
            py = csat_comments(scope=scope, limit=5)
        assert sql == py, extra
        listed += len(sql)
    assert listed > 8
