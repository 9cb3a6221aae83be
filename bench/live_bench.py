"""Live ticket page benchmark (issue 14): how long until an agent's reply
shows on a second agent's open ticket page, and what one poll costs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_live_bench \
        .venv/bin/python bench/live_bench.py --redis redis://127.0.0.1:6379/13 [--replies 50]

Starts gunicorn (sync workers, DEBUG off, static files collected) twice:
with Redis as the cache and broker, then with REDIS_URL pointing at a port
where nothing listens (Redis down: the breaker is open, polls read the
database). For each mode, agent A's ticket page is open in Chromium
(real live.js); agent B posts `--replies` public replies over HTTP through
the reply view (the state machine moves the ticket), spaced 0.3-1.3 s
apart at random so they fall at every phase of A's 1 s poll. Meanwhile a
load thread moves other tickets of the queue through the state machine
(open -> pending -> open ...) over HTTP, so the event log grows and
workers are busy. The latency is from just before B's POST to the moment
a MutationObserver on A's page sees the text (same clock: both sides are
on this machine).

The cost of one poll is measured twice: over HTTP against gunicorn
(unchanged ticket, the version or `since` given: the steady state) and
in-process with the test client, counting SQL queries.
"""

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")

PASSWORD = "bench-pass-123"  # noqa: S105  bench accounts in a bench database
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_data(load_tickets: int) -> dict:
    """Queue, two agents, a customer, the watched ticket and the load tickets."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import User
    from tests.factories import ticket_make
    from tickets.models import Queue, Ticket

    q, _ = Queue.objects.get_or_create(slug="live-bench", defaults={"name": "Live bench", "kind": "support"})
    users = {}
    for email, role in (("a@bench.test", "agent"), ("b@bench.test", "agent"), ("c@bench.test", "customer")):
        u = User.objects.filter(email=email).first() or User.objects.create_user(
            email=email, password=PASSWORD, role=role, name=email.split("@")[0].upper() + " Bench"
        )
        users[email] = u
        if role == "agent":
            q.members.add(u)
    have = Ticket.objects.filter(queue=q).count()
    for i in range(have, load_tickets + 1):
        ticket_make(queue=q, requester=users["c@bench.test"], subject=f"Bench ticket {i}")
    ids = list(Ticket.objects.filter(queue=q).order_by("pk").values_list("pk", flat=True))[:load_tickets]
    return {"load": ids, "customer": users["c@bench.test"]}


def fresh_ticket(data: dict, name: str) -> int:
    """A new watched ticket per mode, so every run starts from a short
    timeline (a description, then the bench's replies)."""
    from tests.factories import ticket_make
    from tickets.models import Queue

    q = Queue.objects.get(slug="live-bench")
    return ticket_make(queue=q, requester=data["customer"], subject=f"Watched ({name})").pk


def login(base: str, email: str):
    import requests

    s = requests.Session()
    page = s.get(f"{base}/accounts/login/")
    token = CSRF_RE.search(page.text).group(1)
    r = s.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "username": email, "email": email, "password": PASSWORD},
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
    )
    if r.status_code != 302:
        raise SystemExit(f"login failed for {email}: {r.status_code}")
    return s


def csrf_of(session, url: str) -> str:
    return CSRF_RE.search(session.get(url).text).group(1)


