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

from tests.test_smoke_embedded import ROOT, _env, _manage, embedded  # noqa: F401 (fixture)

WRITER = Path(__file__).with_name("sqlite_writer.py")
PRIORITIES = ("low", "normal", "high", "urgent")
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
    assert len(json.loads(out.strip().splitlines()[-1])["tickets"]) == 3
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


@pytest.mark.slow
def test_heartbeats_over_http_beside_quick_agent_actions_never_answer_500(embedded):  # noqa: F811
    """`manage.py runserver` on SQLite (the `make run` setup, threaded): two
    agents each send handle-time heartbeats (start, then the final beacon
    that writes the session) and priority changes on the same tickets at
    once. No request answers 500. Before the fix some answered 500
    "database is locked"."""
    import re
    import threading

    from tests.test_smoke_embedded import Browser

    base, env = embedded
    setup = _writer(env, "setup")
    out, err = setup.communicate(timeout=120)
    assert setup.returncode == 0, err
    tickets = json.loads(out.strip().splitlines()[-1])["tickets"]
    statuses: list[tuple[str, int]] = []
    lock = threading.Lock()

    def agent(email: str, seed: int) -> None:
        import random

        rng = random.Random(seed)
        browser = Browser(base)
        status, _, _ = browser.login(email, "x" * 12)
        assert status == 302
        _, _, html = browser.request(f"/agent/tickets/{tickets[0]}/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        for _ in range(15):
            pk = rng.choice(tickets)
            calls = [
                ("beat", f"/agent/tickets/{pk}/heartbeat/", {"active": "1"}),
                ("priority", f"/agent/tickets/{pk}/priority/", {"priority": rng.choice(PRIORITIES)}),
                ("final", f"/agent/tickets/{pk}/heartbeat/", {"active": "1", "final": "1"}),
            ]
            for name, path, data in calls:
                status, _, _ = browser.request(path, {**data, "csrfmiddlewaretoken": token})
                with lock:
                    statuses.append((name, status))

    threads = [threading.Thread(target=agent, args=(f"a{i}@example.com", i)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert len(statuses) == 2 * 15 * 3
    failed = [s for s in statuses if s[1] >= 500]
    assert failed == [], f"{len(failed)} of {len(statuses)} requests failed: {failed[:5]}"
    assert {s for _, s in statuses} <= {200, 204, 302}
