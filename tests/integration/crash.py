"""Helpers of the crash tests: a worker process that is killed mid-send."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

SCRIPT = Path(__file__).with_name("deliver_once.py")
ROOT = SCRIPT.parents[2]


def database_url_for_tests() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_attempt(kind: str, pk: int, **env: str) -> subprocess.Popen[str]:
    """`deliver_once.py kind pk` against the test database, no broker."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_SETTINGS", "REDIS_", "EMAIL_"))}
    full.update(DATABASE_URL=database_url_for_tests(), REDIS_URL="", DJANGO_SETTINGS_MODULE="helpdesk.settings.base")
    full.setdefault("DJANGO_SECRET_KEY", "crash-test-not-secret")
    full.update(env)
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), kind, str(pk)],
        cwd=ROOT,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when(proc: subprocess.Popen[str], condition, timeout: float = 60.0) -> None:
    """SIGKILL `proc` as soon as `condition()` holds (the send is under way)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the attempt ended before the kill:\n{proc.communicate()}")
        assert time.monotonic() < deadline, "the attempt never reached the send"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
