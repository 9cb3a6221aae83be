"""Real Chromium: a manager logs in, opens the dashboard on the worked examples, changes
the range and a filter, sees the charts drawn, drills down, and a full-page screenshot is saved."""

import re
from pathlib import Path

import pytest

from accounts.models import User
from tests.dashboard.conftest import load_examples

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_manager_dashboard_in_chromium(live_server, page):
    numbers = load_examples()
    _survey_answers(numbers)
    User.objects.create_user(email="boss@acme.test", password="pw-Secret-123", role="manager")
    ext = {pk: e for e, pk in numbers.items()}
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/accounts/login/?next=/manager/dashboard/")
    page.get_by_label("Email").fill("boss@acme.test")
    page.get_by_label("Password").fill("pw-Secret-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/manager/dashboard/"))
    assert page.locator("h1").inner_text() == "KPI dashboard"

    # Change the range with a preset (the form submits on change), then a custom range.
    page.select_option("#id_range", "last90")
    page.wait_for_url(re.compile(r"range=last90"))
    assert "(90 days)" in page.locator(".period-line").inner_text()
    page.select_option("#id_range", "custom")
    page.fill("#id_start", "2025-10-01")
    page.fill("#id_end", "2025-11-30")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"start=2025-10-01"))
    assert page.locator("#period-label").inner_text() == "2025-10-01 – 2025-11-30"
    frt_all = page.locator('a[data-kpi="frt"][data-side="all"][data-stat="median"]')
    assert frt_all.get_attribute("data-value") == "34650.0"  # E10c FRT median

    # CES and NPS tiles (docs/architecture-kpis.md), support and service side by side.
    assert page.locator("#tile-ces").is_visible() and page.locator("#tile-nps").is_visible()
    ces = page.locator('#tile-ces a[data-side="support"][data-stat="mean_score"]')
    assert (ces.get_attribute("data-value"), ces.inner_text()) == ("6.0", "6.00")
    nps_support = page.locator('#tile-nps a[data-side="support"][data-stat="nps"]')
    nps_service = page.locator('#tile-nps a[data-side="service"][data-stat="nps"]')
    assert (nps_support.inner_text(), nps_service.inner_text()) == ("100.0", "-100.0")

    # A filter: service only; the support column disappears and the numbers change.
    page.select_option("#id_kind", "service")
    page.wait_for_url(re.compile(r"kind=service"))
    assert page.locator('a[data-kpi="frt"][data-side="support"]').count() == 0
    frt_n = page.locator('a[data-kpi="frt"][data-side="service"][data-stat="n"]')
    # T-108 is support's; T-103's first reply was in tier1 before its move (docs/metrics.md §1.8)
    assert frt_n.get_attribute("data-value") == "11"

    # Charts are drawn by Chart.js (served from node_modules, no CDN).
    for chart in ("chart-volume", "chart-frt", "chart-csat", "chart-backlog", "chart-hist-frt"):
        assert page.evaluate(f"!!Chart.getChart(document.getElementById('{chart}'))"), chart
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # Drill down into the service FRT n: exactly the eleven tickets counted, with their values.
    frt_n.click()
    page.wait_for_url(re.compile(r"/manager/dashboard/drill/\?.*metric=frt"))
    rows = page.locator("#drill-table tbody tr[data-ticket]")
    assert rows.count() == 11
    listed = sorted(ext[int(t)] for t in rows.evaluate_all("rs => rs.map(r => r.dataset.ticket)"))
    assert listed == [
        "T-101", "T-102", "T-103", "T-104", "T-105", "T-106", "T-107", "T-109", "T-110", "T-111", "T-114"
    ]  # fmt: skip
    page.screenshot(path=str(ARTIFACTS / "dashboard_drill.png"), full_page=True)

    # The CES tile drills down to the answer behind it.
    page.go_back()
    page.select_option("#id_kind", "")
    page.wait_for_url(re.compile(r"kind=(&|$)"))
    page.locator('#tile-ces a[data-side="support"][data-stat="mean_score"]').click()
    page.wait_for_url(re.compile(r"metric=ces"))
    assert page.locator("#drill-table tbody tr[data-ticket]").evaluate_all("rs => rs.map(r => r.dataset.ticket)") == [
        str(numbers["T-103"])
    ]
    assert errors == []


def _survey_answers(numbers):
    """T-103 (support): CES 6 and NPS 10; T-101 (service): NPS 3 from another customer, mid-November."""
    from datetime import UTC, datetime

    from accounts.models import User
    from tickets import services

    when = datetime(2025, 11, 15, 12, tzinfo=UTC)
    for ext, survey, value, email in (("T-103", "ces", 6, "a"), ("T-103", "nps", 10, "a"), ("T-101", "nps", 3, "b")):
        customer = User.objects.filter(email=f"{email}@survey.test").first() or User.objects.create_user(
            email=f"{email}@survey.test", password="pw-Secret-123", role="customer"
        )
        services.survey_respond(ticket_id=numbers[ext], survey=survey, value=value, actor=customer, occurred_at=when)
    # As the metrics worker does (the tiles read the survey facts), as of the examples' instant.
    from django.db import transaction

    from metrics.services import tickets_recompute
    from tests.dashboard.conftest import AS_OF

    with transaction.atomic():
        tickets_recompute(ticket_ids=[numbers["T-103"], numbers["T-101"]], as_of=AS_OF)
