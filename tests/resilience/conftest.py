"""A private redis-server per test, which the test stops, hangs and restarts
(tests/processes.py)."""

from collections.abc import Iterator

import pytest

from tests.processes import RedisServer, broker_at, redis_server_running


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with redis_server_running() as server:
        yield server


@pytest.fixture
def redis_backed(redis_server: RedisServer) -> Iterator[RedisServer]:
    """This process's cache and Celery publishing on the private Redis, with
    the production cache backend and timeouts."""
    from django.conf import settings
    from django.test import override_settings

    from helpdesk.lib.cache import redis_cache_config

    config = redis_cache_config(redis_server.url(), timeout=settings.HELPDESK_REDIS_TIMEOUT)
    with override_settings(CACHES={"default": config}), broker_at(redis_server.url()):
        yield redis_server
