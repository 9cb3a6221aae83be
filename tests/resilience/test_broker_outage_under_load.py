"""The broker stopped for 30 s while customers submit and agents reply, with a
real worker running all along: every request answers fast, nothing is lost,
the same worker process is still alive afterwards and drains the backlog."""

import time
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from helpdesk.lib.tasks import enqueue
from mail.models import Notification
from metrics.models import MetricsDirty, TicketMetrics
from tests.processes import wait_for, worker_running
from tests.resilience.test_degraded_requests import PASSWORD, TIME_LIMIT, world  # noqa: F401 (fixture)
from tickets.models import Ticket

OUTAGE_S = 30


@pytest.mark.slow
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_broker_down_30s_under_submissions_loses_nothing(redis_backed, world, tmp_path):  # noqa: F811
    portal, desk = Client(), Client()
    assert portal.post("/accounts/login/", {"email": world["customer"].email, "password": PASSWORD}).status_code == 302
    desk.force_login(world["agent"])
    slow: list[float] = []
    created: list[int] = []

    def submit(i: int) -> None:
        start = time.monotonic()
        new = {"request_type": world["request_type"].pk, "subject": f"Outage {i}", "description": "Still there?"}
        assert portal.post("/portal/new/", new).status_code == 302
        ticket = Ticket.objects.get(subject=f"Outage {i}")
        reply = reverse("tickets:agent-ticket-reply", args=[ticket.pk])
        assert desk.post(reply, {"body": f"Answer {i}", "visibility": "public"}).status_code == 302
        created.append(ticket.pk)
        elapsed = time.monotonic() - start
        if elapsed >= 2 * TIME_LIMIT:
            slow.append(elapsed)

    with (
        override_settings(HELPDESK_REDIS_BREAKER_SECONDS=2),
        worker_running(redis_url=redis_backed.url(), log=tmp_path / "worker.log") as worker,
    ):
        submit(0)  # broker up: handled by the worker at once
        with redis_backed.down():
            deadline, i = time.monotonic() + OUTAGE_S, 1
            while time.monotonic() < deadline:
                submit(i)
                i += 1
                time.sleep(0.5)
        assert not slow, f"requests slower than {2 * TIME_LIMIT} s during the outage: {slow}"
        assert len(created) > 10
        # The outbox sweeper takes rows older than 5 minutes (a fresh row's own
        # enqueue may still be in flight): let the outage have lasted that long.
        Notification.objects.filter(ticket_id__in=created, status=Notification.Status.PENDING).update(
            created_at=timezone.now() - timedelta(minutes=6)
        )
        from mail.tasks import notifications_sweep
        from metrics.tasks import sweep

        # What beat sends every minute; the publisher's breaker half-opens by itself.
        assert wait_for(lambda: enqueue(sweep) and enqueue(notifications_sweep), timeout=30)
        drained = wait_for(
            lambda: (
                not MetricsDirty.objects.filter(ticket_id__in=created).exists()
                and not Notification.objects.filter(ticket_id__in=created, status=Notification.Status.PENDING).exists()
            ),
            timeout=90,
        )
        assert drained, (tmp_path / "worker.log").read_text()[-3000:]
        assert worker.poll() is None, "the worker exited during the outage"
    metrics = TicketMetrics.objects.filter(ticket_id__in=created)
    assert sorted(metrics.values_list("public_agent_replies", flat=True)) == [1] * len(created)
    replied = Notification.objects.filter(ticket_id__in=created, kind="agent_reply", status=Notification.Status.SENT)
    assert set(replied.values_list("ticket_id", flat=True)) == set(created)
