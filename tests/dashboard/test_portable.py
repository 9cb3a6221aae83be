"""The database-independent dashboard path (used on the embedded SQLite default) gives the
same numbers as the PostgreSQL SQL path, on the worked examples (docs/metrics.md E9/E10)."""

import math
from dataclasses import asdict, replace
from datetime import date, datetime

import pytest

from metrics import dashboard
from metrics.services import reporting_zone


def _close(a, b, path="") -> None:
    """Deep equality; floats within 1e-6 (percentile_cont rounding, docs/metrics.md §1.7)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, f"{path}: {a!r} != {b!r}"
        assert math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{path}: {len(a)} != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _scopes():
    zone = reporting_zone()
    whole = dashboard.Period(date(2025, 10, 1), date(2025, 11, 30), zone)
    week = dashboard.Period(date(2025, 10, 27), date(2025, 11, 2), zone)
    yield dashboard.Scope(period=week, bucket="day")
    yield dashboard.Scope(period=whole, bucket="week")
    yield dashboard.Scope(period=whole, bucket="day", clock="bus")
    yield dashboard.Scope(period=whole, bucket="week", kind="support")
    yield dashboard.Scope(
        period=dashboard.Period(date(2025, 10, 20), date(2025, 11, 30), zone), bucket="day", with_agents=False
    )


def _comparable(dash: dashboard.Dashboard) -> dict:
    out = asdict(dash)
    out.pop("as_of")
    out["backlog"].pop("at", None)
    for r in out["backlog_trend"]:
        r.pop("at")
    return out


@pytest.mark.django_db
def test_portable_dashboard_equals_sql(examples):
    seen_numbers = 0
    for scope in _scopes():
        sql = _comparable(dashboard.dashboard_build(scope=scope))
        with dashboard.portable():
            py = _comparable(dashboard.dashboard_build(scope=scope))
        _close(sql, py, str(scope.period))
        seen_numbers += sum(1 for a in sql["agents"]) + sum(r["created"] for r in sql["trend"])
    assert seen_numbers > 0  # the comparison is not between two empty pages


@pytest.mark.django_db
def test_portable_dashboard_filters_equal_sql(examples):
    from tickets.models import Queue

    base = next(_scopes())
    whole = replace(base, period=dashboard.Period(date(2025, 10, 1), date(2025, 11, 30), reporting_zone()))
    agent_id = next(a["agent_id"] for a in dashboard.dashboard_build(scope=whole).agents if a["agent_id"])
    for scope in (
        replace(whole, queue_id=Queue.objects.order_by("pk").values_list("pk", flat=True)[1]),
        replace(whole, agent_id=agent_id, with_agents=False),
        replace(whole, channel="email"),
    ):
        sql = _comparable(dashboard.dashboard_build(scope=scope))
        with dashboard.portable():
            py = _comparable(dashboard.dashboard_build(scope=scope))
        _close(sql, py, repr(scope.filters()))


@pytest.mark.django_db
def test_portable_drill_rows_equal_sql(examples):
    zone = reporting_zone()
    scope = dashboard.Scope(period=dashboard.Period(date(2025, 10, 1), date(2025, 11, 30), zone), bucket="week")
    now = datetime.fromisoformat("2025-12-01T05:00:00+00:00")
    total = 0
    drills = [dashboard.Drill(metric=m) for m in dashboard.DRILL_METRICS]
    drills += [
        dashboard.Drill(metric="frt", side="support"),
        dashboard.Drill(metric="frt", hist=1),
        dashboard.Drill(metric="csat", period="prev"),
    ]
    drills += [
        dashboard.Drill(metric="resolved", bucket=date(2025, 10, 27)),
        dashboard.Drill(metric="backlog", bucket=date(2025, 10, 27)),
    ]
    for drill in drills:
        sql = list(dashboard.drill_rows(scope=scope, drill=drill, now=now))
        with dashboard.portable():
            py = list(dashboard.drill_rows(scope=scope, drill=drill, now=now))
        _close(sql, py, repr(drill))
        total += len(sql)
    assert total > 50
