"""Escalation KPIs, next-reply aggregates and "awaiting first reply now" (docs/metrics.md §3).

Every number is checked against a hand-worked example and against an independent count of the
events themselves (group.changed payloads, message rows), on the SQL and the portable path, with
filters, drill-downs, the CSV and the API, and the access rules.
"""

import csv
import io
import random
import statistics
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.dashboard import Drill, Period, Scope, dashboard_build, drill_rows, portable
from metrics.services import tickets_recompute
from tests.factories import AgentFactory, CustomerFactory, ManagerFactory, QueueFactory, ticket_make
from tickets import services
from tickets.models import QueueKind, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

UTCZ = ZoneInfo("UTC")
DAY = date(2025, 11, 3)
T0 = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
AS_OF = datetime(2025, 11, 10, tzinfo=UTC)
ESC_KPIS = ("escalation_rate", "esc_to_service", "esc_to_support", "ping_pong")


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _scope(**filters) -> Scope:
    return Scope(period=Period(DAY, DAY, UTCZ), **filters)


@pytest.fixture
def desk():
    billing = QueueFactory(slug="billing", name="Billing", kind=QueueKind.SERVICE)
    accounts = QueueFactory(slug="accounts", name="Accounts", kind=QueueKind.SERVICE)
    tech = QueueFactory(slug="tech", name="Tech", kind=QueueKind.SUPPORT)
    sam, alice = AgentFactory(email="sam@desk.test"), AgentFactory(email="alice@desk.test")
    return {"billing": billing, "accounts": accounts, "tech": tech, "sam": sam, "alice": alice}


def _reply(t, agent, at, status=None):
    services.message_post(ticket_id=t.pk, author=agent, body="r", occurred_at=at, apply_rules=False)
    if status:
        services.ticket_transition(ticket_id=t.pk, target=status, actor=agent, occurred_at=at)


def _move(t, queue, agent, at):
    services.ticket_move_queue(ticket_id=t.pk, queue=queue, actor=agent, reason="needs them", occurred_at=at)


@pytest.fixture
def example(desk):
    """T1 = E11 (service → support), T2 ping-pong (support → service → support), T3 a same-kind transfer,
    T4 never replied (awaiting). All on Mon 2025-11-03, calendar time."""
    d = desk
    t1 = ticket_make(queue=d["billing"], occurred_at=_h(0))
    _reply(t1, d["sam"], _h(1 / 6), "open")
    _move(t1, d["tech"], d["sam"], _h(1))
    services.ticket_assign(ticket_id=t1.pk, assignee=d["alice"], actor=d["alice"], occurred_at=_h(1))
    _reply(t1, d["alice"], _h(2), "pending")
    t1.refresh_from_db()
    services.message_post(ticket_id=t1.pk, author=t1.requester, body="c", occurred_at=_h(4), apply_rules=False)
    _reply(t1, d["alice"], _h(5), "solved")

    t2 = ticket_make(queue=d["tech"], occurred_at=_h(0))
    _move(t2, d["billing"], d["alice"], _h(0.5))
    _move(t2, d["tech"], d["sam"], _h(1))
    _reply(t2, d["alice"], _h(1.5), "open")
    _reply(t2, d["alice"], _h(2), "solved")

    t3 = ticket_make(queue=d["billing"], occurred_at=_h(0))
    _move(t3, d["accounts"], d["sam"], _h(20 / 60))
    _reply(t3, d["sam"], _h(40 / 60), "open")
    _reply(t3, d["sam"], _h(1), "solved")

    t4 = ticket_make(queue=d["tech"], occurred_at=_h(3))
    ids = [t1.pk, t2.pk, t3.pk, t4.pk]
    with transaction.atomic():
        tickets_recompute(ticket_ids=ids, as_of=AS_OF)
    return dict(zip(("t1", "t2", "t3", "t4"), ids, strict=True))


