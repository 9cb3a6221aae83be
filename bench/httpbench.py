"""Shared by the HTTP benches (bench/peer/compare.py, bench/memory_bench.py):
our gunicorn's environment, signed-in sessions without a login form, a
server started and stopped by pid, sequential timing and percentiles.
Not a bench itself."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PGHOST = os.environ.get("PGHOST", "127.0.0.1")
PGUSER = os.environ.get("PGUSER", "postgres")

# The first agent who is a queue member, a typical customer (fewest tickets
# among those with a CC; any customer if no CC exists), the first manager.
OUR_USERS = """
import json
from django.db.models import Count
from django.test import Client
from accounts.models import User
agent = User.objects.filter(role="agent", is_active=True, queues__isnull=False).distinct().order_by("pk").first()
customer = (User.objects.filter(role="customer", is_active=True)
    .annotate(n=Count("requested_tickets", distinct=True), c=Count("cc_tickets", distinct=True))
    .filter(n__gte=1, c__gte=1).order_by("n", "pk").first()) or (User.objects.filter(role="customer")
    .annotate(n=Count("requested_tickets")).filter(n__gte=1).order_by("n", "pk").first())
manager = User.objects.filter(role="manager", is_active=True).order_by("pk").first()
out = {}
for role, u in (("agent", agent), ("customer", customer), ("manager", manager)):
    if u is None:
        continue
    if not u.is_active:
        u.is_active = True  # imported requesters are created inactive; the bench signs one in
        u.save(update_fields=["is_active"])
    c = Client(); c.force_login(u)
    out[role] = [u.email, c.cookies["sessionid"].value]
print("USERS " + json.dumps(out))
"""


def psql(db: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", "-h", PGHOST, "-U", PGUSER, "-d", db, "-tAc", sql], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def db_exists(db: str) -> bool:
    return psql("postgres", f"SELECT count(*) FROM pg_database WHERE datname = '{db}'") == "1"  # noqa: S608 (env)


def require_db(db: str, table: str, how: str) -> int:
    """The table's row count; exits with `how` when the database or its rows are missing."""
    if not db_exists(db):
        raise SystemExit(f"database {db} does not exist: {how}")
    try:
        n = int(psql(db, f"SELECT count(*) FROM {table}"))  # noqa: S608 (a constant)
    except subprocess.CalledProcessError:
        n = 0
    if n == 0:
        raise SystemExit(f"database {db} has no rows in {table}: {how}")
    return n


STALE_SQL = """
SELECT string_agg(relname, ', ' ORDER BY relname) FROM pg_stat_user_tables
WHERE n_live_tup > 1000 AND (coalesce(last_analyze, last_autoanalyze) IS NULL OR n_mod_since_analyze > n_live_tup / 10)
"""


def warn_unanalyzed(db: str) -> None:
    """Fresh bulk loads have no planner statistics until autovacuum comes by:
    plans (and the figures) can be off by 10x. Say so; the fix is the user's call."""
    stale = psql(db, STALE_SQL)
    if stale:
        print(f"WARNING: {db} has tables without fresh statistics ({stale}): "
              f"run `psql -d {db} -c 'VACUUM ANALYZE'` first", file=sys.stderr)  # fmt: skip


def our_env(db: str) -> dict[str, str]:
    """Production settings, DEBUG off, throttles raised (sequential benches
    must not hit the API limiter), two-factor off (the bench users have no
    device; it costs an agent no query)."""
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{PGUSER}@{PGHOST}:5432/{db}",
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-not-secret"),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_COOKIES": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "HELPDESK_2FA_REQUIRED_ROLES": "",
        "HELPDESK_API_RATE_READ": "10000000/min",
        "HELPDESK_API_RATE_WRITE": "10000000/min",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13"),
        "PYTHONWARNINGS": "ignore:No directory at",  # WhiteNoise without collectstatic: pages are timed, not assets
    }


def our_users(db: str) -> dict[str, tuple[str, str]]:
    """role -> (email, session id) for our agent, customer and manager."""
    out = run_py([sys.executable, "manage.py", "shell", "-c", OUR_USERS], our_env(db), ROOT)
    return {role: (email, sid) for role, (email, sid) in marked_json(out, "USERS").items()}


def run_py(cmd: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def marked_json(out: str, mark: str) -> dict:
    for line in out.splitlines():
        if line.startswith(mark + " "):
            return json.loads(line[len(mark) + 1 :])
    raise SystemExit(f"no {mark} line in:\n{out[-2000:]}")


def port_free(port: int) -> None:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is in use (another bench?): choose another with the --*port options")


def gunicorn(binary: str, app: str, workers: int, port: int) -> list[str]:
    # No --max-requests: workers live for the whole run (bench/memory_bench.py relies on it).
    return [binary, app, "-w", str(workers), "-k", "sync", "--log-level", "warning", "-b", f"127.0.0.1:{port}"]


def start(cmd: list[str], env: dict[str, str], cwd: Path, port: int, probe: str = "/") -> subprocess.Popen:
    port_free(port)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{cmd[0]} exited with {proc.returncode} (port {port})")
        try:
            requests.get(f"http://127.0.0.1:{port}{probe}", timeout=5, allow_redirects=False)
            return proc
        except requests.RequestException:
            time.sleep(0.3)
    stop(proc)
    raise SystemExit(f"server on {port} did not start within 120 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def client(sessionid: str | None) -> requests.Session:
    s = requests.Session()
    if sessionid:
        s.cookies.set("sessionid", sessionid, domain="127.0.0.1")
    return s


def timed(session: requests.Session, url: str) -> tuple[float, requests.Response]:
    t0 = time.perf_counter()
    r = session.get(url, allow_redirects=False)
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise SystemExit(f"GET {url}: HTTP {r.status_code} (expected 200)")
    return ms, r


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * p))]


def load1() -> float:
    return os.getloadavg()[0]
