"""A real Celery worker for the metrics tests, on its own Redis db (13)."""

import os
import subprocess
import sys
import time

import pytest

METRICS_REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture(scope="session")
def metrics_worker(django_db_setup, django_db_blocker):
    """A worker process on Redis db 13 using the test database.

    Tests using it need @pytest.mark.django_db(transaction=True).
    """
    from django.conf import settings

    from helpdesk.celery import app

    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": METRICS_REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test",
    }
    previous = (app.conf.broker_url, app.conf.task_always_eager)
    app.conf.broker_url = METRICS_REDIS_URL
    app.conf.task_always_eager = False
    _reset_pools(app)
    subprocess.run(["redis-cli", "-n", "13", "FLUSHDB"], check=False, capture_output=True)
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
            "default",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"pytest-metrics-{os.getpid()}@%h",
        ],
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while not app.control.ping(timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("celery worker did not start")
        yield app
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        app.conf.broker_url, app.conf.task_always_eager = previous
        _reset_pools(app)


def _reset_pools(app):
    """Earlier eager tests may have opened memory:// connections: drop them."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
