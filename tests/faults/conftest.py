"""Real processes for fault tests (tests/processes.py): a private
redis-server that a test can stop, hang and restart, and Celery workers that
a test can SIGKILL. Each fault test is bounded in time."""

from collections.abc import Iterator

import pytest

from tests.processes import RedisServer, redis_server_running


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    with redis_server_running() as server:
        yield server
