"""The metric definitions ship with the product: every dashboard tile links
to its section of docs/metrics.md (or docs/surveys.md), rendered for staff."""

import re

import pytest

from metrics.dashboard.kpis import KPIS
from metrics.definitions import PAGES, page_url

pytestmark = pytest.mark.django_db


def test_every_kpi_links_to_an_existing_section(client, manager):
    client.force_login(manager)
    pages: dict[str, str] = {}
    for kpi in KPIS:
        url = page_url(kpi.docs)
        assert url, f"{kpi.key}: {kpi.docs} is not a served definitions page"
        path, _, anchor = url.partition("#")
        if path not in pages:
            response = client.get(path)
            assert response.status_code == 200
            pages[path] = response.content.decode()
        assert anchor and f'id="{anchor}"' in pages[path], f"{kpi.key}: no section #{anchor} on {path}"


def test_pages_are_staff_only_and_known_pages_only(client, customer, agent):
    client.force_login(customer)
    assert client.get("/manager/definitions/metrics/").status_code == 404
    client.force_login(agent)
    for page in PAGES:
        assert client.get(f"/manager/definitions/{page}/").status_code == 200
    assert client.get("/manager/definitions/settings/").status_code == 404  # only the definitions are served


def test_dashboard_tile_has_the_link(client, manager):
    client.force_login(manager)
    html = client.get("/manager/dashboard/").content.decode()
    assert re.search(r'href="/manager/definitions/metrics/#m1-first-response-time-frt"', html)
