"""CES (M15) and NPS (M16, docs/metrics.md) on the main manager dashboard, through the KPI registry.

The fixture is tests/portal/test_surveys.py's `history` (its docstring has the arithmetic):
window 2026-11-02..08 (UTC). CES support: t1 = 6 (replaces 2), t2 = 3 -> n 2, mean 4.5,
easy 1 -> 50 %, offered t1 t2 t5 t7 = 4, answered 2 -> 50 %; service n 0. NPS per customer:
all: a 4 (replaces 9), b 10, c 8 -> (1 - 1) / 3 = 0, n 3. Per side (the answer's ticket side):
support: a 4 only (t1's 9 is replaced by t2's 4, both support) -> -100, n 1; service: b 10 (t3),
c 8 (t4, escalated to service before its resolution) -> (1 - 0) / 2 = 50, n 2.
"""

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime

import pytest
from django.db import connection
from rest_framework.test import APIClient

from metrics import dashboard, services
from tests.portal.test_surveys import history  # noqa: F401 - the shared survey fixture
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db
DASH = "/manager/dashboard/"
DRILL = "/manager/dashboard/drill/"
WINDOW = {"range": "custom", "start": "2026-11-02", "end": "2026-11-08"}
CES_SUPPORT = {"n": 2, "easy": 1, "easy_pct": 50.0, "mean_score": 4.5, "offered": 4, "responded": 2,
               "response_rate_pct": 50.0}  # fmt: skip


@pytest.fixture
def utc(settings):
    settings.HELPDESK_REPORTING_TIMEZONE = "UTC"


@pytest.fixture
def boss(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture(autouse=True)
def facts(utc, history):  # noqa: F811
    """The tiles read the survey facts the metrics engine writes with each ticket's metrics."""
    ids = TicketEvent.objects.filter(ticket__isnull=False).values_list("ticket_id", flat=True).distinct()
    services.tickets_recompute(ticket_ids=list(ids))


def _scope(**kw):
    from zoneinfo import ZoneInfo

    period = dashboard.Period(date(2026, 11, 2), date(2026, 11, 8), ZoneInfo("UTC"))
    return dashboard.Scope(period=period, **kw)


def _csv(response):
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_registry_tiles_hand_checked(utc, history):  # noqa: F811
    dash = dashboard.dashboard_build(scope=_scope())
    ces, nps = dash.tiles["ces"], dash.tiles["nps"]
    assert ces["support"]["cur"] == CES_SUPPORT
    assert ces["service"]["cur"]["n"] == 0 and ces["service"]["cur"]["mean_score"] is None
    assert ces["all"]["cur"] == CES_SUPPORT  # every CES answer is on a support ticket
    assert ces["all"]["prev"]["n"] == 0  # 2026-10-26..11-01: nothing
    assert nps["all"]["cur"] == {"n": 3, "promoters": 1, "passives": 1, "detractors": 1, "nps": 0.0}
    assert (nps["support"]["cur"]["n"], nps["support"]["cur"]["nps"]) == (1, -100.0)
    assert (nps["service"]["cur"]["n"], nps["service"]["cur"]["nps"]) == (2, 50.0)
    # Same numbers on the database-independent path.
    with dashboard.portable():
        assert dashboard.dashboard_build(scope=_scope()).tiles["ces"] == ces


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the rollup path is PostgreSQL's")
def test_rollup_path_computes_survey_kpis_exactly(utc, history, settings):  # noqa: F811
    exact = dashboard.dashboard_build(scope=_scope())
    services.metrics_rollups_rebuild()
    settings.DASHBOARD_EXACT_MAX_TICKETS = -1
    approx = dashboard.dashboard_build(scope=_scope())
    assert approx.approx and not exact.approx
    assert (approx.tiles["ces"], approx.tiles["nps"]) == (exact.tiles["ces"], exact.tiles["nps"])
    assert approx.tiles["ces"]["support"]["cur"] == CES_SUPPORT


def test_tiles_on_the_page_side_by_side(utc, history, boss):  # noqa: F811
    from tests.dashboard.test_dashboard import _values

    html = boss.get(DASH, WINDOW).content.decode()
    assert 'id="tile-ces"' in html and 'id="tile-nps"' in html
    v = _values(html)
    assert v[("ces", "support", "mean_score")] == 4.5 and v[("ces", "support", "pct")] == 50.0
    assert v[("ces", "support", "n")] == 2 and v[("ces", "support", "response_rate")] == 50.0
    assert v[("ces", "service", "n")] == 0 and v[("ces", "service", "mean_score")] is None
    assert (v[("nps", "support", "nps")], v[("nps", "service", "nps")], v[("nps", "all", "nps")]) == (-100, 50, 0)
    assert (v[("nps", "support", "n")], v[("nps", "service", "n")], v[("nps", "all", "n")]) == (1, 2, 3)
    assert "Customer effort score (M15)" in html  # "What is this?"
    # A queue filter: the queue at the last resolution before the answer. The service queue holds
    # t3 (b's NPS 10) and t4 (escalated to it before its resolution: c's NPS 8); no CES.
    v = _values(boss.get(DASH, {**WINDOW, "queue": history["t3"].queue_id}).content.decode())
    assert (v[("nps", "all", "nps")], v[("nps", "all", "n")], v[("ces", "all", "n")]) == (50, 2, 0)
    v = _values(boss.get(DASH, {**WINDOW, "queue": history["t1"].queue_id}).content.decode())
    assert (v[("nps", "all", "nps")], v[("ces", "all", "mean_score")]) == (-100, 4.5)
    # Answers carry no agent, priority or channel: the tile says so instead of a wrong number.
    filtered = boss.get(DASH, {**WINDOW, "priority": "high"}).content.decode()
    assert 'data-kpi="ces" data-stat="unfiltered"' in filtered
    assert 'data-kpi="ces" data-side' not in filtered


def _latest_ces_by_ticket(side_ticket_ids):
    """Counting the events directly: the latest ces.responded per ticket in the window."""
    start, end = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC)
    latest = {}
    events = TicketEvent.objects.filter(kind="ces.responded", ticket_id__in=side_ticket_ids).order_by(
        "occurred_at", "id"
    )
    for e in events:
        latest[e.ticket_id] = e
    return {t: e.data["value"] for t, e in latest.items() if start <= e.occurred_at < end}


