"""requirements.txt alone runs the app, a worker and the Redis broker."""

import hashlib
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tests.processes import wait_for, worker_env, worker_running
from tickets import services
from tickets.models import Ticket

ROOT = Path(__file__).resolve().parents[2]


def runtime_venv() -> Path:
    """A virtualenv with requirements.txt only (no dev tools), cached under
    .cache/ by the file's hash so reruns skip the install."""
    requirements = ROOT / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    venv = ROOT / ".cache" / f"runtime-venv-{digest}"
    if (venv / "installed").exists():
        return venv
    building = venv.with_name(f"{venv.name}.{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(building)], check=True)
    pip = [str(building / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(requirements)], check=True, timeout=900)
    (building / "installed").touch()
    # Moved into place whole (everything here runs as `python -m ...`, so
    # the scripts' hard-coded paths do not matter); a concurrent run may win.
    try:
        building.rename(venv)
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
    return venv


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_runtime_requirements_run_a_worker_and_send_a_task(redis_server, tmp_path):
    """In a fresh venv from requirements.txt alone, a task sent through the
    Redis broker runs in a worker started from the same venv (before:
    kombu's Redis transport failed with "No module named 'packaging'",
    which only requirements-dev.txt pulled in)."""
    venv = runtime_venv()
    python = str(venv / "bin" / "python")
    dev_only = subprocess.run([python, "-c", "import pytest"], capture_output=True)
    assert dev_only.returncode != 0, "the runtime venv must not contain the test tools"

    ticket = ticket_make(queue=QueueFactory(), requester=CustomerFactory())
    services.ticket_transition(
        ticket_id=ticket.pk, target="solved", actor=AgentFactory(), occurred_at=timezone.now() - timedelta(days=30)
    )
    production = {"DJANGO_SETTINGS_MODULE": "helpdesk.settings.base", "DJANGO_DEBUG": "false"}
    env = worker_env(redis_url=redis_server.url(), extra=production)
    with worker_running(redis_url=redis_server.url(), log=tmp_path / "worker.log", python=python, extra_env=production):
        send = (
            "import django; django.setup();"
            "from helpdesk.lib.tasks import enqueue; from tickets import tasks;"
            "assert enqueue(tasks.solved_auto_close), 'not sent'"
        )
        sent = subprocess.run([python, "-c", send], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert sent.returncode == 0, sent.stderr[-3000:]
        closed = wait_for(lambda: Ticket.objects.get(pk=ticket.pk).status == "closed", timeout=60)
        assert closed, (tmp_path / "worker.log").read_text()
