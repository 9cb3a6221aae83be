"""While Redis is known to be unavailable, calls skip it at once."""

import time

import pytest
from django.core.cache import cache
from django.test import override_settings

from helpdesk.lib.tasks import enqueue
from tests.processes import wait_for
from tickets import tasks


@pytest.mark.slow
@pytest.mark.django_db
def test_enqueue_and_cache_cost_nothing_while_redis_hangs_then_recover(redis_backed):
    """With Redis hung (SIGSTOP), the first enqueue and the first cache read
    each wait one short timeout; the next 50 of each take a few milliseconds
    in all (before: every call waited for as long as Redis hung). After
    the cool-down, with Redis answering again, both work."""
    with override_settings(HELPDESK_REDIS_BREAKER_SECONDS=2), redis_backed.hung():
        start = time.monotonic()
        assert enqueue(tasks.solved_auto_close) is False
        with pytest.raises(Exception):  # noqa: B017 (redis-py's timeout)
            cache.get("k")
        first = time.monotonic() - start
        start = time.monotonic()
        for _ in range(50):
            assert enqueue(tasks.solved_auto_close) is False
            with pytest.raises(Exception):  # noqa: B017
                cache.get("k")
        rest = time.monotonic() - start
    assert first < 1.5, first
    assert rest < 0.5, rest
    with override_settings(HELPDESK_REDIS_BREAKER_SECONDS=2):
        assert wait_for(lambda: enqueue(tasks.solved_auto_close), timeout=15)
        assert wait_for(_cache_works, timeout=15)


def _cache_works() -> bool:
    try:
        cache.set("k", 1)
        return cache.get("k") == 1
    except Exception:
        return False


@pytest.mark.django_db
def test_a_bad_message_does_not_open_the_breaker(redis_backed):
    """An argument that cannot be serialised is a bug in the caller, not a
    broker outage: it raises, and the next enqueue still goes through."""
    from kombu.exceptions import EncodeError

    with pytest.raises(EncodeError):
        tasks.solved_auto_close.apply_async(kwargs={"not_json": object()})
    assert enqueue(tasks.solved_auto_close) is True