def test_hand_checked_example(example):
    dash = dashboard_build(scope=_scope())
    tiles = dash.tiles
    cur = {k: tiles[k]["all"]["cur"] for k in tiles if "cur" in tiles[k]["all"]}
    assert (cur["escalation_rate"]["num"], cur["escalation_rate"]["den"], cur["escalation_rate"]["pct"]) == (2, 4, 50.0)
    assert (cur["esc_to_service"]["num"], cur["esc_to_service"]["den"]) == (1, 4)  # T2
    assert (cur["esc_to_support"]["num"], cur["esc_to_support"]["den"]) == (2, 4)  # T1, T2
    tte = cur["time_to_escalation"]
    assert (tte["n"], tte["median_s"], tte["mean_s"]) == (2, 2700.0, 2700.0)  # 3600 (T1), 1800 (T2)
    assert (cur["ping_pong"]["num"], cur["ping_pong"]["den"]) == (1, 2)  # T2
    esc, plain = cur["resolution_escalated"], cur["resolution_not_escalated"]
    assert (esc["n"], esc["median_s"]) == (2, 12600.0)  # 18000 (T1), 7200 (T2)
    assert (plain["n"], plain["median_s"]) == (1, 3600.0)  # T3: a transfer is not an escalation
    nrt = cur["next_reply"]
    assert (nrt["n"], nrt["median_s"]) == (1, 3600.0)  # T1: customer 13:00 → alice 14:00
    # Sides: the ticket's kind now (T1, T2, T4 support; T3 service).
    assert (
        tiles["escalation_rate"]["support"]["cur"]["num"] == 2
        and tiles["escalation_rate"]["support"]["cur"]["den"] == 3
    )
    assert tiles["escalation_rate"]["service"]["cur"]["num"] == 0
    # Awaiting first reply now: T4 only, waiting since its creation.
    aw = tiles["awaiting_first_reply"]
    assert aw["all"]["now"]["n"] == 1 and aw["support"]["now"]["n"] == 1 and aw["service"]["now"]["n"] == 0
    assert aw["all"]["now"]["oldest_since"] == _h(3)
    # Business clock (the test queues have no calendar: 24/7, so bus = cal).
    bus = dashboard_build(scope=_scope(clock="bus")).tiles
    assert bus["time_to_escalation"]["all"]["cur"]["median_s"] == 2700.0


def test_drill_downs_list_the_counted_tickets(example):
    scope = _scope()
    rows = list(drill_rows(scope=scope, drill=Drill("esc_to_support")))
    assert {r["ticket_id"] for r in rows if r["counted"]} == {example["t1"], example["t2"]}
    assert len(rows) == 4  # every created ticket, counted or not
    rows = list(drill_rows(scope=scope, drill=Drill("time_to_escalation")))
    assert [(r["ticket_id"], r["value_s"]) for r in rows] == [(example["t1"], 3600.0), (example["t2"], 1800.0)]
    rows = list(drill_rows(scope=scope, drill=Drill("next_reply")))
    assert [(r["ticket_id"], r["value_s"], r["instant"]) for r in rows] == [(example["t1"], 3600.0, _h(5))]
    rows = list(drill_rows(scope=scope, drill=Drill("awaiting_first_reply"), now=_h(4)))
    assert [(r["ticket_id"], r["age_s"]) for r in rows] == [(example["t4"], 3600.0)]
    with portable():
        assert [r["ticket_id"] for r in drill_rows(scope=scope, drill=Drill("ping_pong")) if r["counted"]] == [
            example["t2"]
        ]


def test_portable_path_equals_sql(example, desk):
    for scope in (_scope(), _scope(queue_id=desk["tech"].pk), _scope(kind="service"), _scope(clock="bus")):
        exact = dashboard_build(scope=scope).tiles
        with portable():
            py = dashboard_build(scope=scope).tiles
        for key in (*ESC_KPIS, "time_to_escalation", "resolution_escalated", "next_reply"):
            assert py[key] == exact[key], key
        for side in ("support", "service", "all"):  # live: equal up to the instant each was read
            a, b = py["awaiting_first_reply"][side]["now"], exact["awaiting_first_reply"][side]["now"]
            assert (a["n"], a["oldest_since"]) == (b["n"], b["oldest_since"])


def test_filters(example, desk):
    tiles = dashboard_build(scope=_scope(queue_id=desk["billing"].pk)).tiles  # T1, T2 left billing: none now
    assert tiles["escalation_rate"]["all"]["cur"]["den"] == 0
    tiles = dashboard_build(scope=_scope(queue_id=desk["tech"].pk)).tiles
    assert (tiles["escalation_rate"]["all"]["cur"]["num"], tiles["escalation_rate"]["all"]["cur"]["den"]) == (2, 3)
    assert tiles["awaiting_first_reply"]["all"]["now"]["n"] == 1
    tiles = dashboard_build(scope=_scope(priority="urgent")).tiles
    assert tiles["escalation_rate"]["all"]["cur"]["den"] == 0 and tiles["next_reply"]["all"]["cur"]["n"] == 0
    assert tiles["awaiting_first_reply"]["all"]["now"]["n"] == 0
    tiles = dashboard_build(scope=_scope(channel="portal")).tiles
    assert tiles["escalation_rate"]["all"]["cur"]["den"] == 4
    # Agent: next reply = the replier (alice), resolution = the resolver.
    alice = desk["alice"].pk
    tiles = dashboard_build(scope=_scope(agent_id=alice, with_agents=False)).tiles
    assert tiles["next_reply"]["all"]["cur"]["n"] == 1
    assert tiles["resolution_escalated"]["all"]["cur"]["n"] == 1  # T1 (resolver alice); T2 had no assignee
    assert dashboard_build(scope=_scope(agent_id=desk["sam"].pk)).tiles["next_reply"]["all"]["cur"]["n"] == 0


