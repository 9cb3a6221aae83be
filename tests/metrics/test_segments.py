"""Segment attribution (docs/metrics.md#18-queue-and-kind-attribution-across-escalations):
E11 and a service -> support -> service ticket asserted value by value, stored segments
equal to the whole ticket, the export and the dashboard filtered by kind or queue.

Fixture: tests/fixtures/metrics_segments (config.json: calendar NY-9-5 Mon-Fri 09:00-17:00
America/New_York, queues `billing` (service) and `tech` (support); tickets.jsonl: E11 and S1).
"""

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction

from accounts.models import User
from metrics.models import TicketMetrics, TicketSegment
from metrics.present import stored_row
from metrics.segments import SHARE_COLUMNS
from tickets.models import Queue, Ticket

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "metrics_segments"
AS_OF = datetime.fromisoformat("2025-12-01T00:00:00-05:00")
CLOCKS = ("cal", "bus")


def load_segments_fixture() -> dict[str, int]:
    from metrics.services import tickets_recompute

    call_command("helpdesk_config", "apply", str(FIX / "config.json"))
    call_command("import_tickets", str(FIX / "tickets.jsonl"))
    numbers = dict(Ticket.objects.filter(external_id__in=["E11", "S1"]).values_list("external_id", "pk"))
    assert len(numbers) == 2
    with transaction.atomic():
        tickets_recompute(ticket_ids=list(numbers.values()), as_of=AS_OF)
    return numbers


@pytest.fixture
def seg_tickets(db):
    return load_segments_fixture()


def _segments(pk: int) -> list[TicketSegment]:
    return list(TicketSegment.objects.filter(ticket_id=pk).order_by("idx"))


def _slug(queue_id: int | None) -> str:
    return Queue.objects.get(pk=queue_id).slug


# E11 (docs/metrics-examples.md, E11): every instant is inside business hours, so bus = cal.
E11_WHOLE = {
    "frt": 600,
    "queue_time": 600,
    "time_in_progress": 10200,
    "requester_wait": 10800,
    "agent_wait": 7200,
    "agent_work": 10800,
    "first_resolution": 18000,
    "full_resolution": 18000,
}
E11_SEGMENTS = [
    (
        "billing",
        "service",
        {
            "frt": 600,
            "queue_time": 600,
            "time_in_progress": 3000,
            "requester_wait": 3600,
            "agent_wait": 0,
            "agent_work": 3600,
            "first_resolution": None,
            "full_resolution": None,
        },
        [],
    ),
    (
        "tech",
        "support",
        {
            "frt": None,
            "queue_time": 0,
            "time_in_progress": 7200,
            "requester_wait": 7200,
            "agent_wait": 7200,
            "agent_work": 7200,
            "first_resolution": 18000,
            "full_resolution": 18000,
        },
        [3600],
    ),
]


@pytest.mark.parametrize("clock", CLOCKS)
def test_e11_whole_ticket_and_segments_value_by_value(seg_tickets, clock):
    pk = seg_tickets["E11"]
    m = TicketMetrics.objects.get(ticket_id=pk)
    for stem, value in E11_WHOLE.items():
        assert getattr(m, f"{stem}_{clock}_s") == value, stem
    assert stored_row(m)[f"next_reply_{clock}_s"] == [3600]
    assert (m.public_agent_replies, m.fcr, m.fcr_eligible) == (3, False, True)
    segs = _segments(pk)
    assert len(segs) == 2
    for seg, (slug, kind, values, nrt) in zip(segs, E11_SEGMENTS, strict=True):
        assert (_slug(seg.queue_id), seg.kind) == (slug, kind)
        for stem, value in values.items():
            assert getattr(seg, f"{stem}_{clock}_s") == value, (slug, stem)
        assert seg.data.get(f"next_reply_{clock}_s", []) == nrt  # an empty list is not stored
    service, support = segs
    sam, alice = (User.objects.get(email=e).pk for e in ("sam@acme.test", "alice@acme.test"))
    assert service.first_replier_id == sam and service.created_at == m.created_at
    assert (service.public_agent_replies, support.public_agent_replies) == (1, 2)
    assert not service.last_res_here and support.last_res_here and support.resolver_id == alice
    assert (support.fcr_eligible, support.fcr, service.fcr_eligible) == (True, False, False)
    assert service.first_resolved_at is None and support.first_resolved_at == m.first_resolved_at
    assert service.ended_at == support.started_at == datetime.fromisoformat("2025-11-03T10:00:00-05:00")
    assert support.ended_at is None