def _latest_nps_by_customer():
    start, end = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC)
    latest = {}
    events = TicketEvent.objects.filter(kind="nps.responded", occurred_at__gte=start, occurred_at__lt=end)
    for e in events.order_by("occurred_at", "id"):
        latest[e.actor_id] = e
    return latest


def test_drill_down_rows_equal_counting_events(utc, history, boss):  # noqa: F811
    support = [history[k].pk for k in ("t1", "t2")]
    rows = _csv(boss.get(DRILL, {**WINDOW, "metric": "ces", "side": "support", "format": "csv"}))
    assert (
        {int(r["ticket_id"]): int(r["value"]) for r in rows}
        == _latest_ces_by_ticket(support)
        == {
            history["t1"].pk: 6,
            history["t2"].pk: 3,
        }
    )
    assert [r["category"] for r in sorted(rows, key=lambda r: int(r["ticket_id"]))] == ["easy", "not easy"]
    nps_rows = _csv(boss.get(DRILL, {**WINDOW, "metric": "nps", "format": "csv"}))
    by_customer = _latest_nps_by_customer()
    assert len(nps_rows) == len(by_customer) == 3
    assert sorted(int(r["value"]) for r in nps_rows) == sorted(e.data["value"] for e in by_customer.values())
    cats = defaultdict(int)
    for r in nps_rows:
        cats[r["category"]] += 1
    assert dict(cats) == {"promoter": 1, "passive": 1, "detractor": 1}
    page = boss.get(DRILL, {**WINDOW, "metric": "ces", "side": "support"}).content.decode()
    assert f'data-ticket="{history["t1"].pk}"' in page and "Customer effort (CES)" in page


def test_csv_columns(utc, history, boss):  # noqa: F811
    rows = _csv(boss.get(DASH, {**WINDOW, "format": "csv", "table": "tiles"}))
    by = {(r["metric"], r["side"], r["period"]): r for r in rows}
    ces = by[("ces", "support", "cur")]
    assert (ces["n"], ces["numerator"], ces["pct"], ces["mean_score"]) == ("2", "1", "50.0", "4.5")
    assert (ces["offered"], ces["responded"], ces["response_rate_pct"]) == ("4", "2", "50.0")
    nps = by[("nps", "all", "cur")]
    assert (nps["n"], nps["pct"], nps["numerator"]) == ("3", "0.0", "0")
    assert by[("nps", "service", "cur")]["pct"] == "50.0"
    assert by[("frt", "all", "cur")]["mean_score"] == ""  # the new columns are empty for the other KPIs


def test_summary_api(utc, history, manager, agent):  # noqa: F811
    api = APIClient()
    api.force_authenticate(manager)
    params = {"start": "2026-11-02", "end": "2026-11-08"}
    body = api.get("/api/v1/metrics/summary/", params).json()
    assert body["ces"]["support"] == CES_SUPPORT
    assert body["nps"]["all"]["nps"] == 0.0 and body["nps"]["service"]["n"] == 2
    assert set(api.get("/api/v1/metrics/summary/", {**params, "kind": "service"}).json()["nps"]) == {"service", "all"}
    # An agent's summary is forced to their own numbers: answers carry no agent, so none.
    api.force_authenticate(agent)
    mine = api.get("/api/v1/metrics/summary/", params).json()
    assert mine["ces"] is None and mine["nps"] is None


def test_relationship_survey_answers_count_in_all_not_per_side(utc, history, boss):  # noqa: F811
    """NPS answers of the relationship survey (no ticket, docs/surveys.md) join
    each customer's latest answer in "all", and the drill-down lists them;
    a side or queue has no such answers."""
    from tests.factories import CustomerFactory
    from tickets.services import relationship_survey_respond

    newcomer = CustomerFactory()
    relationship_survey_respond(customer=newcomer, value=10, occurred_at=datetime(2026, 11, 5, 12, tzinfo=UTC))
    nps = dashboard.dashboard_build(scope=_scope()).tiles["nps"]
    # all: a 4, b 10, c 8 and the newcomer's 10 -> (2 - 1) / 4 = 25.
    assert (nps["all"]["cur"]["n"], nps["all"]["cur"]["nps"]) == (4, 25.0)
    assert (nps["support"]["cur"]["n"], nps["service"]["cur"]["n"]) == (1, 2)
    rows = _csv(boss.get(DRILL, {**WINDOW, "metric": "nps", "format": "csv"}))
    assert len(rows) == 4 and sum(1 for r in rows if not r["ticket_id"]) == 1
    page = boss.get(DRILL, {**WINDOW, "metric": "nps"})
    assert page.status_code == 200 and "relationship survey" in page.content.decode()
