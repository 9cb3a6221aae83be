"""The dashboard filtered to a kind or a queue shows that kind's / queue's share of escalated
tickets (docs/metrics.md#18-queue-and-kind-attribution-across-escalations): every tile equals
summing the stored segment rows, on the SQL and the portable path, exact and from rollup cells.
"""

import math
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection, transaction

from metrics import dashboard, services
from metrics.dashboard.db import _duration_column
from metrics.dashboard.kpis import COHORTS, DURATION_KPIS, SEGMENT_COHORTS
from metrics.models import TicketMetrics, TicketNextReply, TicketSegment
from metrics.services import reporting_zone
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tests.metrics.histories import random_action
from tests.metrics.test_segments import load_segments_fixture
from tickets.models import Queue, Ticket


def _build(scope, *, portable=False):
    if portable:
        with dashboard.portable():
            return dashboard.dashboard_build(scope=scope)
    return dashboard.dashboard_build(scope=scope)


def _paths():
    return (False, True) if connection.vendor == "postgresql" else (True,)


def _expected(scope):
    """Tiles of the filtered view summed from the TicketSegment rows: per ticket, the sum of its
    segments in the queue / kind whose cohort instant is in the period."""
    lo, hi = scope.period.start, scope.period.end
    segs = TicketSegment.objects.all()
    if scope.kind:
        segs = segs.filter(kind=scope.kind)
    if scope.queue_id:
        segs = segs.filter(queue_id=scope.queue_id)
    rows = list(segs.values())
    current = {k: v for k, v in (("kind", scope.kind), ("queue_id", scope.queue_id)) if v}
    tickets = {m["ticket_id"]: m for m in TicketMetrics.objects.filter(excluded=False).values()}
    out = {}
    for kpi, spec in DURATION_KPIS.items():
        inst, col = COHORTS[spec["cohort"]]["instant"], _duration_column(kpi, scope.clock)
        if spec["cohort"] not in SEGMENT_COHORTS:  # whole tickets (or replies) by the queue / kind now
            model = TicketNextReply if spec["cohort"] == "next_reply" else TicketMetrics
            whole = model.objects.filter(excluded=False, **current, **{f"{inst}__gte": lo, f"{inst}__lt": hi})
            values = [v for v in whole.values_list(col, flat=True) if v is not None]
            out[kpi] = (len(values), sum(values) if values else None)
            continue
        per_ticket = defaultdict(list)
        for r in rows:
            if kpi.startswith("resolution_"):  # the ticket's value, on the segment of its last resolution
                value = tickets[r["ticket_id"]][col] if r["last_res_here"] else None
            else:
                value = r[col]
            if r[inst] is not None and lo <= r[inst] < hi and value is not None:
                per_ticket[r["ticket_id"]].append(value)
        values = [sum(v) for v in per_ticket.values()]
        out[kpi] = (len(values), sum(values) if values else None)
    resolved = {r["ticket_id"] for r in rows if r["last_res_here"] and lo <= r["last_resolved_at"] < hi}
    out["resolved"] = len(resolved)
    out["fcr"] = (
        sum(1 for r in rows if r["last_res_here"] and r["fcr"] and r["ticket_id"] in resolved),
        sum(1 for r in rows if r["last_res_here"] and r["fcr_eligible"] and r["ticket_id"] in resolved),
    )
    created = [r["ticket_id"] for r in rows if r["created_at"] is not None and lo <= r["created_at"] < hi]
    out["created"] = len(created)
    out["escalated"] = sum(1 for t in created if tickets[t]["escalations"] > 0)  # the queue / kind at creation
    return out


def _assert_tiles_equal_segments(scope, dash):
    side = scope.kind or "all"
    expected = _expected(scope)
    for kpi in DURATION_KPIS:
        got = dash.tiles[kpi][side]["cur"]
        n, total = expected[kpi]
        assert got["n"] == n, (kpi, scope)
        if n:
            assert math.isclose(got["sum_s"], total, abs_tol=1e-6), (kpi, scope)
    assert dash.tiles["resolved"][side]["cur"]["n"] == expected["resolved"]
    fcr = dash.tiles["fcr"][side]["cur"]
    assert (fcr["num"], fcr["den"]) == expected["fcr"]
    assert dash.tiles["created"][side]["cur"]["n"] == expected["created"]
    rate = dash.tiles["escalation_rate"][side]["cur"]
    assert (rate["num"], rate["den"]) == (expected["escalated"], expected["created"]), scope