# S1, service -> support -> service across a weekend (docs/metrics-examples.md, S1).
S1_SEGMENTS = [
    # (queue, kind, {stem: (cal, bus)}, NRT (cal, bus), public replies)
    (
        "billing",
        "service",
        {
            "frt": (1800, 1800),
            "queue_time": (1800, 1800),
            "time_in_progress": (900, 900),
            "requester_wait": (2700, 2700),
            "agent_wait": (0, 0),
            "agent_work": (2700, 2700),
            "full_resolution": (None, None),
        },
        ([], []),
        1,
    ),
    (
        "tech",
        "support",
        {
            "frt": (None, None),
            "queue_time": (0, 0),
            "time_in_progress": (245700, 15300),
            "requester_wait": (245700, 15300),
            "agent_wait": (7200, 7200),
            "agent_work": (245700, 15300),
            "full_resolution": (None, None),
        },
        ([], []),
        1,
    ),
    (
        "billing",
        "service",
        {
            "frt": (None, None),
            "queue_time": (0, 0),
            "time_in_progress": (66600, 9000),
            "requester_wait": (66600, 9000),
            "agent_wait": (0, 0),
            "agent_work": (66600, 9000),
            "full_resolution": (322200, 34200),
        },
        ([77400], [19800]),
        1,
    ),
]
S1_WHOLE = {
    "frt": (1800, 1800),
    "queue_time": (1800, 1800),
    "time_in_progress": (313200, 25200),
    "requester_wait": (315000, 27000),
    "agent_wait": (7200, 7200),
    "agent_work": (315000, 27000),
    "full_resolution": (322200, 34200),
}


@pytest.mark.parametrize("clock", CLOCKS)
def test_service_support_service_with_business_hours_gaps(seg_tickets, clock):
    """S1 (hand-checked; calendar Mon-Fri 09:00-17:00 America/New_York, EST -05:00).

    Fri 11-07 16:00 created in billing (service), new. 16:30 sam replies, open. 16:45
    escalated to tech (support). Mon 11-10 10:00 alice replies, pending. 12:00 customer
    replies, open. 15:00 moved back to billing. Tue 11-11 09:30 sam replies, solved.

    Segments: S0 billing [Fri 16:00, Fri 16:45), S1 tech [Fri 16:45, Mon 15:00),
    S2 billing [Mon 15:00, ...). Window [created, Tue 09:30).
    S0: new 16:00-16:30 = 1800 cal, 1800 bus; open 16:30-16:45 = 900 / 900. FRT 1800 / 1800.
    S1: open Fri 16:45 -> Mon 10:00 = 7h15m + 48h + 10h = 234900 cal; bus Fri 16:45-17:00
        (900) + Mon 09:00-10:00 (3600) = 4500. pending Mon 10:00-12:00 = 7200 / 7200. open
        Mon 12:00-15:00 = 10800 / 10800. In progress 245700 cal, 15300 bus.
    S2: open Mon 15:00 -> Tue 09:30 = 18.5 h = 66600 cal; bus Mon 15-17 (7200) + Tue
        09:00-09:30 (1800) = 9000. Resolution Tue 09:30 in billing: full resolution
        = 3 d 17.5 h = 322200 cal; bus Fri 16-17 (3600) + Mon (28800) + Tue (1800) = 34200.
        NRT: customer Mon 12:00 -> sam Tue 09:30 = 77400 cal; bus Mon 12-17 (18000) + Tue
        (1800) = 19800, closed by a reply in billing.
    Whole = sum of shares: in progress 900 + 245700 + 66600 = 313200 (bus 900 + 15300 +
    9000 = 25200); requester wait = new + open = 1800 + 313200 = 315000 (bus 27000); full
    resolution 315000 + pending 7200 = 322200 (bus 27000 + 7200 = 34200).
    Filtered to service (S0 + S2): requester wait 2700 + 66600 = 69300 (bus 11700), n = 1;
    to support: 245700 (bus 15300).
    """
    i = CLOCKS.index(clock)
    pk = seg_tickets["S1"]
    m = TicketMetrics.objects.get(ticket_id=pk)
    for stem, values in S1_WHOLE.items():
        assert getattr(m, f"{stem}_{clock}_s") == values[i], stem
    segs = _segments(pk)
    assert len(segs) == 3
    for seg, (slug, kind, values, nrt, replies) in zip(segs, S1_SEGMENTS, strict=True):
        assert (_slug(seg.queue_id), seg.kind) == (slug, kind)
        for stem, pair in values.items():
            assert getattr(seg, f"{stem}_{clock}_s") == pair[i], (seg.idx, stem)
        assert seg.data.get(f"next_reply_{clock}_s", []) == nrt[i]
        assert seg.public_agent_replies == replies
    assert [s.last_res_here for s in segs] == [False, False, True]
    assert segs[2].first_resolution_cal_s == 322200 and segs[2].fcr_eligible and not segs[2].fcr


