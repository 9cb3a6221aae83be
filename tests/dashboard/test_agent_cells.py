"""An agent filter reads its FRT, CSAT and created cohorts from the agent cells (dims 'a' / 'qa',
docs/metrics.md "Filters and the cells"): every number must equal the exact path's (medians and
p90 within one histogram bin), on random histories where tickets move between queues (and
kinds) and are reassigned between agents, with the cells kept by retract-and-apply (day cells
only, weeks and months stale), after the fold, and after the set-based rebuild.
"""

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection, transaction

from metrics import dashboard, rollup, services
from metrics.dashboard import rollup as dashboard_rollup
from metrics.models import TicketMetrics, TicketSegment
from metrics.services import reporting_zone
from tests.dashboard.test_rollup import _close, _comparable
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tests.metrics.histories import random_action
from tickets import services as ticket_services
from tickets.models import Ticket

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the rollup path is PostgreSQL's")


def _history(seed):
    """Tickets moved between four queues of both kinds and reassigned between three agents, each
    step recomputed like the worker does (retract-and-apply of the ticket's cells)."""
    rnd = random.Random(seed)
    queues = [QueueFactory(), QueueFactory(kind="service"), QueueFactory(), QueueFactory(kind="service")]
    agents = [AgentFactory(), AgentFactory(), AgentFactory()]
    base = datetime(2025, 10, 30, 13, 0, tzinfo=UTC)
    with transaction.atomic():
        tickets = [
            ticket_make(queue=rnd.choice(queues), requester=CustomerFactory(), occurred_at=base) for _ in range(14)
        ]
    clock = {t.pk: base for t in tickets}
    for step in range(190):
        t = rnd.choice(tickets)
        t.refresh_from_db()
        at = clock[t.pk] = clock[t.pk] + timedelta(seconds=rnd.randint(600, 20 * 3600))
        with transaction.atomic():
            if rnd.random() < 0.15 and t.status != "closed":
                assignee = rnd.choice(agents)
                ticket_services.ticket_assign(ticket_id=t.pk, assignee=assignee, actor=agents[0], occurred_at=at)
            else:
                random_action(rnd, t, rnd.choice(agents), at, spam_p=0.05, late_hours=10, queues=queues)
            services.tickets_recompute(ticket_ids=[t.pk], as_of=at + timedelta(hours=step % 5))
    with transaction.atomic():
        services.tickets_recompute(
            ticket_ids=list(Ticket.objects.values_list("pk", flat=True)), as_of=base + timedelta(days=60)
        )
    return queues, agents


def _scopes(queues, agents):
    zone = reporting_zone()
    whole = dashboard.Period(date(2025, 10, 1), date(2025, 12, 31), zone)
    week = dashboard.Period(date(2025, 11, 3), date(2025, 11, 9), zone)
    for agent in agents:
        yield dashboard.Scope(period=whole, bucket="week", agent_id=agent.pk)
        yield dashboard.Scope(period=whole, bucket="day", agent_id=agent.pk, clock="bus", with_agents=False)
        yield dashboard.Scope(period=week, bucket="day", agent_id=agent.pk, with_agents=False)
        for kind in ("support", "service"):
            yield dashboard.Scope(period=whole, bucket="week", agent_id=agent.pk, kind=kind)
        for queue in queues[:2]:
            yield dashboard.Scope(period=whole, bucket="week", agent_id=agent.pk, queue_id=queue.pk)


def _timeless(dash):
    """The page without the ages measured from the wall clock (both builds read it)."""
    out = _comparable(dash)
    out["tiles"].pop("awaiting_first_reply", None)
    for side in out["backlog"].values():
        for k in ("median_age_s", "p90_age_s", "max_age_s"):
            side.pop(k, None)
    return out


def _compare(settings, scopes):
    compared = 0
    for scope in scopes:
        settings.DASHBOARD_EXACT_MAX_TICKETS = 10**9
        exact = dashboard.dashboard_build(scope=scope)
        settings.DASHBOARD_EXACT_MAX_TICKETS = -1
        cells = dashboard.dashboard_build(scope=scope)
        assert cells.approx and not exact.approx, scope
        _close(_timeless(exact), _timeless(cells), f"agent {scope.agent_id} {scope.kind} {scope.queue_id}")
        for kpi in ("frt", "created", "csat"):
            compared += exact.tiles[kpi][scope.kind or "all"]["cur"].get("n") or 0
    return compared


