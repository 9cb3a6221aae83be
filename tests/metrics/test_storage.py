"""What the metrics tables store (bench/PERF_SECOND_PASS.md, "Storage, second round"): no
MetricsDaily, `data` JSON only for values no column holds, and rows written before that
(every export field in `data`) still read the same."""

import io
import json
from datetime import datetime

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from metrics.compute import compute
from metrics.models import TicketMetrics, TicketSegment
from metrics.present import DATA_DEFAULTS, EXPORT_FIELDS, SEGMENT_DATA_DEFAULTS, stored_row
from metrics.services import _jsonable, events_by_ticket, metrics_context, tickets_recompute
from tests.metrics.jsonl_events import FIXTURES
from tests.metrics.test_compute import assert_same
from tickets.models import Ticket

EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
AS_OF = datetime.fromisoformat(EXPECTED["as_of"])


@pytest.fixture
def loaded(db):
    call_command("helpdesk_config", "apply", str(FIXTURES / "config.json"), stdout=io.StringIO())
    call_command("import_tickets", str(FIXTURES / "examples.jsonl"), stdout=io.StringIO(), stderr=io.StringIO())
    ids = list(Ticket.objects.values_list("pk", flat=True))
    with transaction.atomic():
        tickets_recompute(ticket_ids=ids, as_of=AS_OF)
    return ids


def _export() -> dict[str, dict]:
    out = io.StringIO()
    call_command("metrics_export", "--format", "jsonl", stdout=out)
    return {row["external_id"]: row for row in map(json.loads, out.getvalue().splitlines())}


def test_metrics_daily_and_the_unused_interval_index_are_gone(db):
    assert "metrics_metricsdaily" not in connection.introspection.table_names()
    with connection.cursor() as cur:
        indexes = connection.introspection.get_constraints(cur, "metrics_ticketstatusinterval")
    assert not [name for name, info in indexes.items() if info["index"] and info["columns"][:1] == ["started_at"]]


def test_data_holds_only_values_no_column_holds(loaded):
    rows = list(TicketMetrics.objects.all())
    assert len(rows) == 16
    for m in rows:
        assert set(m.data) <= {*DATA_DEFAULTS, "csat_value"}, m.ticket_id
        assert all(m.data[k] != DATA_DEFAULTS.get(k) for k in m.data)  # defaults are not written
    assert sum(1 for m in rows if m.data) >= 3  # the lists and per-agent handle times are there
    for seg in TicketSegment.objects.all():
        assert set(seg.data) <= set(SEGMENT_DATA_DEFAULTS)
    with connection.cursor() as cur:
        cur.execute("SELECT avg(pg_column_size(data)), max(pg_column_size(data)) FROM metrics_ticketmetrics")
        mean, largest = cur.fetchone()
    # every export field in `data` took ~1,000 bytes a row (~1,060 on the 20k bench)
    assert mean < 150 and largest < 300, (mean, largest)


def _old_data(row: dict) -> dict:
    """`data` as written before (every export field, the resolver id, sessions and reply instants)."""
    data = {name: _jsonable(row.get(name)) for name in EXPORT_FIELDS if name != "resolver"}
    data["resolver_id"] = row.get("resolver_id")
    data["work_sessions"] = _jsonable(row.get("work_sessions") or {})
    data["next_reply_at"] = _jsonable(row.get("next_reply_at") or [])
    return data


def test_rows_written_before_read_the_same(loaded):
    """Rows of the old layout (no migration rewrites them) export exactly like the new ones and
    like expected.json; the API reads them the same way (`stored_row`)."""
    new = _export()
    ctx = metrics_context(as_of=AS_OF)
    for tid, evs in events_by_ticket(loaded).items():
        TicketMetrics.objects.filter(ticket_id=tid).update(data=_old_data(compute(evs, ctx)))
    assert all(len(m.data) > 60 for m in TicketMetrics.objects.all())
    old = _export()
    assert old == new
    for ext, row in old.items():
        assert_same(row, EXPECTED["tickets"][ext], ext)
    m = TicketMetrics.objects.get(ticket_id=Ticket.objects.get(external_id="T-110").pk)
    assert stored_row(m)["handle_by_agent_s"] == {str(k): v for k, v in m.data["handle_by_agent_s"].items()}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="catalogue and plans: PostgreSQL")
def test_the_cells_grain_is_their_primary_key_and_reads_stay_index_only(loaded):
    """docs/database-size.md: no surrogate `id` on the dashboard cells (its index served no query).
    The grain's key is the primary key and still carries the values (INCLUDE), so a cover range
    of day cells is an index-only scan of it; the fold (which deleted cells by `id`) still
    turns marked day cells into the week and month cells a rebuild writes."""
    from metrics import rollup
    from metrics.models import DashboardRollup

    with connection.cursor() as cur:
        cur.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'metrics_dashboardrollup'::regclass AND attnum > 0"
        )
        # A new database's table is created without `id`, not with a dropped one (that would
        # keep a null bitmap in every row and cost the 8 bytes back).
        names = {name for (name,) in cur.fetchall()}
        assert "id" not in names and not [n for n in names if "dropped" in n]
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'metrics_dashboardrollup'")
        indexes = dict(cur.fetchall())
    assert list(indexes) == ["dashboard_rollup_cell"]
    assert "(dim, metric, span, start, key, kind, bin) INCLUDE (n, sum_s, num, den)" in indexes["dashboard_rollup_cell"]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'metrics_dashboardrollup'::regclass AND contype = 'p'"
        )
        assert cur.fetchone()[0] == "dashboard_rollup_cell"
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("SET LOCAL enable_bitmapscan = off")
        cur.execute(
            "EXPLAIN SELECT key, kind, bin, n, sum_s FROM metrics_dashboardrollup"
            " WHERE dim = 'q' AND metric = 'frt_cal_s' AND span = 'd' AND start >= '2025-01-01'"
        )
        assert "Index Only Scan using dashboard_rollup_cell" in "\n".join(r[0] for r in cur.fetchall())

    def cells() -> set[tuple]:
        fields = ("dim", "key", "span", "start", "metric", "kind", "bin", "n", "sum_s", "num", "den")
        return {
            (*c[:8], round(c[8], 6), *c[9:]) for c in DashboardRollup.objects.exclude(span="d").values_list(*fields)
        }

    with transaction.atomic():
        rollup.rebuild()
        rebuilt = cells()
        assert rebuilt
        DashboardRollup.objects.exclude(span="d").update(n=0, sum_s=0, num=0, den=0)
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO metrics_dashboardrollupstale (span, start, last)"
                " SELECT DISTINCT span, start, CASE span WHEN 'w' THEN start + 6"
                " ELSE (start + interval '1 month' - interval '1 day')::date END"
                " FROM metrics_dashboardrollup WHERE span <> 'd'"
            )
        assert rollup.fold() > 0
        assert cells() == rebuilt