def test_e11_dashboard_filtered_to_service_shows_services_share(db):
    """E11 (docs/metrics.md §1.8): filtered to service, FRT n = 1 (600) and no resolution; to support, FRT
    n = 0 and full resolution 18000. Requester wait: 3600 service, 7200 support, 10800 all."""
    load_segments_fixture()
    zone = reporting_zone()
    day = dashboard.Period(date(2025, 11, 3), date(2025, 11, 3), zone)
    for portable in _paths():
        for clock in ("cal", "bus"):
            service = _build(dashboard.Scope(period=day, kind="service", clock=clock), portable=portable)
            t = service.tiles
            assert (t["frt"]["service"]["cur"]["n"], t["frt"]["service"]["cur"]["median_s"]) == (1, 600)
            assert t["full_resolution"]["service"]["cur"]["n"] == 0
            assert t["resolved"]["service"]["cur"]["n"] == 0
            assert (t["requester_wait"]["service"]["cur"]["n"], t["requester_wait"]["service"]["cur"]["sum_s"]) == (
                1,
                3600,
            )
            assert t["time_in_progress"]["service"]["cur"]["sum_s"] == 3000
            support = _build(dashboard.Scope(period=day, kind="support", clock=clock), portable=portable).tiles
            assert support["frt"]["support"]["cur"]["n"] == 0
            assert support["full_resolution"]["support"]["cur"]["median_s"] == 18000
            assert support["requester_wait"]["support"]["cur"]["sum_s"] == 7200
            assert support["agent_wait"]["support"]["cur"]["sum_s"] == 7200
            assert (support["fcr"]["support"]["cur"]["num"], support["fcr"]["support"]["cur"]["den"]) == (0, 1)
            # unfiltered: whole tickets on "all", the sides side by side
            whole = _build(dashboard.Scope(period=day, clock=clock), portable=portable).tiles
            assert whole["requester_wait"]["all"]["cur"]["sum_s"] == 10800
            assert whole["requester_wait"]["all"]["cur"]["n"] == 1
            assert whole["requester_wait"]["service"]["cur"]["sum_s"] == 3600
            assert whole["requester_wait"]["support"]["cur"]["sum_s"] == 7200
            assert whole["frt"]["service"]["cur"]["n"] == 1 and whole["frt"]["support"]["cur"]["n"] == 0
            # the service queue's view and its drill-down
            billing = Queue.objects.get(slug="billing").pk
            by_queue = _build(dashboard.Scope(period=day, queue_id=billing, clock=clock), portable=portable).tiles
            assert by_queue["frt"]["all"]["cur"]["n"] == 1 and by_queue["full_resolution"]["all"]["cur"]["n"] == 0
            scope = dashboard.Scope(period=day, queue_id=billing, clock=clock)
            with dashboard.portable() if portable else _noop():
                rows = list(dashboard.drill_rows(scope=scope, drill=dashboard.Drill(metric="requester_wait")))
            assert [r["value_s"] for r in rows] == [3600]


class _noop:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _random_escalations(seed):
    rnd = random.Random(seed)
    queues = [QueueFactory(), QueueFactory(kind="service"), QueueFactory(), QueueFactory(kind="service")]
    agents = [AgentFactory(), AgentFactory()]
    base = datetime(2025, 10, 30, 13, 0, tzinfo=UTC)
    with transaction.atomic():
        tickets = [
            ticket_make(queue=rnd.choice(queues), requester=CustomerFactory(), occurred_at=base) for _ in range(12)
        ]
    clock = {t.pk: base for t in tickets}
    for _ in range(160):
        t = rnd.choice(tickets)
        t.refresh_from_db()
        at = clock[t.pk] = clock[t.pk] + timedelta(seconds=rnd.randint(600, 20 * 3600))
        with transaction.atomic():
            random_action(rnd, t, rnd.choice(agents), at, spam_p=0.05, late_hours=10, queues=queues)
    with transaction.atomic():
        services.tickets_recompute(
            ticket_ids=list(Ticket.objects.values_list("pk", flat=True)), as_of=base + timedelta(days=60)
        )
    return queues


def test_filtered_tiles_equal_summing_segment_rows_after_random_escalations(db):
    queues = _random_escalations(21)
    load_segments_fixture()
    zone = reporting_zone()
    whole = dashboard.Period(date(2025, 10, 1), date(2025, 12, 31), zone)
    escalated = sum(
        1
        for t in Ticket.objects.all()
        if len(set(TicketSegment.objects.filter(ticket_id=t.pk).values_list("kind", flat=True))) > 1
    )
    assert escalated >= 4
    scopes = [
        dashboard.Scope(period=whole, kind=kind, clock=clock)
        for kind in ("service", "support")
        for clock in ("cal", "bus")
    ]
    scopes += [dashboard.Scope(period=whole, queue_id=q.pk) for q in queues]
    compared = 0
    for scope in scopes:
        for portable in _paths():
            dash = _build(scope, portable=portable)
            _assert_tiles_equal_segments(scope, dash)
            compared += dash.tiles["requester_wait"][scope.kind or "all"]["cur"]["n"]
    assert compared > 20


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the rollup path is PostgreSQL's")
def test_rollup_cells_equal_the_exact_filtered_views_after_random_escalations(db, settings):
    from tests.dashboard.test_rollup import _close, _comparable

    queues = _random_escalations(22)
    services.metrics_rollups_rebuild()
    zone = reporting_zone()
    whole = dashboard.Period(date(2025, 10, 1), date(2025, 12, 31), zone)
    scopes = [dashboard.Scope(period=whole, bucket="week")]
    scopes += [dashboard.Scope(period=whole, bucket="week", kind=k, clock="bus") for k in ("service", "support")]
    scopes += [dashboard.Scope(period=whole, bucket="week", queue_id=q.pk) for q in queues[:2]]
    for scope in scopes:
        settings.DASHBOARD_EXACT_MAX_TICKETS = 10**9
        exact = dashboard.dashboard_build(scope=scope)
        settings.DASHBOARD_EXACT_MAX_TICKETS = -1
        approx = dashboard.dashboard_build(scope=scope)
        assert approx.approx and not exact.approx
        _close(_comparable(exact), _comparable(approx), f"{scope.kind} {scope.queue_id}")
