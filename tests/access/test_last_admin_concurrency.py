"""Two admins demoting each other at the same time, on two real database
connections, never leave the help desk without an active admin."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from accounts.models import User
from tests.factories import UserFactory
from tickets import config


def _wait_until_blocked(timeout: float = 10.0) -> None:
    """Until another backend waits on a row lock (the second demotion)."""
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cur.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the second demotion never waited for the first")


@pytest.mark.django_db(transaction=True)
def test_concurrent_demotions_keep_one_admin():
    a = UserFactory(role=User.Role.ADMIN, email="a-admin@acme.test")
    b = UserFactory(role=User.Role.ADMIN, email="b-admin@acme.test")
    first_applied = threading.Event()
    release_first = threading.Event()
    outcome: dict[str, object] = {}

    def demote(user: User, key: str, hold: bool) -> None:
        try:
            doc = {"agents": [{"email": user.email, "role": "manager"}]}
            with transaction.atomic():
                config.config_apply(doc, actor=None)
                if hold:  # keep the first transaction open while the second starts
                    first_applied.set()
                    release_first.wait(10)
            outcome[key] = "applied"
        except config.ConfigInvalid as exc:
            outcome[key] = [p.path for p in exc.problems]
        finally:
            connection.close()

    first = threading.Thread(target=demote, args=(a, "a", True))
    first.start()
    assert first_applied.wait(10)
    second = threading.Thread(target=demote, args=(b, "b", False))
    second.start()
    _wait_until_blocked()
    release_first.set()
    first.join(20)
    second.join(20)
    assert outcome == {"a": "applied", "b": ["agents[0].role"]}
    assert set(User.objects.filter(role=User.Role.ADMIN, is_active=True).values_list("pk", flat=True)) == {b.pk}
