"""The live page's version bump on real Redis (tickets/live.py): one round
trip per ticket (SET NX + INCR in one MULTI, helpdesk.lib.cache), with the
same meaning as the EXISTS + INCR (+ SET) it replaced: a missing key starts at a fresh random
version, an existing one goes up by one and keeps its expiry."""

import os

import pytest
from django.core.cache import cache

from helpdesk.lib.breaker import cache_breaker
from helpdesk.lib.cache import redis_cache_config
from tickets import live


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {
        "default": redis_cache_config(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15", timeout=0.5)
    }
    cache_breaker.reset()
    cache.clear()
    yield
    cache.clear()


def test_bump_starts_a_missing_version_fresh_and_increments_an_existing_one(redis_cache):
    assert cache.get(live._version_key(7)) is None
    live.tickets_changed([7])
    first = live.ticket_version(ticket_id=7)
    assert first is not None and first > 1  # fresh random start, never a small count a page may hold
    live.tickets_changed([7])
    assert live.ticket_version(ticket_id=7) == first + 1


def test_bump_keeps_the_expiry_of_an_existing_version(redis_cache):
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    key = cache.make_and_validate_key(live._version_key(8))
    live.tickets_changed([8])
    client = redis.Redis.from_url(url)
    client.expire(key, 100)
    live.tickets_changed([8])
    assert 0 < client.ttl(key) <= 100


def test_a_poll_that_saw_the_version_before_a_bump_reads_again(redis_cache):
    seen = live.ticket_version(ticket_id=9)  # a page opened before any event: the poll adds a version
    live.tickets_changed([9])
    assert live.ticket_version(ticket_id=9) == seen + 1


def _script_calls(client) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))


def test_bump_of_many_tickets_is_one_script_call_with_the_same_meaning(redis_cache):
    """A batch (the import's 1,000 tickets) is one EVALSHA, not a pipeline of
    SET NX + INCR per key, whose packing cost the import ~0.1 ms a ticket
    (bench/IMPORT.md, fifth round): missing keys start fresh, existing ones
    go up by one and keep their expiry."""
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    client = redis.Redis.from_url(url)
    live.tickets_changed([20])
    before = live.ticket_version(ticket_id=20)
    client.expire(cache.make_and_validate_key(live._version_key(20)), 100)
    calls = _script_calls(client)
    live.tickets_changed(list(range(20, 1020)))
    assert 1 <= _script_calls(client) - calls <= 2  # one EVALSHA (+ one EVAL the first time a server sees it)
    assert live.ticket_version(ticket_id=20) == before + 1
    assert 0 < client.ttl(cache.make_and_validate_key(live._version_key(20))) <= 100
    fresh = [live.ticket_version(ticket_id=t) for t in (21, 500, 1019)]
    assert all(v is not None and v > 1 for v in fresh)
    assert 0 < client.ttl(cache.make_and_validate_key(live._version_key(500))) <= live.VERSION_TTL
