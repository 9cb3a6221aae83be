"""The dashboard on the embedded default (SQLite, no Redis): migrate, seed the demo, then the
manager dashboard, its CSV tables, drill-downs and an agent's own stats answer 200 with numbers.

Runs in subprocesses against a temporary SQLite file (no PostgreSQL fixture), like
tests/test_smoke_embedded.py; the page code takes its database-independent path there.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SEED_DEMO = ROOT / "helpdesk" / "management" / "commands" / "seed_demo.py"

SCRIPT = r"""
import json, os, re, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")  # manage.py's default
import django
django.setup()
from django.test import Client
from metrics.models import TicketMetrics

out = {"metrics_rows": TicketMetrics.objects.count(), "pages": {}}

def get(client, path, params=None):
    r = client.get(path, params or {})
    body = b"".join(r.streaming_content) if r.streaming else r.content
    out["pages"][path + "?" + "&".join(f"{k}={v}" for k, v in (params or {}).items())] = r.status_code
    if r.status_code != 200:
        sys.stderr.write(body.decode(errors="replace")[:3000])
    return r.status_code, body.decode(errors="replace")

boss = Client()
assert boss.login(email="manager@example.com", password="demo-pass-123")
for rng in ("last7", "last30", "last90"):
    status, html = get(boss, "/manager/dashboard/", {"range": rng})
    if rng == "last90":
        values = re.findall(r'data-kpi="created" data-side="all" data-stat="n" data-value="([^"]*)"', html)
        out["created_last90"] = float(values[0]) if values else None
        frt = re.findall(r'data-kpi="frt" data-side="all" data-stat="median" data-value="([^"]*)"', html)
        out["frt_median_last90"] = frt[0] if frt else None
get(boss, "/manager/dashboard/", {"range": "last90", "clock": "bus", "bucket": "week", "kind": "support"})
for table in ("tiles", "trend", "backlog", "histograms", "agents", "comments"):
    status, body = get(boss, "/manager/dashboard/", {"range": "last90", "format": "csv", "table": table})
    if table == "tiles":
        out["tiles_csv_lines"] = len(body.strip().splitlines())
for metric in ("frt", "full_resolution", "handle", "csat", "csat_response", "fcr", "reopen", "sla", "created",
               "resolved", "backlog"):
    get(boss, "/manager/dashboard/drill/", {"range": "last90", "metric": metric})
status, body = get(boss, "/manager/dashboard/drill/", {"range": "last90", "metric": "created", "format": "csv"})
out["created_drill_csv_rows"] = len(body.strip().splitlines()) - 1
get(boss, "/manager/dashboard/drill/", {"range": "last90", "metric": "frt", "hist": "1", "side": "support"})

agent = Client()
assert agent.login(email="agent@example.com", password="demo-pass-123")
get(agent, "/agent/my-stats/", {"range": "last90"})
get(agent, "/agent/my-stats/", {"range": "last90", "format": "csv", "table": "trend"})
get(agent, "/agent/my-stats/drill/", {"range": "last90", "metric": "resolved"})
get(agent, "/api/v1/metrics/summary/")
out["agent_team_dashboard"] = agent.get("/manager/dashboard/").status_code
print("RESULT " + json.dumps(out))
"""


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        REDIS_URL="",
        DJANGO_SECRET_KEY="embedded-dashboard-test-not-secret",
        DJANGO_DEBUG="true",
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_MEDIA_ROOT=str(tmp / "media"),
        # As `make run`: the demo manager signs in without two-factor (docs/sign-in.md).
        HELPDESK_2FA_REQUIRED_ROLES="",
    )
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result


@pytest.mark.skipif(not SEED_DEMO.exists(), reason="seed_demo is not available")
def test_dashboard_views_on_embedded_sqlite(tmp_path):
    env = _env(tmp_path)
    _run(env, "manage.py", "migrate", "--noinput")
    _run(env, "manage.py", "seed_demo", "--tickets", "30")
    result = _run(env, "-c", SCRIPT)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT ") :])
    bad = {page: status for page, status in out["pages"].items() if status != 200}
    assert not bad, f"non-200 pages on SQLite: {bad}\n{result.stderr[-3000:]}"
    assert len(out["pages"]) == 27
    assert out["agent_team_dashboard"] == 403
    # Real numbers, not an empty page: the seeded tickets have metrics and are counted.
    assert out["metrics_rows"] > 0
    assert out["created_last90"] and out["created_last90"] > 0
    assert out["created_drill_csv_rows"] == out["created_last90"]
    assert out["tiles_csv_lines"] > 1
