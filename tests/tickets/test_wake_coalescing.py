"""One wake-up for many writes (docs/delivery.md, "One wake-up for many
writes"): the metrics and SLA drain tasks are sent once per burst of
commits, not once per commit, and no mark is left behind.

Real Redis (the cache that holds the flag and the broker the tasks are
published to); the tasks' bodies run in-process as the worker runs them."""

import os
import socket

import pytest

from helpdesk.lib.breaker import cache_breaker
from helpdesk.lib.cache import redis_cache_config
from metrics.models import MetricsDirty
from metrics.tasks import recompute_dirty
from tests.factories import ticket_make
from tests.processes import broker_at, redis_cache_and_broker
from tickets.models import SLADirty
from tickets.tasks import sla_refresh_dirty

# Each write commits for real (its on-commit wake-up runs then).
pytestmark = pytest.mark.django_db(transaction=True)

WAKES = (recompute_dirty.name, sla_refresh_dirty.name)


def _redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_cache(settings):
    settings.HELPDESK_SLA_REFRESH = "worker"
    with redis_cache_and_broker(settings):
        yield


def _write(queue, customer):
    return ticket_make(queue=queue, requester=customer)


def _wakes(names: list[str]) -> dict[str, int]:
    return {w: names.count(w) for w in WAKES}


def test_a_burst_of_commits_sends_one_wake_up_and_the_pending_task_drains_every_mark(
    redis_cache, published, queue, customer
):
    first = _write(queue, customer)
    assert _wakes(published) == dict.fromkeys(WAKES, 1)
    # Committed while that wake-up is pending (not started): no new publish.
    later = [_write(queue, customer) for _ in range(3)]
    assert _wakes(published) == dict.fromkeys(WAKES, 1)
    ids = {first.pk, *(t.pk for t in later)}
    assert set(SLADirty.objects.values_list("ticket_id", flat=True)) >= ids
    assert set(MetricsDirty.objects.values_list("ticket_id", flat=True)) >= ids

    # The pending task runs (its body, as the worker runs it): it drains the
    # marks of every commit it was sent for or that found it pending.
    sla_refresh_dirty()
    recompute_dirty()
    assert not SLADirty.objects.filter(ticket_id__in=ids).exists()
    assert not MetricsDirty.objects.filter(ticket_id__in=ids).exists()

    # It cleared the flag before its claim: the next commit wakes it again.
    _write(queue, customer)
    assert _wakes(published) == dict.fromkeys(WAKES, 2)


def test_without_a_shared_cache_every_commit_sends_its_wake_up(settings, published, queue, customer):
    """A per-process cache cannot tell other processes a wake-up is pending."""
    settings.HELPDESK_SLA_REFRESH = "worker"
    with broker_at(_redis_url()):
        for _ in range(3):
            _write(queue, customer)
    assert _wakes(published) == dict.fromkeys(WAKES, 3)


def test_redis_cache_down_still_sends_every_wake_up(settings, published, queue, customer):
    """The flag's cache unreachable (the broker is not): never fewer wake-ups than before."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    settings.CACHES = {"default": redis_cache_config(f"redis://127.0.0.1:{dead}/0", timeout=0.5)}
    settings.HELPDESK_SLA_REFRESH = "worker"
    cache_breaker.reset()
    try:
        with broker_at(_redis_url()):
            for _ in range(2):
                _write(queue, customer)
    finally:
        cache_breaker.reset()
    assert _wakes(published) == dict.fromkeys(WAKES, 2)


def test_a_failed_publish_clears_the_flag_so_the_next_commit_tries_again(redis_cache, published, queue, customer):
    from helpdesk.lib.breaker import broker_breaker

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    try:
        with broker_at(f"redis://127.0.0.1:{dead}/0"):
            _write(queue, customer)  # the publish fails (logged)
    finally:
        broker_breaker.reset()
    published.clear()
    _write(queue, customer)
    assert _wakes(published) == dict.fromkeys(WAKES, 1)
