"""Side by side: our pages and django-helpdesk's comparable ones, served by
gunicorn (2 sync workers each, DEBUG off) on the same machine and PostgreSQL,
timed sequentially over HTTP with one `requests` session per user.

    bench/peer/setup.sh /tmp/bench_100k.jsonl 100000          # the peer
    BENCH_DB=helpdesk_bench .venv/bin/python bench/peer/compare.py [--n 40]

BENCH_DB is our database loaded from the same file (bench/import_bench.py
import FILE); PEER_DB the peer's (default helpdesk_peer); PEER_VENV its
virtualenv (default /tmp/peer-venv). Ports 8431 (ours) and 8432 (peer).

Users: the first agent who is a queue member (the same e-mail is a staff user
in the peer, who sees every queue there), and a customer with the fewest
tickets among those with at least one CC (ours) -- in the peer the same
address (its "my tickets" matches `submitter_email`, no CCs). Both products
show the same tickets: ids are assigned in file order in both databases.

django-helpdesk pages fetch their rows with a second request (DataTables
JSON for the staff list, the `user_tickets` API for "my tickets"); both are
timed and "page + data" is their sum, the time until a user sees rows.
Prints one line per operation: p50/p95 ms ours and theirs and the ratio of
the p50s (theirs / ours: > 1 means we are faster).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OURS_PORT, PEER_PORT = 8431, 8432

OUR_SESSION = """
from django.db.models import Count
from django.test import Client
from accounts.models import User
agent = User.objects.filter(role="agent", queues__isnull=False).distinct().order_by("pk").first()
customer = (User.objects.filter(role="customer", is_active=True)
    .annotate(n=Count("requested_tickets", distinct=True), c=Count("cc_tickets", distinct=True))
    .filter(n__gte=1, c__gte=1).order_by("n", "pk").first()) or User.objects.filter(role="customer").first()
for u in (agent, customer):
    c = Client(); c.force_login(u)
    print(u.email, c.cookies["sessionid"].value)
"""

PEER_SESSION = """
import sys
from django.contrib.auth import get_user_model
from django.test import Client
for email in sys.argv[1:]:
    c = Client(); c.force_login(get_user_model().objects.get(email=email))
    print(email, c.cookies["sessionid"].value)
"""


def our_env() -> dict[str, str]:
    db = os.environ.get("BENCH_DB", "helpdesk_bench")
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-not-secret"),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "HELPDESK_2FA_REQUIRED_ROLES": "",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"),
    }


def peer_env() -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "peerproj.settings"}


def sessions(cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, str]:
    out = subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout
    return dict(line.split() for line in out.splitlines() if line.count(" ") == 1 and "@" in line)


def start(cmd: list[str], env: dict[str, str], cwd: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, cwd=cwd, env=env)
    for _ in range(150):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"server on {port} did not start")


def timed(session: requests.Session, url: str) -> float:
    t0 = time.perf_counter()
    r = session.get(url, allow_redirects=False)
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise SystemExit(f"{url}: HTTP {r.status_code}")
    return ms


def series(session: requests.Session, urls: list[str], n: int) -> list[float]:
    """Sum of the urls' times (a page and its data request), n times after 3 warm-ups."""
    out = []
    for i in range(n + 3):
        total = sum(timed(session, u) for u in urls)
        if i >= 3:
            out.append(total)
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * p))]


def client(base: str, sessionid: str) -> requests.Session:
    s = requests.Session()
    s.cookies.set("sessionid", sessionid, domain="127.0.0.1")
    s.headers["Host"] = "127.0.0.1"
    s.base = base  # type: ignore[attr-defined]
    return s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    venv = Path(os.environ.get("PEER_VENV", "/tmp/peer-venv"))  # noqa: S108 (bench/peer/setup.sh's default)
    ours_s = sessions([sys.executable, "manage.py", "shell", "-c", OUR_SESSION], our_env(), ROOT)
    agent_email, customer_email = list(ours_s)
    peer_s = sessions(
        [str(venv / "bin/python"), "-c", "import django; django.setup()\n" + PEER_SESSION, agent_email, customer_email],
        peer_env(),
        HERE,
    )
    gunicorn = ["-w", str(args.workers), "-k", "sync", "--log-level", "warning", "-b"]
    ours = start(
        [str(Path(sys.executable).parent / "gunicorn"), "helpdesk.wsgi", *gunicorn, f"127.0.0.1:{OURS_PORT}"],
        our_env(),
        ROOT,
        OURS_PORT,
    )
    peer = start(
        [str(venv / "bin/gunicorn"), "peerproj.wsgi", *gunicorn, f"127.0.0.1:{PEER_PORT}"], peer_env(), HERE, PEER_PORT
    )
    try:
        run(args.n, ours_s, peer_s, agent_email, customer_email)
    finally:
        ours.terminate()
        peer.terminate()
        ours.wait()
        peer.wait()


def run(n: int, ours_s: dict[str, str], peer_s: dict[str, str], agent: str, customer: str) -> None:
    ob, pb = f"http://127.0.0.1:{OURS_PORT}", f"http://127.0.0.1:{PEER_PORT}"
    o_agent, o_cust = client(ob, ours_s[agent]), client(ob, ours_s[customer])
    p_agent, p_cust = client(pb, peer_s[agent]), client(pb, peer_s[customer])
    page = p_agent.get(f"{pb}/tickets/").text
    found = re.search(r'"url": "(/datatables_ticket_list/[^"]+)"', page)
    if not found:
        raise SystemExit("no DataTables URL on the peer's ticket list")
    datatables = f"{pb}{found.group(1)}?draw=1&start=0&length=25&order%5B0%5D%5Bcolumn%5D=0&order%5B0%5D%5Bdir%5D=asc"
    listing = o_agent.get(f"{ob}/agent/tickets/?view=all").text
    ids = list(dict.fromkeys(int(i) for i in re.findall(r'href="/agent/tickets/(\d+)/"', listing)))
    print(f"load before: {os.getloadavg()}; agent {agent}, customer {customer}; n={n} sequential; ids {ids[:3]}...")
    print(f"{'operation':34} {'ours p50/p95':>15} {'peer p50/p95':>17} {'ratio':>6}")
    mine = [f"{pb}/tickets/my-tickets/", f"{pb}/api/user_tickets/?page=1"]
    rows = [
        ("agent ticket list (first page)", o_agent, [f"{ob}/agent/tickets/?view=all"], [f"{pb}/tickets/", datatables]),
        ("customer my requests", o_cust, [f"{ob}/portal/"], mine),
    ]
    for label, osess, ourls, purls in rows:
        psess = p_agent if osess is o_agent else p_cust
        report(label, series(osess, ourls, n), series(psess, purls, n))
    o_times, p_times = [], []
    for i in range(n + 3):
        tid = ids[i % len(ids)]
        o, p = timed(o_agent, f"{ob}/agent/tickets/{tid}/"), timed(p_agent, f"{pb}/tickets/{tid}/")
        if i >= 3:
            o_times.append(o)
            p_times.append(p)
    report("agent ticket page", o_times, p_times)
    print(f"load after: {os.getloadavg()}")


def report(label: str, ours: list[float], peer: list[float]) -> None:
    o50, p50 = statistics.median(ours), statistics.median(peer)
    ours_s, peer_s = f"{o50:.1f}/{pct(ours, 0.95):.1f}", f"{p50:.1f}/{pct(peer, 0.95):.1f}"
    print(f"{label:34} {ours_s:>15} {peer_s:>17} {p50 / o50:6.2f}", flush=True)


if __name__ == "__main__":
    main()
