"""The embedded default (SQLite) under concurrent writers: no "database is
locked". Real processes on a temporary SQLite file, as `make run` serves it
(docs/delivery.md, "SQLite"). No database fixture: the PostgreSQL check in
conftest does not apply."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_smoke_embedded import ROOT, _env, _manage

WRITER = Path(__file__).with_name("sqlite_writer.py")
WRITERS = 4
ITERATIONS = 40


def _writer(env, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_concurrent_heartbeats_and_ticket_updates_never_hit_a_locked_database(tmp_path):
    """Four processes write events on the same three tickets at once (handle
    time sessions, priority, internal notes, assignment; each commit also
    recomputes metrics in-process). Every write succeeds. Before the fix
    (deferred transactions, rollback journal) some failed at once with
    "database is locked": a transaction that read first could not upgrade
    to a writer while another held the lock, and the busy timeout does not
    apply to that case."""
    env = _env(tmp_path)
    _manage(env, "migrate", "--noinput")
    setup = _writer(env, "setup")
    out, err = setup.communicate(timeout=120)
    assert setup.returncode == 0, err
    assert len(json.loads(out)["tickets"]) == 3
    start_at = f"{time.time() + 4:.3f}"  # past every writer's Django start-up
    procs = [_writer(env, "write", str(seed), start_at, str(ITERATIONS)) for seed in range(WRITERS)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    errors = [e for r in results for e in r["errors"]]
    tasks = [e for e in errors if e.startswith("task:")]
    assert errors == [], (
        f"{len(errors) - len(tasks)} of {WRITERS * ITERATIONS} writes and {len(tasks)} in-process tasks failed,"
        f" e.g. {errors[:3]}"
    )
    assert sum(r["done"] for r in results) == WRITERS * ITERATIONS
