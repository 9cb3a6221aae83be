"""A private redis-server per test, which the test stops, hangs and restarts."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from helpdesk.celery import QUEUES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A real redis-server on its own port (no persistence)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM and wait: the port refuses connections afterwards."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGCONT)  # a stopped process cannot exit
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc = None

    @contextmanager
    def hung(self, *, at_most: float = 30.0) -> Iterator[None]:
        """SIGSTOP for the block: connections open, nothing answers. Resumed
        after `at_most` seconds anyway, so code that blocks on a hung Redis
        makes a test fail on its timings instead of hanging the run."""
        import threading

        assert self.proc is not None
        proc = self.proc
        proc.send_signal(signal.SIGSTOP)
        watchdog = threading.Timer(at_most, proc.send_signal, args=(signal.SIGCONT,))
        watchdog.start()
        try:
            yield
        finally:
            watchdog.cancel()
            proc.send_signal(signal.SIGCONT)

    @contextmanager
    def down(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()


@pytest.fixture
def redis_backed(redis_server: "RedisServer") -> Iterator["RedisServer"]:
    """This process's cache and Celery publishing on the private Redis, with
    the production cache backend and timeouts."""
    from django.conf import settings
    from django.test import override_settings

    from helpdesk.lib.cache import redis_cache_config

    config = redis_cache_config(redis_server.url(), timeout=settings.HELPDESK_REDIS_TIMEOUT)
    with override_settings(CACHES={"default": config}), broker_at(redis_server.url()):
        yield redis_server


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def worker_env(*, redis_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of a worker process on the test database and `redis_url`."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        **(extra or {}),
    }


def worker_command(python: str, name: str) -> list[str]:
    return [
        python,
        "-m",
        "celery",
        "-A",
        "helpdesk",
        "worker",
        "--pool=solo",
        "-l",
        "info",
        "-Q",
        ",".join(QUEUES),
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"{name}-{os.getpid()}@%h",
    ]


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


@contextmanager
def broker_at(url: str) -> Iterator[object]:
    """Publish this process's tasks to `url` (not eagerly) for the block."""
    from helpdesk.celery import app
    from tests.conftest import _reset_broker_pools

    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url, app.conf.task_always_eager = url, False
    _reset_broker_pools(app)
    try:
        yield app
    finally:
        app.conf.broker_url, app.conf.task_always_eager = previous
        _reset_broker_pools(app)


@contextmanager
def worker_running(*, redis_url: str, log: Path, python: str = "", extra_env: dict[str, str] | None = None):
    """A real Celery worker process on the test database and `redis_url`,
    up (answering a ping) when the block starts, terminated after it."""
    import sys

    from helpdesk.celery import app

    with log.open("wb") as out:
        proc = subprocess.Popen(
            worker_command(python or sys.executable, "resilience"),
            env=worker_env(redis_url=redis_url, extra=extra_env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        with broker_at(redis_url):
            if not wait_for(lambda: proc.poll() is not None or bool(app.control.ping(timeout=0.5)), timeout=60):
                raise RuntimeError("celery worker did not answer a ping:\n" + log.read_text())
            if proc.poll() is not None:
                raise RuntimeError("celery worker exited:\n" + log.read_text())
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
