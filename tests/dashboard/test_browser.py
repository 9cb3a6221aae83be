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

    # A filter: service only; the support column disappears and the numbers change.
    page.select_option("#id_kind", "service")
    page.wait_for_url(re.compile(r"kind=service"))
    assert page.locator('a[data-kpi="frt"][data-side="support"]').count() == 0
    frt_n = page.locator('a[data-kpi="frt"][data-side="service"][data-stat="n"]')
    assert frt_n.get_attribute("data-value") == "10"  # T-103 and T-108 are support tickets

    # Charts are drawn by Chart.js (served from node_modules, no CDN).
    for chart in ("chart-volume", "chart-frt", "chart-csat", "chart-backlog", "chart-hist-frt"):
        assert page.evaluate(f"!!Chart.getChart(document.getElementById('{chart}'))"), chart
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # Drill down into the service FRT n: exactly the ten tickets counted, with their values.
    frt_n.click()
    page.wait_for_url(re.compile(r"/manager/dashboard/drill/\?.*metric=frt"))
    rows = page.locator("#drill-table tbody tr[data-ticket]")
    assert rows.count() == 10
    listed = sorted(ext[int(t)] for t in rows.evaluate_all("rs => rs.map(r => r.dataset.ticket)"))
    assert listed == ["T-101", "T-102", "T-104", "T-105", "T-106", "T-107", "T-109", "T-110", "T-111", "T-114"]
    page.screenshot(path=str(ARTIFACTS / "dashboard_drill.png"), full_page=True)
    assert errors == []
