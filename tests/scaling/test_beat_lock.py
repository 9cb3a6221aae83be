"""Two real beat processes at once: only the holder of the Redis lock sends,
so every schedule tick yields one message, and the second beat takes over
when the first dies (docs/scaling.md)."""

import signal
import subprocess
import sys
import time

import redis

from tests.scaling.conftest import ROOT, process_env, stop, wait_for

LOCK_SECONDS = 4


def _beat(redis_url: str, log_path) -> subprocess.Popen:
    env = process_env(redis_url, HELPDESK_BEAT_KEY_PREFIX="scaling-test:", HELPDESK_BEAT_LOCK_SECONDS=str(LOCK_SECONDS))
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.scaling.beat_app", "beat", "-l", "info",
         "--schedule", str(log_path.with_suffix(".schedule"))],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def test_a_second_beat_sends_nothing_twice_and_takes_over(scratch_redis, tmp_path):
    redis_url = scratch_redis(10)
    client = redis.Redis.from_url(redis_url)
    sent = lambda: client.llen("default")  # noqa: E731 - nobody consumes: every message stays
    first = _beat(redis_url, tmp_path / "beat1.log")
    second = None
    try:
        assert wait_for(lambda: sent() >= 1, timeout=30), "the first beat sent nothing"
        second = _beat(redis_url, tmp_path / "beat2.log")
        log2 = tmp_path / "beat2.log"
        assert wait_for(lambda: log2.exists() and "beat: Starting" in log2.read_text(), timeout=60)
        time.sleep(2)  # the second one is up (and waiting for the lock)
        start, began = sent(), time.monotonic()
        time.sleep(8)
        per_second = (sent() - start) / (time.monotonic() - began)
        # One message per 1-second tick; two unlocked schedulers would make two.
        assert 0.5 <= per_second <= 1.4, per_second
        assert "Acquired lock" not in (tmp_path / "beat2.log").read_text()

        first.send_signal(signal.SIGKILL)  # dies holding the lock: no release
        first.wait()
        assert wait_for(lambda: "Acquired lock" in (tmp_path / "beat2.log").read_text(), timeout=LOCK_SECONDS + 15)
        after = sent()
        assert wait_for(lambda: sent() >= after + 2, timeout=10), "the second beat did not take over"
    finally:
        for proc in (first, second):
            if proc is not None:
                stop(proc)


def test_settings_with_redis_use_the_locking_scheduler(settings):
    assert settings.CELERY_BEAT_SCHEDULER == "redbeat.RedBeatScheduler"
