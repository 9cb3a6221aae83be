"""The fixed cost every request pays (issue #22, mixed load): middleware,
session and user load, context processors and the base template, measured
on four cheap requests, in-process through the test client on an existing
database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpdesk_bench_x REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/overhead_profile.py [--n 500] [--profile agent] [--queries agent]

Kinds: `agent` (a signed-in agent's profile page: base template, nav, no
ticket query), `customer` (the portal's "My requests"), `api` (GET
/api/v1/request-types/ with a bearer token), `anonymous` (the sign-in
page). Per kind: the median and p95 of the process CPU time of one request
(ms; it does not grow with the queueing for a core that wall times suffer
on a loaded machine), the statements per request and Python calls
(cProfile's count, deterministic). `--profile KIND` prints the cProfile of
200 requests of that kind grouped by module, then the top functions;
`--parts` times the session, user and API token reads alone, the ORM way
and the written-out way, back to back.
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

# BENCH_ROOT: another checkout to measure (a before/after pair with one script).
ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from apikeys.services import api_token_create  # noqa: E402


def clients() -> dict[str, tuple[Client, str]]:
    agent = User.objects.filter(role="agent", is_active=True).order_by("pk").first()
    customer = User.objects.filter(role="customer", is_active=True).order_by("pk").first()
    if agent is None or customer is None:
        raise SystemExit("the database needs an active agent and customer")
    agent_client, customer_client, api_client = Client(), Client(), Client()
    agent_client.force_login(agent)
    customer_client.force_login(customer)
    token = api_token_create(user=customer, name="overhead-profile").key
    api_client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return {
        "agent": (agent_client, "/accounts/profile/"),
        "customer": (customer_client, "/portal/"),
        "api": (api_client, "/api/v1/request-types/"),
        "anonymous": (Client(), "/accounts/login/"),
    }


class Statements:
    """Every statement of the block (CaptureQueriesContext's list is capped)."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.sql.append(sql)
        return execute(sql, params, many, context)


def statements(client: Client, path: str) -> list[str]:
    seen = Statements()
    with connection.execute_wrapper(seen):
        one(client, path)
    return seen.sql


def one(client: Client, path: str) -> float:
    t0 = time.process_time()
    response = client.get(path)
    cpu = (time.process_time() - t0) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code}")
    return cpu


def measure(n: int, only: list[str] | None) -> None:
    print(f"load: {Path('/proc/loadavg').read_text().split()[:3]}")
    print(f"{'kind':10} {'cpu p50':>8} {'cpu p95':>8} {'queries':>8} {'calls':>8}  path")
    for kind, (client, path) in clients().items():
        if only and kind not in only:
            continue
        for _ in range(20):
            one(client, path)
        cpus = [one(client, path) for _ in range(n)]
        queries = statements(client, path)
        profile = cProfile.Profile()
        profile.enable()
        client.get(path)
        profile.disable()
        calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
        cpus.sort()
        p95 = cpus[min(len(cpus) - 1, round((len(cpus) - 1) * 0.95))]
        print(f"{kind:10} {statistics.median(cpus):8.2f} {p95:8.2f} {len(queries):8d} {calls:8d}  {path}")


def show_queries(kind: str) -> None:
    client, path = clients()[kind]
    one(client, path)
    for sql in statements(client, path):
        print(sql[:300])


def profile(kind: str, top: int) -> None:
    client, path = clients()[kind]
    for _ in range(20):
        one(client, path)
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    for _ in range(200):
        client.get(path)
    prof.disable()
    stats = pstats.Stats(prof)
    by_module: dict[str, float] = defaultdict(float)
    raw: Any = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in raw.items():
        parts = Path(filename).parts
        if "site-packages" in parts:
            key = "/".join(parts[parts.index("site-packages") + 1 :][:2])
        elif filename.startswith(str(ROOT)):
            key = "/".join(Path(filename).relative_to(ROOT).parts[:2])
        else:
            key = filename if filename.startswith("~") or "<" in filename else "stdlib"
        by_module[key] += tt
    total = sum(by_module.values())
    print(f"own CPU by module, ms per request ({kind}, total {total / 200 * 1000:.2f}):")
    for key, tt in sorted(by_module.items(), key=lambda kv: -kv[1])[:25]:
        print(f"  {tt / 200 * 1000:7.3f}  {key}")
    stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--profile")
    parser.add_argument("--queries")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--parts", action="store_true", help="the three per-request reads alone")
    args = parser.parse_args()
    if args.parts:
        parts(args.n)
    elif args.queries:
        show_queries(args.queries)
    elif args.profile:
        profile(args.profile, args.top)
    else:
        measure(args.n, args.only)


def parts(n: int) -> None:
    """CPU per call (median, µs) of the three per-request reads, Django's
    ORM way and the written-out way, back to back in one process."""
    from django.contrib.auth.backends import ModelBackend
    from django.contrib.sessions.backends.db import SessionStore as DjangoStore

    from accounts.backends import SessionUserBackend
    from accounts.sessions import SessionStore
    from apikeys.models import ApiToken

    agent = User.objects.filter(role="agent", is_active=True).order_by("pk").first()
    if agent is None:
        raise SystemExit("the database needs an active agent")
    store = DjangoStore()
    store["x"] = 1
    store.save()
    key = store.session_key
    token = ApiToken.objects.filter(revoked_at__isnull=True).order_by("pk").first()
    digest = token.token_hash if token else ""

    def orm_token() -> object:
        return (
            ApiToken.objects.select_related("user")
            .filter(token_hash=digest, revoked_at__isnull=True, user__is_active=True)
            .first()
        )

    from apikeys.selectors import api_token_get_active

    cases = {
        "session, Django's ORM": lambda: DjangoStore(key).load(),
        "session, written out": lambda: SessionStore(key).load(),
        "user, ModelBackend": lambda: ModelBackend().get_user(agent.pk),
        "user, SessionUserBackend": lambda: SessionUserBackend().get_user(agent.pk),
        "API token, ORM": orm_token,
        "API token, written out": lambda: api_token_get_active(token_hash=digest),
    }
    print(f"load: {Path('/proc/loadavg').read_text().split()[:3]}")
    for name, fn in cases.items():
        samples = []
        for _ in range(n):
            t0 = time.process_time()
            fn()
            samples.append((time.process_time() - t0) * 1e6)
        print(f"  {name:28} {statistics.median(samples):8.0f} µs")
    store.delete()


if __name__ == "__main__":
    main()
