"""Real processes for the fault and resilience tests (tests/faults,
tests/resilience): a private redis-server a test can stop, hang and restart,
and Celery worker processes on the test database that a test can SIGKILL.

Every wait has a deadline, so a fault makes a test fail, never hang."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from helpdesk.celery import QUEUES as CELERY_QUEUES

ROOT = Path(__file__).resolve().parents[1]
# Every queue (helpdesk.celery routes tasks to them): these workers consume all.
QUEUES = ",".join(CELERY_QUEUES)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def _pings(client: object) -> bool:
    try:
        return bool(client.ping())  # type: ignore[attr-defined]
    except Exception:
        return False


class RedisServer:
    """A real redis-server of the test's own, on its own port (no persistence)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        import redis

        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        proc = self.proc
        if not wait_for(lambda: proc.poll() is not None or _pings(client), timeout=10, interval=0.05) or (
            proc.poll() is not None
        ):
            raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """SIGTERM and wait: the port refuses connections afterwards."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a stopped process cannot exit
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    @contextmanager
    def hung(self, *, at_most: float = 30.0) -> Iterator[None]:
        """SIGSTOP for the block: connections open, nothing answers. Resumed
        after `at_most` seconds anyway, so code that blocks on a hung Redis
        makes a test fail on its timings instead of hanging the run."""
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


@contextmanager
def redis_server_running() -> Iterator[RedisServer]:
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


def worker_env(*, redis_url: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of a child process on the test database (and `redis_url`)."""
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
        "PYTHONPATH": str(ROOT),
        **(extra or {}),
    }
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    return env


def worker_command(python: str, name: str, *, level: str = "info") -> list[str]:
    return [
        python,
        *("-m", "celery", "-A", "helpdesk", "worker", "--pool=solo", "-l", level, "-Q", QUEUES),
        *("--without-heartbeat", "--without-gossip", "--without-mingle"),
        *("-n", f"{name}-{os.getpid()}@%h"),
    ]


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
def redis_cache_and_broker(settings: object) -> Iterator[None]:
    """The shared Redis cache as in production, and tasks published to the same
    Redis rather than run eagerly (the wake-up tests count what is published)."""
    from django.core.cache import cache

    from helpdesk.lib.breaker import cache_breaker
    from helpdesk.lib.cache import redis_cache_config

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    settings.CACHES = {"default": redis_cache_config(url, timeout=0.5)}  # type: ignore[attr-defined]
    cache_breaker.reset()
    cache.clear()
    with broker_at(url):
        yield
    cache.clear()


def send_task(redis_url: str, name: str, **kwargs: object) -> None:
    """Publish a task by name to the given broker (not the test settings' one)."""
    with broker_at(redis_url) as app:
        app.send_task(name, kwargs=kwargs)  # type: ignore[attr-defined]


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def worker_running(
    *,
    redis_url: str,
    log: Path | None = None,
    python: str = "",
    name: str = "worker",
    level: str = "info",
    extra_env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker (solo pool, every queue) on the test database
    and `redis_url`, answering a ping when the block starts, terminated after
    it; the test may SIGKILL it. Output goes to `log` (else the test's)."""
    from helpdesk.celery import app

    out = log.open("wb") if log is not None else None
    with out if out is not None else open(os.devnull, "wb"):
        proc = subprocess.Popen(
            worker_command(python or sys.executable, name, level=level),
            env=worker_env(redis_url=redis_url, extra=extra_env),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
        )

    def logged() -> str:
        return log.read_text() if log is not None else ""

    try:
        with broker_at(redis_url):
            if not wait_for(lambda: proc.poll() is not None or bool(app.control.ping(timeout=0.5)), timeout=60):
                raise RuntimeError("celery worker did not answer a ping:\n" + logged())
            if proc.poll() is not None:
                raise RuntimeError("celery worker exited:\n" + logged())
        yield proc
    finally:
        _terminate(proc, timeout=20)


def sigkill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
