"""Helpers for the scaling tests: real worker and beat processes on a Redis
database of their own (the session worker of tests/conftest.py uses another
one and consumes every queue, so it must not see these messages)."""

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.conftest import WORKER_REDIS_URL, _reset_broker_pools

ROOT = Path(__file__).resolve().parents[2]


def redis_db_url(db: int) -> str:
    """The worker Redis server (TEST_WORKER_REDIS_URL) with another database number."""
    base = WORKER_REDIS_URL.rsplit("/", 1)[0]
    return f"{base}/{db}"


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def process_env(redis_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
        **extra,
    }


@contextmanager
def broker(redis_url: str) -> Iterator[object]:
    """Point this process's Celery app at `redis_url` for a while."""
    from helpdesk.celery import app

    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = redis_url, False
    _reset_broker_pools(app)
    try:
        yield app
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        _reset_broker_pools(app)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def scratch_redis() -> Iterator[Callable[[int], str]]:
    """Hands out flushed Redis databases and flushes them again afterwards."""
    used: list[str] = []

    def take(db: int) -> str:
        url = redis_db_url(db)
        redis.Redis.from_url(url).flushdb()
        used.append(url)
        return url

    yield take
    for url in used:
        redis.Redis.from_url(url).flushdb()
