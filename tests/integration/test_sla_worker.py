"""SLA breach scan through the broker and a real worker; the beat entry."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from helpdesk.celery import app as celery_app
from tests.factories import CustomerFactory, QueueFactory, ticket_make
from tickets import tasks
from tickets.models import SLAMark, SLAPolicy, Ticket, TicketEvent


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_beat_runs_the_scan_every_20_seconds_and_expires_before_the_next_two():
    entry = celery_app.conf.beat_schedule["tickets-sla-breach-scan"]
    assert entry["task"] == tasks.sla_breach_scan.name == "tickets.sla_breach_scan"
    assert entry["schedule"] == 20.0
    assert 20 < entry["options"]["expires"] < 40


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_marks_breach_once_when_beat_task_arrives_twice(celery_worker):
    policy = SLAPolicy.objects.create(
        name="worker-policy", targets={"normal": {"first_response": 60, "business_hours": False}}
    )
    queue = QueueFactory(sla_policy=policy)
    past = datetime.now(UTC) - timedelta(minutes=5)
    ticket = ticket_make(queue=queue, requester=CustomerFactory(), occurred_at=past)
    assert Ticket.objects.get(pk=ticket.pk).sla_next_check_at == past + timedelta(seconds=60)

    # What beat sends, twice (two beat instances), through the broker.
    entry = celery_app.conf.beat_schedule["tickets-sla-breach-scan"]
    for _ in range(2):
        celery_app.send_task(entry["task"], **entry["options"])
    assert wait_for(lambda: TicketEvent.objects.filter(ticket=ticket, kind="sla.breached").exists())
    time.sleep(1.0)  # let the second delivery run too
    assert TicketEvent.objects.filter(ticket=ticket, kind="sla.breached").count() == 1
    assert SLAMark.objects.filter(ticket=ticket, kind="breach").count() == 1
    event = TicketEvent.objects.get(ticket=ticket, kind="sla.breached")
    due = datetime.fromisoformat(event.data["due_at"].replace("Z", "+00:00"))
    assert abs(due - (past + timedelta(seconds=60))) < timedelta(milliseconds=1)  # JSON keeps ms
    assert Ticket.objects.get(pk=ticket.pk).sla_next_check_at is None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_manager_escalation_mail_is_sent_on_commit_without_the_sweeper(celery_worker):
    """The notify_manager rows of an escalation are enqueued when the scan
    commits, so the real worker sends them at once. Before the fix
    bulk_create(ignore_conflicts=True) returned no ids on PostgreSQL and the
    mail waited for the 5-minute sweeper (never run here)."""
    from accounts.models import User
    from mail.models import Notification
    from tests.factories import ManagerFactory
    from tickets.sla_services import sla_breach_scan

    manager = ManagerFactory()
    assert User.objects.get(pk=manager.pk).email
    policy = SLAPolicy.objects.create(
        name="notify-policy",
        targets={"normal": {"first_response": 60, "business_hours": False}},
        escalations=[{"on": "breach", "action": "notify_manager"}],
    )
    past = datetime.now(UTC) - timedelta(minutes=5)
    ticket = ticket_make(queue=QueueFactory(sla_policy=policy), requester=CustomerFactory(), occurred_at=past)
    assert sla_breach_scan().escalations == 1
    rows = Notification.objects.filter(ticket=ticket, recipient=manager, kind="sla_warning")
    assert rows.count() == 1
    assert wait_for(lambda: rows.filter(status="sent").exists(), timeout=15)