def start_server(port: int, redis_url: str, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_DEBUG": "false", "REDIS_URL": redis_url}
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "helpdesk.wsgi",
            "-k",
            "sync",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    import requests

    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


def load_loop(base: str, ticket_ids: list[int], stop: threading.Event, rate: float, counter: list[int]) -> None:
    """Move other tickets through the state machine over HTTP."""
    s = login(base, "b@bench.test")
    token = csrf_of(s, f"{base}/agent/tickets/{ticket_ids[0]}/")
    from tickets.models import Ticket

    states = dict(Ticket.objects.filter(pk__in=ticket_ids).values_list("pk", "status"))
    while not stop.is_set():
        t = random.choice(ticket_ids)
        target = "pending" if states.get(t) == "open" else "open"
        r = s.post(
            f"{base}/agent/tickets/{t}/status/",
            data={"csrfmiddlewaretoken": token, "target": target, "note": ""},
            headers={"Referer": base},
            allow_redirects=False,
        )
        if r.status_code == 302:
            states[t] = target
            counter[0] += 1
        stop.wait(1 / rate)


OBSERVER = """
window.__seen = {};
new MutationObserver(function () {
  var box = document.getElementById("ticket-page");
  if (!box) return;
  var text = box.textContent;
  (window.__want || []).forEach(function (m) {
    if (!window.__seen[m] && text.indexOf(m) >= 0) window.__seen[m] = performance.timeOrigin + performance.now();
  });
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


def run_mode(name: str, base: str, data: dict, replies: int, load_rate: float) -> dict:
    from playwright.sync_api import sync_playwright

    b = login(base, "b@bench.test")
    watched = data["watched"] = fresh_ticket(data, name)
    stop, counter = threading.Event(), [0]
    loader = threading.Thread(target=load_loop, args=(base, data["load"], stop, load_rate, counter), daemon=True)
    latencies: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        ctx = browser.new_context()
        a_session = login(base, "a@bench.test")
        ctx.add_cookies(
            [{"name": c.name, "value": c.value, "url": base} for c in a_session.cookies if c.name == "sessionid"]
        )
        page = ctx.new_page()
        page.goto(f"{base}/agent/tickets/{watched}/")
        page.evaluate(OBSERVER)
        page.wait_for_timeout(1500)
        loader.start()
        for i in range(replies):
            marker = f"{name}-reply-{i}-{random.randrange(10**9)}"
            page.evaluate("m => { window.__want = (window.__want || []).concat([m]); }", marker)
            token = csrf_of(b, f"{base}/agent/tickets/{watched}/")
            time.sleep(random.uniform(0.3, 1.3))
            t0 = time.time() * 1000
            r = b.post(
                f"{base}/agent/tickets/{watched}/reply/",
                data={"csrfmiddlewaretoken": token, "body": marker, "visibility": "public"},
                headers={"Referer": base},
                allow_redirects=False,
            )
            if r.status_code != 302:
                raise SystemExit(f"reply answered {r.status_code}")
            page.wait_for_function("m => window.__seen[m]", arg=marker, timeout=15_000, polling=50)
            seen_at = page.evaluate("m => window.__seen[m]", marker)
            latencies.append((seen_at - t0) / 1000)
        stop.set()
        loader.join(timeout=5)
        browser.close()

    # Cost of one poll over HTTP in the steady state (nothing new).
    since_v = b.get(f"{base}/agent/tickets/{watched}/live/").json()
    while since_v["changed"]:  # an answer holds at most MAX_EVENTS events
        since_v = b.get(f"{base}/agent/tickets/{watched}/live/", params={"since": since_v["last"]}).json()
    poll_ms = []
    for _ in range(200):
        t = time.perf_counter()
        r = b.get(f"{base}/agent/tickets/{watched}/live/", params={"since": since_v["last"], "v": since_v["v"] or ""})
        poll_ms.append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"poll answered {r.status_code}")
    return {
        "mode": name,
        "n": len(latencies),
        "p50": pct(latencies, 0.5),
        "p95": pct(latencies, 0.95),
        "max": max(latencies),
        "load_transitions": counter[0],
        "poll_p50_ms": pct(poll_ms, 0.5),
        "poll_p95_ms": pct(poll_ms, 0.95),
    }


def poll_queries(data: dict, redis_url: str | None) -> dict:
    """SQL queries and in-process time of one unchanged poll (test client)."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from helpdesk.lib.breaker import cache_breaker
    from helpdesk.lib.cache import redis_cache_config

    override = override_settings(
        CACHES={"default": redis_cache_config(redis_url or f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)},
        ALLOWED_HOSTS=["*"],
    )
    override.enable()
    cache_breaker.reset()
    client = Client()
    client.force_login(User.objects.get(email="a@bench.test"))
    url = f"/agent/tickets/{data['watched']}/live/"
    first = client.get(url).json()
    while first["changed"]:  # an answer holds at most MAX_EVENTS events
        first = client.get(url, {"since": first["last"]}).json()
    params = {"since": first["last"], "v": first["v"] or ""}
    times = []
    for _ in range(200):
        t = time.perf_counter()
        client.get(url, params)
        times.append((time.perf_counter() - t) * 1000)
    with CaptureQueriesContext(connection) as q:
        client.get(url, params)
    override.disable()
    return {
        "queries": len(q.captured_queries),
        "sql": [x["sql"][:90] for x in q.captured_queries],
        "p50_ms": pct(times, 0.5),
        "p95_ms": pct(times, 0.95),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True, help="a Redis URL for the 'with Redis' mode")
    parser.add_argument("--replies", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--load-tickets", type=int, default=200)
    parser.add_argument("--load-rate", type=float, default=5.0, help="status moves per second on other tickets")
    parser.add_argument("--only-cost", action="store_true", help="only the in-process cost of one poll")
    args = parser.parse_args()

    data = setup_data(args.load_tickets)
    if args.only_cost:
        data["watched"] = data["load"][0]
        return print_costs(data, args.redis)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, check=True)
    print(f"uptime before: {os.getloadavg()}")
    results = []
    for name, url in (("redis", args.redis), ("redis-down", f"redis://127.0.0.1:{free_port()}/0")):
        port = free_port()
        proc = start_server(port, url, args.workers)
        try:
            results.append(run_mode(name, f"http://127.0.0.1:{port}", data, args.replies, args.load_rate))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        print(results[-1], flush=True)
    print(f"uptime after: {os.getloadavg()}")
    print()
    print(f"{'mode':<12}{'n':>4}{'p50 s':>8}{'p95 s':>8}{'max s':>8}{'moves':>7}{'poll p50 ms':>13}{'poll p95 ms':>13}")
    for r in results:
        print(
            f"{r['mode']:<12}{r['n']:>4}{r['p50']:>8.2f}{r['p95']:>8.2f}{r['max']:>8.2f}{r['load_transitions']:>7}"
            f"{r['poll_p50_ms']:>13.1f}{r['poll_p95_ms']:>13.1f}"
        )
    print_costs(data, args.redis)


def print_costs(data: dict, redis_url: str) -> None:
    for name, url in (("redis", redis_url), ("redis-down", None)):
        q = poll_queries(data, url)
        print(f"\nin-process poll ({name}): {q['queries']} queries, p50 {q['p50_ms']:.1f} ms, p95 {q['p95_ms']:.1f} ms")
        for s in q["sql"]:
            print("   ", s)


if __name__ == "__main__":
    main()