# --- independent computation over random histories ----------------------------

ACTIONS = st.lists(
    st.tuples(
        st.integers(0, 3),  # ticket
        st.sampled_from(["move0", "move1", "move2", "reply", "customer", "solve", "reopen"]),
        st.integers(60, 3 * 3600),  # seconds later
    ),
    min_size=1,
    max_size=30,
)


def _text(response) -> str:
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


def _direct_counts(ticket_ids, start, end):
    """Count escalations from the group.changed payloads (from_kind / to_kind), nothing else."""
    created = {t.pk: t.created_at for t in Ticket.objects.filter(pk__in=ticket_ids)}
    moves = {tid: [] for tid in ticket_ids}
    for e in TicketEvent.objects.filter(ticket_id__in=ticket_ids, kind="group.changed").order_by("occurred_at", "id"):
        if e.data["from_kind"] != e.data["to_kind"]:
            moves[e.ticket_id].append((e.occurred_at, e.data["to_kind"]))
    in_period = [t for t in ticket_ids if start <= created[t] < end]
    firsts = {t: m[0][0] for t, m in moves.items() if m and start <= m[0][0] < end}
    return {
        "created": len(in_period),
        "escalated": sum(1 for t in in_period if moves[t]),
        "to_service": sum(1 for t in in_period if any(k == "service" for _, k in moves[t])),
        "to_support": sum(1 for t in in_period if any(k == "support" for _, k in moves[t])),
        "first": firsts,
        "ping_pong": sum(1 for t in firsts if len(moves[t]) >= 2),
        "tte": {t: (at - created[t]).total_seconds() for t, at in firsts.items()},
    }


def _direct_next_replies(ticket_ids, start, end):
    """M2 runs counted from the message rows: after the first agent reply, a customer message opens a
    run, the next agent reply closes it; a resolution in between cancels it."""
    out = []
    for tid in ticket_ids:
        evs = TicketEvent.objects.filter(ticket_id=tid, kind__in=["message.created", "status.changed"]).order_by(
            "occurred_at", "id"
        )
        replied, run = False, None
        for e in evs:
            if e.kind == "status.changed":
                if e.data.get("to") in ("solved", "closed"):
                    run = None
                continue
            if e.visibility != "public":
                continue
            if e.actor_role == "agent":
                if run is not None and start <= e.occurred_at < end:
                    out.append((tid, (e.occurred_at - run).total_seconds()))
                replied, run = True, None
            elif e.actor_role == "customer" and replied and run is None:
                run = e.occurred_at
    return sorted(out)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS, seed=st.integers(0, 1000))
