"""Issue 15: account e-mails (sign-in link, password reset / claim) while
Redis, the cache and the broker, is down or hung. The pages answer at once
and alike for a usable, an unclaimed and an unknown address (status and
body); the mails are outbox rows in the database, and once Redis is back
the sweeper hands them to a real worker, which sends them (docs/accounts.md,
"Account e-mails go through the outbox")."""

import time
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from accounts.services import user_for_address
from helpdesk.lib.tasks import enqueue
from mail.models import Notification
from tests.factories import CustomerFactory
from tests.processes import wait_for, worker_running

TIME_LIMIT = 1.5  # one cache and one broker timeout (0.5 s each) at most, then the breakers
PATHS = ("/accounts/password-reset/", "/accounts/magic-link/")


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["down", "hung"])
def test_account_mails_during_a_redis_outage_answer_alike_and_are_sent_later(mode, redis_backed, tmp_path):
    usable = CustomerFactory(email="dana@customer.example")
    unclaimed = user_for_address("erin@customer.example", "Erin")  # wrote by e-mail: inactive
    assert not unclaimed.is_active
    client = Client()
    client.post(PATHS[0], {"email": "warm-up@example.com"})  # imports, templates: not Redis's cost

    slow: list[str] = []
    with redis_backed.down() if mode == "down" else redis_backed.hung():
        for path in PATHS:
            answers = []
            for address in (usable.email, unclaimed.email, "nobody@example.com"):
                start = time.monotonic()
                response = client.post(path, {"email": address})
                if (elapsed := time.monotonic() - start) >= TIME_LIMIT:
                    slow.append(f"{path} {address}: {elapsed:.2f} s")
                answers.append((response.status_code, response.content))
            assert answers[0][0] == 200 and len(set(answers)) == 1, path
    assert not slow, slow

    rows = Notification.objects.filter(kind="account")
    assert sorted(rows.values_list("to_email", flat=True)) == sorted([usable.email, unclaimed.email] * 2)
    assert set(rows.values_list("status", flat=True)) == {Notification.Status.PENDING}
    # The sweeper re-enqueues rows older than 5 minutes (a fresh row's own
    # enqueue may still be in flight): let the outage have lasted that long.
    rows.update(created_at=timezone.now() - timedelta(minutes=6))
    with (
        override_settings(HELPDESK_REDIS_BREAKER_SECONDS=1),
        worker_running(redis_url=redis_backed.url(), log=tmp_path / "worker.log"),
    ):
        from mail.tasks import notifications_sweep

        assert wait_for(lambda: enqueue(notifications_sweep), timeout=30)
        sent = wait_for(lambda: not rows.exclude(status=Notification.Status.SENT).exists(), timeout=60)
        assert sent, (tmp_path / "worker.log").read_text()
    assert all(r.attempts == 1 and r.message_id for r in rows)
