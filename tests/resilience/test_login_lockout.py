"""The login lock-out cannot be bypassed by taking Redis away."""

import pytest

from accounts.forms import INVALID_MESSAGE, THROTTLED_MESSAGE
from tests.factories import CustomerFactory

PASSWORD = "pw-Secret-123"


def _login(client, email, password):
    return client.post("/accounts/login/", {"email": email, "password": password})


@pytest.mark.slow
@pytest.mark.django_db
def test_lockout_counts_across_a_redis_outage_and_restart(client, redis_backed):
    """Three failures with Redis up and two with Redis stopped lock the
    account (even the right password is refused), and the lock-out survives
    Redis restarting empty. Before: the counters lived in the cache, so the
    login raised while Redis was down and a restart cleared them."""
    CustomerFactory(email="t@example.com")
    for _ in range(3):
        assert str(INVALID_MESSAGE) in _login(client, "t@example.com", "wrong").content.decode()
    with redis_backed.down():
        for _ in range(2):
            assert str(INVALID_MESSAGE) in _login(client, "t@example.com", "wrong").content.decode()
        blocked = _login(client, "t@example.com", PASSWORD)
        assert blocked.status_code == 200 and str(THROTTLED_MESSAGE) in blocked.content.decode()
    assert str(THROTTLED_MESSAGE) in _login(client, "t@example.com", PASSWORD).content.decode()


@pytest.mark.django_db(transaction=True)
def test_concurrent_failures_are_all_counted():
    """The failure count is one atomic upsert: two connections recording at
    once lose no increment."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from helpdesk.lib.throttle import Throttle

    throttle = Throttle(scope="race", limit=100, window=60)

    def record(_: int) -> int:
        try:
            return throttle.failure_record("same-key")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = sorted(pool.map(record, range(40)))
    assert counts == list(range(1, 41))
    assert throttle.failures("same-key") == 40