@pytest.mark.parametrize("ext", ["E11", "S1"])
def test_shares_sum_to_the_whole_ticket(seg_tickets, ext):
    pk = seg_tickets[ext]
    m = TicketMetrics.objects.get(ticket_id=pk)
    segs = _segments(pk)
    for col in SHARE_COLUMNS:
        total = sum(getattr(s, col) or 0 for s in segs)
        assert total == pytest.approx(getattr(m, col), abs=1e-6), col
    for col in ("frt_cal_s", "full_resolution_bus_s", "reopens"):
        assert sum(getattr(s, col) or 0 for s in segs) == (getattr(m, col) or 0)
    assert sum(s.public_agent_replies for s in segs) == m.public_agent_replies


def _export(*args: str) -> str:
    out = io.StringIO()
    call_command("metrics_export", "--segments", *args, stdout=out)
    return out.getvalue()


def test_export_segments_one_row_per_ticket_and_queue_segment(seg_tickets):
    """`metrics_export --segments`: E11's two segments with queue, kind, bounds and the split
    values; the stored rows and a recomputation as of the same instant agree."""
    Ticket.objects.filter(pk=seg_tickets["S1"]).update(external_id="=HYPERLINK(1)")  # a formula-like cell
    stored = [json.loads(line) for line in _export().splitlines()]
    recomputed = [json.loads(line) for line in _export("--as-of", AS_OF.isoformat()).splitlines()]
    assert stored == recomputed
    e11 = [r for r in stored if r["ticket"] == seg_tickets["E11"]]
    assert [(r["segment"], r["queue"], r["kind"]) for r in e11] == [(0, "billing", "service"), (1, "tech", "support")]
    service, support = e11
    assert (service["started_at"], service["ended_at"]) == ("2025-11-03T14:00:00Z", "2025-11-03T15:00:00Z")
    assert (support["started_at"], support["ended_at"]) == ("2025-11-03T15:00:00Z", None)
    assert (service["frt_cal_s"], service["first_replier"], support["frt_cal_s"]) == (600, "sam@acme.test", None)
    assert (service["requester_wait_bus_s"], support["requester_wait_bus_s"]) == (3600, 7200)
    assert (service["next_reply_cal_s"], support["next_reply_cal_s"]) == ([], [3600])
    assert (service["full_resolution_cal_s"], support["full_resolution_cal_s"]) == (None, 18000)
    assert (service["resolver"], support["resolver"], support["last_resolution_here"]) == (
        None,
        "alice@acme.test",
        True,
    )
    assert service["created_at"] == "2025-11-03T14:00:00Z" and support["created_at"] is None
    assert len([r for r in stored if r["ticket"] == seg_tickets["S1"]]) == 3
    rows = list(csv.DictReader(io.StringIO(_export("--format", "csv"))))
    assert len(rows) == 5
    assert rows[0]["queue"] == "billing" and rows[1]["kind"] == "support" and rows[1]["next_reply_cal_s"] == "[3600]"
    assert rows[1]["frt_cal_s"] == "" and rows[0]["frt_cal_s"] == "600"
    assert {r["external_id"] for r in rows[2:]} == {"'=HYPERLINK(1)"}  # csv_safe: not run as a formula


def test_api_summary_filtered_to_a_kind_reads_the_segments(seg_tickets):
    """GET /api/v1/metrics/summary/?kind=...: E11's FRT is service's, its resolution support's,
    its requester wait split 3600 / 7200 (the dashboard's numbers)."""
    from rest_framework.test import APIClient

    from tests.factories import ManagerFactory

    client = APIClient()
    client.force_authenticate(ManagerFactory())
    day = {"start": "2025-11-03", "end": "2025-11-03"}
    service = client.get("/api/v1/metrics/summary/", {**day, "kind": "service"}).json()
    support = client.get("/api/v1/metrics/summary/", {**day, "kind": "support"}).json()
    assert (service["durations"]["frt_cal_s"]["n"], service["durations"]["frt_cal_s"]["median_s"]) == (1, 600)
    assert support["durations"]["frt_cal_s"]["n"] == 0
    assert service["durations"]["full_resolution_bus_s"]["n"] == 0
    assert support["durations"]["full_resolution_bus_s"]["median_s"] == 18000
    assert service["durations"]["requester_wait_cal_s"]["sum_s"] == 3600
    assert support["durations"]["requester_wait_cal_s"]["sum_s"] == 7200
    assert (service["tickets_created"], support["tickets_created"]) == (1, 0)
    assert (service["tickets_resolved"], support["tickets_resolved"]) == (0, 1)
    billing = Queue.objects.get(slug="billing").pk
    by_queue = client.get("/api/v1/metrics/summary/", {**day, "queue": billing}).json()
    assert by_queue["durations"]["requester_wait_cal_s"] == service["durations"]["requester_wait_cal_s"]
