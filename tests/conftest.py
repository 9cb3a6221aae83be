"""Shared fixtures. Tests run on real PostgreSQL (see README: make test)."""

import os
import time
from contextlib import suppress

import pytest
from django.db import connection
from django.utils import translation

from helpdesk.celery import QUEUES
from tests.factories import AgentFactory, CustomerFactory, ManagerFactory, QueueFactory

# Playwright's sync API runs an event loop in the test thread; without this,
# ORM calls in a browser test raise SynchronousOnlyOperation.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _require_postgresql(request):
    """The suite is meant for PostgreSQL; fail loudly rather than pass on SQLite."""
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        assert connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL (make test does)"


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A page request activates the user's language for the thread and nothing
    switches it back; without this a German page leaks into the next test."""
    yield
    translation.deactivate()


@pytest.fixture
def published():
    """Names of the Celery tasks published during the test."""
    from celery.signals import before_task_publish

    names: list[str] = []

    def record(sender=None, **kwargs):
        names.append(sender)

    before_task_publish.connect(record, weak=False)
    yield names
    before_task_publish.disconnect(record)


_BUSY_BACKENDS = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')
"""


def _wait_database_quiet(limit_s: float = 10.0) -> None:
    """Until no other connection is inside a statement or transaction, three checks in a row."""
    deadline, quiet = time.monotonic() + limit_s, 0
    while quiet < 3 and time.monotonic() < deadline:
        with connection.cursor() as cur:
            cur.execute(_BUSY_BACKENDS)
            quiet = quiet + 1 if cur.fetchone()[0] == 0 else 0
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def _live_server_quiet(request):
    """Browser tests: the flush that ends a transactional test TRUNCATEs every
    table, and deadlocks with a write the live server is still doing for the
    page (a poll, the handle-time beacon sent on unload). Set up after the
    live server and the page, so torn down before them: leave the page, then
    wait until the server's connections are idle."""
    if not (request.node.get_closest_marker("browser") and "live_server" in request.fixturenames):
        yield
        return
    request.getfixturevalue("live_server")
    page = request.getfixturevalue("page") if "page" in request.fixturenames else None
    yield
    if page is not None and not page.is_closed():
        with suppress(Exception):
            page.goto("about:blank")
    _wait_database_quiet()


@pytest.fixture
def queue(db):
    return QueueFactory(slug="tech", name="Tech support", kind="support")


@pytest.fixture
def service_queue(db):
    return QueueFactory(slug="billing", name="Billing", kind="service")


@pytest.fixture
def agent(db, queue):
    user = AgentFactory()
    queue.members.add(user)
    return user


@pytest.fixture
def other_agent(db, service_queue):
    user = AgentFactory()
    service_queue.members.add(user)
    return user


@pytest.fixture
def manager(db):
    return ManagerFactory()


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def other_customer(db):
    return CustomerFactory()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium (Playwright cannot download its own here)."""
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


# The real worker's broker; TEST_WORKER_REDIS_URL lets parallel runs use their own Redis.
WORKER_REDIS_URL = os.environ.get("TEST_WORKER_REDIS_URL", "redis://127.0.0.1:6379/14")


def _reset_broker_pools(app):
    """Connections opened earlier (eager mode, another URL) must not be reused.

    The pools are dropped, not closed: closing a channel blocked in BRPOP
    hangs, and the garbage collector closes the sockets anyway."""
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def _celery_worker_process(django_db_setup, django_db_blocker):
    """One real Celery worker process for the session, on Redis db 14,
    consuming every queue and using the test database."""
    import subprocess
    import sys
    import time

    from django.conf import settings

    from helpdesk.celery import app

    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    redis_url = WORKER_REDIS_URL
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
    }
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "worker",
            "--pool=solo",
            "-l",
            "warning",
            "-Q",
            ",".join(QUEUES),
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"pytest-{os.getpid()}@%h",
        ],
        env=env,
    )
    previous = (app.conf.broker_url, app.conf.task_always_eager)
    try:
        app.conf.broker_url, app.conf.task_always_eager = redis_url, False
        _reset_broker_pools(app)
        deadline = time.monotonic() + 30
        while not app.control.ping(timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("celery worker did not start")
        app.conf.broker_url, app.conf.task_always_eager = previous
        _reset_broker_pools(app)
        yield redis_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def celery_worker(_celery_worker_process):
    """Point the app at the real worker's broker for this test only.

    Tests using it need @pytest.mark.django_db(transaction=True) so the
    worker's own connection sees their rows. Afterwards the worker is
    drained before the database flush (a TRUNCATE racing a running task
    deadlocks), and other tests' tasks never reach it.
    """
    import time

    import redis

    from helpdesk.celery import app

    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = _celery_worker_process, False
    _reset_broker_pools(app)
    try:
        yield app
        client = redis.Redis.from_url(WORKER_REDIS_URL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            queued = sum(client.llen(q) for q in QUEUES)
            active = app.control.inspect(timeout=0.5).active() or {}
            if queued == 0 and not any(active.values()):
                break
            time.sleep(0.2)
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        _reset_broker_pools(app)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttle, presence and other cache keys, and the Redis circuit
    breakers' state, never leak between tests."""
    from django.core.cache import cache

    from helpdesk.lib.breaker import broker_breaker, cache_breaker

    cache_breaker.reset()
    broker_breaker.reset()
    cache.clear()
    yield
    cache.clear()
    cache_breaker.reset()
    broker_breaker.reset()


@pytest.fixture
def celery_eager():
    """Run tasks in-process, as the embedded default (no REDIS_URL) does."""
    from helpdesk.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous
