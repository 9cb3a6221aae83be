"""docs/metrics.md E1-E10 end to end: `helpdesk_config apply` + `import_tickets`,
recompute through the storage path, assert every value of expected.json.
"""

import json
from datetime import date, datetime

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum

from accounts.models import User
from metrics import rollup, selectors
from metrics.models import DashboardRollup, TicketMetrics
from metrics.present import row_present, stored_row
from metrics.services import reporting_zone, tickets_recompute
from tests.metrics.jsonl_events import FIXTURES
from tests.metrics.test_compute import assert_same
from tickets.models import Queue, Ticket

EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
AS_OF = datetime.fromisoformat(EXPECTED["as_of"])
AGG = EXPECTED["aggregates"]


def _utc(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def loaded(db):
    call_command("helpdesk_config", "apply", str(FIXTURES / "config.json"))
    call_command("import_tickets", str(FIXTURES / "examples.jsonl"))
    numbers = dict(Ticket.objects.values_list("external_id", "pk"))
    assert len(numbers) == 16
    with transaction.atomic():
        tickets_recompute(ticket_ids=list(numbers.values()), as_of=AS_OF)
    return numbers


def _ext(numbers):
    return {pk: ext for ext, pk in numbers.items()}


def _emails():
    return dict(User.objects.values_list("pk", "email"))


def _values(drill, numbers):
    ext = _ext(numbers)
    return {ext[tid]: value for tid, value in drill}


def test_every_ticket_value(loaded):
    """Per-ticket values read back from TicketMetrics (the stored row)."""
    emails = _emails()
    for ext, pk in loaded.items():
        stored = TicketMetrics.objects.get(ticket_id=pk)
        row = stored_row(stored)
        expected = dict(EXPECTED["tickets"][ext])
        expected.pop("external_id")
        assert_same(row_present(row, emails=emails), expected, ext)
        assert stored.definition_version >= 1


def _assert_duration(block, numbers, start=None, end=None):
    for key, spec in block.items():
        if not isinstance(spec, dict) or "values_s" not in spec or key == "frt_zendesk_cal_s":
            continue
        summary = selectors.duration_summary(metric=key, start=start, end=end)
        expect = {k: spec[k] for k in ("n", "sum_s", "mean_s", "median_s", "p90_s")}
        assert_same(summary, expect, key)
        drill = selectors.duration_drilldown(metric=key, start=start, end=end)
        assert_same(_values(drill, numbers), spec["values_s"], f"{key}.values")


def test_e10a_week(loaded):
    week = AGG["E10a_week"]
    zone = reporting_zone()
    start, end = selectors.local_day_bounds(date(2025, 10, 27), date(2025, 11, 2), zone)
    assert start == _utc(week["start_utc"])
    assert end == _utc(week["end_utc"])
    assert (end - start).total_seconds() == week["length_s"]
    _assert_duration(week, loaded, start, end)
    csat = selectors.csat_summary(start=start, end=end)
    assert csat["satisfied"] == week["csat"]["satisfied"]
    assert csat["responses"] == week["csat"]["responses"]
    assert csat["pct"] == pytest.approx(week["csat"]["pct"], abs=1e-6)


def test_e10b_day(loaded):
    day = AGG["E10b_day"]
    start, end = _utc(day["start_utc"]), _utc(day["end_utc"])
    _assert_duration(day, loaded, start, end)
    ext = _ext(loaded)
    assert [ext[t] for t in selectors.count_created(start=start, end=end)] == day["tickets_created"]["tickets"]
    assert [ext[t] for t in selectors.count_resolved(start=start, end=end)] == day["tickets_resolved"]["tickets"]
    csat = selectors.csat_summary(start=start, end=end)
    assert (csat["satisfied"], csat["responses"], csat["pct"]) == (3, 3, 100.0)
    sla = selectors.sla_summary(start=start, end=end)
    assert (sla["breached"], sla["with_outcome"], sla["pct"]) == (1, 2, 50.0)
    fcr = selectors.fcr_summary(start=start, end=end)
    assert (fcr["fcr"], fcr["eligible"]) == (1, 3)
    assert fcr["pct"] == pytest.approx(day["fcr"]["pct"], abs=1e-6)
    backlog = selectors.backlog_at(instant=_utc(day["backlog_end_of_day"]["snapshot_utc"]))
    assert backlog["backlog"] == 0
    assert backlog["median_age_s"] is None


def test_e10c_whole_fixture(loaded):
    whole = AGG["E10c_fixture"]
    _assert_duration(whole, loaded)
    csat = selectors.csat_summary()
    assert (csat["satisfied"], csat["responses"]) == (4, 8)
    assert csat["pct"] == pytest.approx(whole["csat"]["pct"], abs=1e-6)
    assert (csat["score_sum"], csat["score_n"]) == (19, 6)
    assert csat["mean_score"] == pytest.approx(whole["csat_mean_score"]["mean"], abs=1e-6)
    rate = selectors.csat_response_rate()
    assert (rate["responses"], rate["offered"]) == (8, 9)
    assert rate["pct"] == pytest.approx(whole["csat_response_rate"]["pct"], abs=1e-6)
    fcr = selectors.fcr_summary()
    assert (fcr["fcr"], fcr["eligible"], fcr["zero_touch"]) == (6, 12, 1)
    assert fcr["pct"] == pytest.approx(50.0)
    reopen = selectors.reopen_summary()
    assert (reopen["reopened"], reopen["resolved"], reopen["substantive"], reopen["reopens"]) == (3, 13, 2, 3)
    assert reopen["pct"] == pytest.approx(whole["reopen_rate"]["pct"], abs=1e-6)
    assert reopen["substantive_pct"] == pytest.approx(whole["substantive_reopen_rate"]["pct"], abs=1e-6)
    assert reopen["reopens_per_resolved"] == pytest.approx(whole["reopens_per_resolved"]["value"], abs=1e-6)
    sla = selectors.sla_summary()
    expected_sla = whole["sla_breach_rate"]
    assert (sla["breached"], sla["with_outcome"], sla["pct"]) == (1, 4, 25.0)
    for target, spec in expected_sla["by_target"].items():
        got = sla["by_target"][target]
        assert (got["breached"], got["with_outcome"], got["pct"]) == (
            spec["breached"],
            spec["with_outcome"],
            spec["pct"],
        )
    aht = selectors.duration_summary(metric="handle_s")
    assert aht["mean_s"] == whole["aht_s"]
    included = sorted(
        _ext(loaded)[t] for t in TicketMetrics.objects.filter(excluded=False).values_list("ticket_id", flat=True)
    )
    assert included == whole["included_tickets"]


def test_e7_handle_time_by_agent(loaded):
    e7 = AGG["E7_handle_time"]
    emails = _emails()
    by_agent = {emails[a]: v for a, v in selectors.handle_by_agent().items()}
    assert {k: v["aht_s"] for k, v in by_agent.items()} == e7["aht_by_agent_s"]
    assert {k: v["handle_sum_s"] for k, v in by_agent.items()} == e7["handle_sum_by_agent_s"]
    assert {k: v["busy_s"] for k, v in by_agent.items()} == e7["busy_time_by_agent_s"]
    team = selectors.duration_summary(metric="handle_s")
    assert (team["n"], team["mean_s"], team["median_s"], team["p90_s"]) == (2, 1710, 1710, pytest.approx(2262))


def test_e9_backlog_snapshots(loaded):
    ext = _ext(loaded)
    for snap in AGG["E9_backlog"]:
        got = selectors.backlog_at(instant=_utc(snap["snapshot_utc"]))
        tickets = [
            {"external_id": ext[t["ticket_id"]], "status": t["status"], "age_s": t["age_s"]} for t in got["tickets"]
        ]
        assert_same(tickets, snap["tickets"], snap["day"])
        for key in ("backlog", "actionable", "median_age_s", "max_age_s"):
            assert_same(got[key], snap[key], f"{snap['day']}.{key}")


def _day_cells(metric: str, first: date, last: date, *, dim: str = "", key: int = 0) -> dict:
    """Σ n, sum_s, num, den of the dashboard's day cells over local days [first, last]: a queue's
    cells (dim 'q'), or the whole tickets (dim ''), which day cells hold as the queue cells plus
    the kind and whole-ticket differences (docs/metrics.md#rollup-cell-shape). A duration's
    cells are its bins (each with count and sum), a count's its one row: all bins are summed."""
    cells = DashboardRollup.objects.filter(metric=metric, span="d", start__range=(first, last))
    cells = cells.filter(dim__in=("", "q")) if dim == "" else cells.filter(dim=dim, key=key)
    agg = cells.aggregate(n=Sum("n"), sum_s=Sum("sum_s"), num=Sum("num"), den=Sum("den"))
    return {k: (v or 0) for k, v in agg.items()}


def test_e10b_cells(loaded):
    """E10(b) from the dashboard's day cells alone (retract-and-apply in the recompute)."""
    d = date(2025, 11, 4)
    assert _day_cells("c:created", d, d)["n"] == 2
    resolved = _day_cells("c:last_res", d, d)  # n resolved, num FCR, den FCR-eligible
    assert (resolved["n"], resolved["num"], resolved["den"]) == (3, 1, 3)
    handle = _day_cells("handle_s", d, d)
    assert (handle["n"], handle["sum_s"]) == (2, 3420)
    sla_fr, sla_res = _day_cells("c:sla_fr", d, d), _day_cells("c:sla_res", d, d)  # den = breached
    assert (sla_fr["den"] + sla_res["den"], sla_fr["n"] + sla_res["n"]) == (1, 2)
    # by queue, a value goes to the queue segment holding its instant (docs/metrics.md §1.8)
    first, last = date(2025, 10, 27), date(2025, 11, 2)
    week = _day_cells("frt_cal_s", first, last)
    queues = [_day_cells("frt_cal_s", first, last, dim="q", key=q) for q in Queue.objects.values_list("pk", flat=True)]
    assert week["n"] == sum(q["n"] for q in queues) > 0
    assert week["sum_s"] == sum(q["sum_s"] for q in queues)


def _cells() -> set:
    rollup.fold()
    return set(DashboardRollup.objects.exclude(n=0, sum_s=0, num=0, den=0).values_list())


def test_recompute_is_idempotent(loaded):
    before = {c[1:] for c in _cells()}  # without the id
    with transaction.atomic():
        tickets_recompute(ticket_ids=list(loaded.values()), as_of=AS_OF)
        tickets_recompute(ticket_ids=list(loaded.values()), as_of=AS_OF)
    after = {c[1:] for c in _cells()}
    assert before == after and len(before) > 100