def test_kpis_and_drill_downs_equal_counting_events(db, actions, seed):
    rnd = random.Random(seed)
    with transaction.atomic():
        queues = [
            QueueFactory(kind=QueueKind.SUPPORT),
            QueueFactory(kind=QueueKind.SERVICE),
            QueueFactory(kind=QueueKind.SUPPORT),
        ]
        agent = AgentFactory()
        tickets = [
            ticket_make(queue=queues[i % 2], requester=CustomerFactory(), occurred_at=T0 + timedelta(hours=6 * i))
            for i in range(4)
        ]
        clock = {t.pk: t.created_at for t in tickets}
        for idx, action, secs in actions:
            t = Ticket.objects.get(pk=tickets[idx].pk)
            at = clock[t.pk] = clock[t.pk] + timedelta(seconds=secs)
            if t.status == "closed":
                continue
            if action.startswith("move"):
                _move(t, queues[int(action[-1])], agent, at)
            elif action == "reply":
                _reply(t, agent, at)
            elif action == "customer":
                services.message_post(ticket_id=t.pk, author=t.requester, body="c", occurred_at=at, apply_rules=False)
            elif action == "solve" and t.status in Ticket.UNSOLVED:
                services.ticket_transition(ticket_id=t.pk, target="solved", actor=agent, occurred_at=at)
            elif action == "reopen" and t.status == "solved":
                services.ticket_transition(ticket_id=t.pk, target="open", actor=agent, occurred_at=at)
        ids = [t.pk for t in tickets]
        tickets_recompute(ticket_ids=ids, as_of=AS_OF + timedelta(days=30))
        first, last = DAY, DAY + timedelta(days=rnd.randint(0, 3))
        scope = Scope(period=Period(first, last, UTCZ))
        start, end = scope.period.start, scope.period.end
        want = _direct_counts(ids, start, end)
        for path in ("sql", "portable"):
            if path == "portable":
                with portable():
                    tiles = dashboard_build(scope=scope).tiles
            else:
                tiles = dashboard_build(scope=scope).tiles
            cur = {k: v["all"]["cur"] for k, v in tiles.items() if "cur" in v["all"]}
            assert cur["escalation_rate"]["den"] == want["created"]
            assert cur["escalation_rate"]["num"] == want["escalated"]
            assert cur["esc_to_service"]["num"] == want["to_service"]
            assert cur["esc_to_support"]["num"] == want["to_support"]
            assert (cur["ping_pong"]["num"], cur["ping_pong"]["den"]) == (want["ping_pong"], len(want["first"]))
            tte = cur["time_to_escalation"]
            assert tte["n"] == len(want["tte"])
            if want["tte"]:
                assert tte["median_s"] == pytest.approx(statistics.median(want["tte"].values()))
            nrt = _direct_next_replies(ids, start, end)
            assert cur["next_reply"]["n"] == len(nrt)
            if nrt:
                assert cur["next_reply"]["median_s"] == pytest.approx(statistics.median(v for _, v in nrt))
        drilled = [r for r in drill_rows(scope=scope, drill=Drill("escalation_rate")) if r["counted"]]
        assert len(drilled) == want["escalated"]
        drilled = [(r["ticket_id"], r["value_s"]) for r in drill_rows(scope=scope, drill=Drill("time_to_escalation"))]
        assert sorted(drilled) == sorted(want["tte"].items())
        drilled = [(r["ticket_id"], r["value_s"]) for r in drill_rows(scope=scope, drill=Drill("next_reply"))]
        assert sorted(drilled) == _direct_next_replies(ids, start, end)
        transaction.set_rollback(True)


# --- pages, CSV, API, access ------------------------------------------------------

DASH = "/manager/dashboard/"
DRILL = "/manager/dashboard/drill/"
CUSTOM = {"range": "custom", "start": "2025-11-03", "end": "2025-11-03"}


def test_tiles_csv_and_drill_pages(example, client):
    manager = ManagerFactory()
    client.force_login(manager)
    html = client.get(DASH, CUSTOM).content.decode()
    for key in (*ESC_KPIS, "time_to_escalation", "resolution_escalated", "next_reply", "awaiting_first_reply"):
        assert f'id="tile-{key}"' in html, key
    assert 'href="/manager/definitions/metrics/#ping-pong"' in html
    assert 'href="/manager/definitions/metrics/#awaiting-first-reply-now"' in html
    rows = list(csv.reader(io.StringIO(_text(client.get(DASH, {**CUSTOM, "format": "csv", "table": "tiles"})))))
    by = {(r[0], r[1], r[2]): r for r in rows[1:]}
    header = rows[0]
    assert by[("esc_to_support", "all", "cur")][header.index("numerator")] == "2"
    assert by[("awaiting_first_reply", "all", "now")][header.index("n")] == "1"
    page = client.get(DRILL, {**CUSTOM, "metric": "esc_to_support"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Help please" in body and "Tech" in body  # subject and queue name, as every drill-down


def test_api_summary(example, client):
    client.force_login(ManagerFactory())
    body = client.get("/api/v1/metrics/summary/", {"start": "2025-11-03", "end": "2025-11-03"}).json()
    assert body["escalations"]["esc_to_support"]["all"]["num"] == 2
    assert body["next_reply"]["all"]["n"] == 1
    assert body["awaiting_first_reply"]["all"]["n"] == 1


def test_agents_may_not_see_the_team_numbers(example, client, desk):
    client.force_login(desk["alice"])
    assert client.get(DASH, CUSTOM).status_code == 403
    assert client.get(DRILL, {**CUSTOM, "metric": "esc_to_support"}).status_code == 403
    # Their own page: forced to their own numbers (alice replied the one next reply).
    r = client.get("/agent/my-stats/", CUSTOM)
    assert r.status_code == 200
    rows = _text(client.get("/agent/my-stats/drill/", {**CUSTOM, "metric": "next_reply", "format": "csv"}))
    assert len(rows.strip().splitlines()) == 2
    client.force_login(desk["sam"])
    rows = _text(client.get("/agent/my-stats/drill/", {**CUSTOM, "metric": "next_reply", "format": "csv"}))
    assert len(rows.strip().splitlines()) == 1  # header only