def test_agent_filter_from_cells_equals_the_exact_path_after_moves_and_reassignments(db, settings, client):
    queues, agents = _history(31)
    moved = {t for t, n in _segments_per_ticket().items() if n > 1}
    assert len(moved) >= 5  # tickets that moved between queues (corrections in dims 'a')
    assignees = {a for a in Ticket.objects.values_list("assignee_id", flat=True) if a}
    assert len(assignees) >= 2
    scopes = list(_scopes(queues, agents))
    # cells as the worker left them: day cells only, weeks and months read from their days
    assert dashboard_rollup.metric_rollup.stale_spans()
    compared = _compare(settings, scopes)
    rollup.fold()
    assert _compare(settings, scopes) == compared
    services.metrics_rollups_rebuild()
    assert _compare(settings, scopes) == compared
    assert compared > 60  # real numbers, not empty pages
    _pages_agree(settings, client, agents[1])


def _csv(response):
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode())))


def _pages_agree(settings, client, agent):
    """The agent's own page as CSV (tiles, trend) from the cells equals the exact one (counts, ratios,
    means; medians and p90 within one bin), and each tile's drill-down lists as many tickets."""
    client.force_login(agent)
    query = {"range": "custom", "start": "2025-10-01", "end": "2025-12-31"}
    pages = {}
    for exact_max in (10**9, -1):
        settings.DASHBOARD_EXACT_MAX_TICKETS = exact_max
        pages[exact_max] = {
            t: _csv(client.get("/agent/my-stats/", {**query, "format": "csv", "table": t})) for t in ("tiles", "trend")
        }
        assert ("estimated from histograms" in client.get("/agent/my-stats/", query).content.decode()) == (
            exact_max < 0
        )
    exact, cells = pages[10**9], pages[-1]
    header = exact["tiles"][0]
    estimated = {header.index("median_s"), header.index("p90_s"), header.index("max_s")}
    rows = [r for r in exact["tiles"][1:] if r[0] != "awaiting_first_reply"]
    assert len(rows) > 30
    for e, c in zip(exact["tiles"][1:], cells["tiles"][1:], strict=True):
        if e[0] in ("awaiting_first_reply", "backlog"):
            continue  # live ages
        for i, (a, b) in enumerate(zip(e, c, strict=True)):
            if i in estimated and a and b:
                assert abs(float(a) - float(b)) <= (rollup.RATIO - 1) * float(a) + 1e-6, (e, c)
            elif a and b and i >= 3:
                assert float(a) == pytest.approx(float(b), rel=1e-9, abs=1e-6), (header[i], e, c)
            else:
                assert a == b, (header[i], e, c)
    trend_header = exact["trend"][0]
    counts = [trend_header.index(k) for k in ("created", "resolved", "frt_n", "csat_responses", "csat_satisfied")]
    assert [[r[i] for i in counts] for r in exact["trend"]] == [[r[i] for i in counts] for r in cells["trend"]]
    frt_n = next(int(r[3]) for r in exact["tiles"] if r[:3] == ["frt", "all", "cur"])
    created_n = next(int(r[3]) for r in exact["tiles"] if r[:3] == ["created", "all", "cur"])
    assert frt_n + created_n > 0
    for metric, n in (("frt", frt_n), ("created", created_n)):
        drill = _csv(client.get("/agent/my-stats/drill/", {**query, "metric": metric, "format": "csv"}))
        assert len(drill) - 1 == n, metric


def _segments_per_ticket():
    out = {}
    for t in TicketSegment.objects.values_list("ticket_id", flat=True):
        out[t] = out.get(t, 0) + 1
    return out


def test_agent_cells_path_is_chosen_only_for_what_the_cells_hold(examples, settings):
    services.metrics_rollups_rebuild()
    zone = reporting_zone()
    whole = dashboard.Period(date(2025, 10, 1), date(2025, 11, 30), zone)
    settings.DASHBOARD_EXACT_MAX_TICKETS = -1
    assert dashboard_rollup.cell_cohorts(dashboard.Scope(period=whole, agent_id=1)) == ("frt", "csat", "created")
    assert dashboard_rollup.cell_cohorts(dashboard.Scope(period=whole, agent_id=1, priority="high")) == ()
    assert dashboard_rollup.cell_cohorts(dashboard.Scope(period=whole, channel="email")) == ()
    settings.DASHBOARD_EXACT_MAX_TICKETS = 10**9
    assert dashboard_rollup.cell_cohorts(dashboard.Scope(period=whole, agent_id=1)) == ()


def _statements(build):
    """(sql, params) of every statement `build()` runs (Django's execute wrapper)."""
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        build()
    return seen


def _plan(cur, sql, params):
    cur.execute("EXPLAIN " + sql, params)
    return "\n".join(r[0] for r in cur.fetchall())


