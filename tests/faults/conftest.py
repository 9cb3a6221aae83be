"""Real processes for fault tests: a private redis-server that a test can stop,
hang and restart, and Celery workers that a test can SIGKILL.

Each fault test is bounded in time (every wait has a deadline)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpdesk.celery import QUEUES

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


class RedisServer:
    """A redis-server of the test's own, on its own port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        assert wait_for(lambda: _pings(client), timeout=10), "redis-server did not start"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]


def process_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
        **extra,
    }


@contextmanager
def celery_worker_process(redis_url: str, *, name: str, extra_env: dict[str, str] | None = None):
    """A real worker (solo pool, every queue) that the test may SIGKILL."""
    from helpdesk.celery import app

    env = process_env(REDIS_URL=redis_url, **(extra_env or {}))
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
            f"{name}-{os.getpid()}@%h",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        with broker(redis_url):
            ok = wait_for(lambda: proc.poll() is not None or app.control.ping(timeout=0.5), timeout=30)
        assert ok and proc.poll() is None, "celery worker did not start"
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def sigkill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


@contextmanager
def broker(redis_url: str):
    """Point the Celery app of the test process at `redis_url` for a while."""
    from helpdesk.celery import app
    from tests.conftest import _reset_broker_pools

    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = redis_url, False
    _reset_broker_pools(app)
    try:
        yield app
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        _reset_broker_pools(app)


def send_task(redis_url: str, name: str, **kwargs: object) -> None:
    """Publish a task by name to the given broker (not the test settings' one)."""
    with broker(redis_url) as app:
        app.send_task(name, kwargs=kwargs)
