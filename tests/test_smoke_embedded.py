"""Boot the embedded default (SQLite, no Redis, in-process tasks) as a new
user would: migrate, seed the demo, run the dev server, click through.

No database fixture is used, so the PostgreSQL check in conftest does not
apply; everything runs in subprocesses against a temporary SQLite file.
"""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED_DEMO = ROOT / "helpdesk" / "management" / "commands" / "seed_demo.py"
DEMO_PASSWORD = "demo-pass-123"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # surface 3xx as HTTPError so the test sees them


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        REDIS_URL="",  # embedded default: in-process tasks, local-memory cache
        DJANGO_SECRET_KEY="smoke-test-not-secret",
        DJANGO_DEBUG="true",
        DJANGO_MEDIA_ROOT=str(tmp / "media"),
        PYTHONUNBUFFERED="1",
    )
    return env  # no DJANGO_SETTINGS_MODULE: manage.py's default, as a user gets


def _manage(env: dict[str, str], *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


class Browser:
    """urllib with cookies, no automatic redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body)  # noqa: S310 (http://127.0.0.1 only)
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode(errors="replace")

    def login(self, email: str, password: str) -> tuple[int, dict[str, str], str]:
        status, _, html = self.request("/accounts/login/")
        assert status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert token, "login form has no CSRF token"
        return self.request(
            "/accounts/login/", {"csrfmiddlewaretoken": token.group(1), "email": email, "password": password}
        )


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """A migrated SQLite database and a running `manage.py runserver`."""
    tmp = tmp_path_factory.mktemp("embedded")
    env = _env(tmp)
    _manage(env, "migrate", "--noinput")
    port = _free_port()
    log_path = tmp / "runserver.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                urllib.request.urlopen(base + "/accounts/login/", timeout=2).close()  # noqa: S310
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, "runserver did not answer within 60 s"
                time.sleep(0.3)
        yield base, env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_embedded_default_boots(embedded):
    """migrate + runserver with no PostgreSQL and no Redis: the login page
    renders and the portal sends an anonymous visitor to log in."""
    base, _ = embedded
    browser = Browser(base)
    status, _, html = browser.request("/accounts/login/")
    assert status == 200 and "Log in" in html and "csrfmiddlewaretoken" in html
    status, headers, _ = browser.request("/portal/")
    assert status == 302
    assert headers["Location"].startswith("/accounts/login/?next=/portal/")
    status, _, html = browser.request("/static/css/app.css")
    assert status == 200 and ".topbar" in html


@pytest.mark.skipif(not SEED_DEMO.exists(), reason="seed_demo is not available")
def test_seeded_demo_logins_work(embedded):
    """`seed_demo --tickets 20`, then the demo customer and agent log in and
    their first pages render."""
    base, env = embedded
    _manage(env, "seed_demo", "--tickets", "20")

    customer = Browser(base)
    status, headers, _ = customer.login("customer@example.com", DEMO_PASSWORD)
    assert status == 302 and headers["Location"] == "/portal/"
    status, _, html = customer.request("/portal/")
    assert status == 200
    assert "My requests" in html and "Casey Customer" in html

    agent = Browser(base)
    status, headers, _ = agent.login("agent@example.com", DEMO_PASSWORD)
    assert status == 302 and headers["Location"] == "/agent/tickets/"
    status, _, html = agent.request("/agent/tickets/?view=all")
    assert status == 200
    ticket_ids = re.findall(r'href="/agent/tickets/(\d+)/"', html)
    assert ticket_ids, "the seeded agent sees no tickets"
    status, _, html = agent.request(f"/agent/tickets/{ticket_ids[0]}/")
    assert status == 200 and 'id="status-panel"' in html and "Requester" in html
