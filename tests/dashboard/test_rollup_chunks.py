"""The set-based rebuild of the dashboard cells runs per ticket-id range (metrics.rollup.rebuild,
docs/metrics.md#rebuilding-the-dashboard-cells): the chunks' partial base rows are summed per
cell, so any chunk size, and chunks computed on several connections at once, give the cells of
one chunk over every ticket."""

import pytest
from django.db import connection, transaction

from metrics import rollup, services
from metrics.models import DashboardRollup, TicketMetrics, TicketSegment
from tests.dashboard.test_rollup import _cells
from tests.dashboard.test_segments_dashboard import _random_escalations

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based rebuild is PostgreSQL's")


def _rebuild(**kwargs):
    with transaction.atomic():
        cells = rollup.rebuild(**kwargs)
    assert cells == DashboardRollup.objects.count()
    return _cells()


def _stage_exists():
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s)", [rollup._STAGE])
        return cur.fetchone()[0] is not None


def _escalated_history():
    _random_escalations(23)
    assert TicketSegment.objects.filter(idx__gt=0).values("ticket_id").distinct().count() >= 3  # moved tickets
    assert TicketMetrics.objects.filter(status__in=rollup.UNSOLVED).exists()  # backlog rows
    ids = sorted(TicketMetrics.objects.values_list("ticket_id", flat=True))
    assert len(ids) >= 10


def test_any_chunk_size_gives_the_cells_of_one_chunk(db):
    _escalated_history()
    one = _rebuild(chunk=10**9)
    assert len(one) > 500 and {k[0] for k in one} == {"", "a", "q", "qa"}
    for chunk in (1, 2, 5):  # a ticket per chunk: every source must be cut at the same ids, once
        assert _rebuild(chunk=chunk) == one, chunk


@pytest.mark.django_db(transaction=True)
def test_chunks_on_two_connections_give_the_cells_of_one_chunk():
    _escalated_history()
    one = _rebuild(chunk=10**9)
    assert _rebuild(chunk=2, workers=2) == one
    assert not _stage_exists()  # dropped with the rebuild's transaction
    # the bulk rebuild passes its process count on
    services.metrics_rollups_rebuild(workers=2)
    assert _cells() == one


def _base_rows(lo, hi):
    """The base rows (day, kind, q, agent, metric, bin, sums) the rebuild groups for ids in [lo, hi)."""
    from metrics.services import reporting_zone

    params = {"zone": reporting_zone().key, "edges": list(rollup.EDGES), "all": rollup.ALL_KINDS, "lo": lo, "hi": hi}
    with connection.cursor() as cur:
        cur.execute(rollup._BASE_SELECT, params)
        return cur.fetchall()


def test_a_ticket_that_never_moved_groups_only_its_queue_rows(db):
    """The base rows are already nested (`rollup._nest`): a ticket that never moved has equal whole,
    kind and queue rows, so only its queue rows (q set) are grouped, not the same values three times
    (docs/metrics.md#rebuilding-the-dashboard-cells); a ticket that moved has difference rows."""
    _escalated_history()
    moved = set(TicketSegment.objects.filter(idx__gt=0).values_list("ticket_id", flat=True))
    differences = 0
    for tid in TicketMetrics.objects.filter(excluded=False).values_list("ticket_id", flat=True):
        rows = _base_rows(tid, tid + 1)
        assert rows, tid
        whole_or_kind = [r for r in rows if r[2] is None]
        if tid in moved:  # within one kind its differences can all be zero
            differences += len(whole_or_kind)
        else:
            assert whole_or_kind == [], tid
    assert differences > 0