# cohort -> (segment instant, its covering agent index): the segment read is index-only.
_COVERED = {
    "first_res": ("first_resolved_at", "tseg_ag_first_res"),
    "offered": ("csat_offered_at", "tseg_ag_offered"),
    "sla_fr": ("sla_first_reply_outcome_at", "tseg_ag_sla_fr"),
    "sla_res": ("sla_resolution_outcome_at", "tseg_ag_sla_res"),
}


def test_agent_filter_reads_its_rows_through_the_agent_indexes(db, settings):
    """With an agent filter the backlog finds its candidate tickets (unresolved at some instant of
    the period) by the agent-leading tm_ag_backlog, not by a scan of every ticket's row, and four
    exact cohorts read the agent's segments index-only from covering indexes (bench/DASHBOARD.md
    "Fourth round (session 9)"); the page is the same with and without those indexes."""
    from metrics.dashboard import backlog

    _history(31)
    resolvers = [a for a in TicketMetrics.objects.values_list("resolver_id", flat=True) if a]
    agent = max(set(resolvers), key=resolvers.count)  # the busiest resolver
    zone = reporting_zone()
    scope = dashboard.Scope(
        period=dashboard.Period(date(2025, 10, 1), date(2025, 12, 31), zone), agent_id=agent, with_agents=False
    )
    now = datetime(2026, 1, 15, tzinfo=UTC)
    settings.DASHBOARD_EXACT_MAX_TICKETS = 10**9
    stmts = _statements(lambda: dashboard.dashboard_build(scope=scope))
    backlog_stmts = [
        s for s in _statements(lambda: backlog.backlog_series(scope=scope, now=now)) if "statusinterval" in s[0]
    ]
    assert len(backlog_stmts) == 2  # the counts per snapshot and the last snapshot's summary
    with transaction.atomic(), connection.cursor() as cur:
        # a handful of rows: make the planner show what it can use
        cur.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
        for sql, params in backlog_stmts:
            assert "tm_ag_backlog" in _plan(cur, sql, params)
        for instant, index in _COVERED.values():
            sql, params = next(s for s in stmts if f"s.{instant} >= %s" in s[0])
            assert f"Index Only Scan using {index} " in _plan(cur, sql, params), index
    page = _timeless(dashboard.dashboard_build(scope=scope))
    series, _ = backlog.backlog_series(scope=scope, now=now)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DROP INDEX tm_ag_backlog, " + ", ".join(index for _, index in _COVERED.values()))
        assert _timeless(dashboard.dashboard_build(scope=scope)) == page
        assert backlog.backlog_series(scope=scope, now=now)[0] == series
        transaction.set_rollback(True)
    assert sum(r["backlog"] for r in series) > 0
    assert page["tiles"]["first_resolution"]["all"]["cur"]["n"] > 0


def test_last_resolution_joins_the_ticket_rows_of_its_range_not_one_per_segment(db, settings):
    """The last-resolution cohort's segments take their tickets' escalated / not-escalated
    resolution times from the ticket rows of the same range (every segment carries its ticket's
    last resolution and resolver), not by a primary-key probe per segment: My stats 30 days,
    30,927 -> 8,094 buffers for that statement at 100k (docs/metrics.md "Filters and the cells"). The
    numbers equal the portable path's, with and without an agent, queue or kind filter."""
    queues, agents = _history(32)
    zone = reporting_zone()
    whole = dashboard.Period(date(2025, 10, 1), date(2025, 12, 31), zone)
    settings.DASHBOARD_EXACT_MAX_TICKETS = 10**9
    scopes = [dashboard.Scope(period=whole, bucket="week"), dashboard.Scope(period=whole, kind="service")]
    for agent in agents:
        scopes += [
            dashboard.Scope(period=whole, bucket="week", agent_id=agent.pk, with_agents=False),
            dashboard.Scope(period=whole, bucket="week", agent_id=agent.pk, kind="support"),
            dashboard.Scope(period=whole, bucket="week", agent_id=agent.pk, queue_id=queues[1].pk),
        ]
    escalated = 0
    for scope in scopes:
        sql_path = dashboard.dashboard_build(scope=scope)
        with dashboard.portable():
            _close(_timeless(dashboard.dashboard_build(scope=scope)), _timeless(sql_path), str(scope))
        escalated += sql_path.tiles["resolution_escalated"]["all"]["cur"]["n"]
    assert escalated > 0  # the ticket-level columns were read
    scope = scopes[2]  # My stats of the first agent
    stmts = _statements(lambda: dashboard.dashboard_build(scope=scope))
    last_res = [s for s in stmts if "s.last_resolved_at >= %s" in s[0]]
    assert last_res
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
        for sql, params in last_res:
            assert "metrics_ticketmetrics_pkey" not in _plan(cur, sql, params)
