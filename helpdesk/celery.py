"""The Celery app. Tasks are enqueued only on commit (delay_on_commit)."""

import os
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun
from kombu import Queue
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")


class HelpdeskCelery(Celery):
    """Celery whose publishing goes through the broker circuit breaker.

    Every delay/apply_async/send_task (not eager execution) lands here. While
    the breaker is open a send fails at once with OperationalError, which
    every caller already treats as "broker down, the sweeper will catch up"
    (docs/resilience.md)."""

    def send_task(self, *args: Any, **kwargs: Any) -> Any:
        from helpdesk.lib.breaker import broker_breaker
        from helpdesk.lib.cache import REDIS_DOWN_ERRORS

        if not broker_breaker.allow():
            raise OperationalError("Celery broker unavailable (circuit open)")
        try:
            result = super().send_task(*args, **kwargs)
        except (OperationalError, *REDIS_DOWN_ERRORS):  # type: ignore[misc]  # not e.g. an EncodeError: a bug, not an outage
            broker_breaker.failure()
            raise
        broker_breaker.success()
        return result


app = HelpdeskCelery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Database connections in the worker: one per process, kept across tasks as
# Django keeps them across requests (CONN_MAX_AGE), instead of Celery's
# default of a new connection before and after every task. A new PostgreSQL
# backend costs ~6 ms of server CPU plus its cold catalogue caches, more than
# many tasks themselves (an inbound mail is ~30 ms; bench/MAIL.md). Before
# and after each task a broken, aged or mid-transaction connection is closed
# (close_if_unusable_or_obsolete, Django's request rule), and before it one
# that the server dropped while idle is replaced (SELECT 1), so a restarted
# PostgreSQL costs a reconnect, never a failed task. CELERY_DB_REUSE_MAX in the
# settings turns Celery's own close off. Eager tasks run inside the caller's
# transaction: their connection is the caller's and is left alone.
def _db_connections_refresh(task: Any = None, *, check: bool, **kwargs: Any) -> None:
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close_if_unusable_or_obsolete()
        if check and conn.connection is not None and not conn.is_usable():
            conn.close()


@task_prerun.connect(weak=False, dispatch_uid="helpdesk-db-prerun")
def _db_before_task(task: Any = None, **kwargs: Any) -> None:
    _db_connections_refresh(task, check=True)


@task_postrun.connect(weak=False, dispatch_uid="helpdesk-db-postrun")
def _db_after_task(task: Any = None, **kwargs: Any) -> None:
    _db_connections_refresh(task, check=False)


# Queues and routing, in this one place (docs/scaling.md). Each queue has its
# own worker service in docker-compose.yml so one kind of work cannot starve
# another (a 30-minute rebuild never delays a customer's e-mail). A worker
# started without -Q consumes every queue listed here (make run does).
QUEUE_DEFAULT = "default"  # SLA scans, auto-close, privacy, throttle pruning, anything unrouted
QUEUE_MAIL = "mail"  # mail intake: IMAP polling, inbound processing and its sweeper
QUEUE_OUTBOX = "outbox"  # outbound delivery: notifications (SMTP) and webhooks (HTTP)
QUEUE_METRICS = "metrics"  # metrics recompute, its sweeper, the weekly report
QUEUE_LONG = "long_running"  # rebuild_range (1,800 s soft limit)
QUEUES = (QUEUE_DEFAULT, QUEUE_MAIL, QUEUE_OUTBOX, QUEUE_METRICS, QUEUE_LONG)
TASK_ROUTES = {
    "mail.inbound_process": QUEUE_MAIL,
    "mail.inbound_sweep": QUEUE_MAIL,
    "mail.mailbox_poll": QUEUE_MAIL,
    "mail.mailboxes_poll": QUEUE_MAIL,
    "mail.notification_send": QUEUE_OUTBOX,
    "mail.notifications_send_many": QUEUE_OUTBOX,
    "mail.notifications_drain": QUEUE_OUTBOX,
    "mail.notifications_sweep": QUEUE_OUTBOX,
    "webhooks.deliver": QUEUE_OUTBOX,
    "webhooks.sweep": QUEUE_OUTBOX,
    "metrics.recompute_dirty": QUEUE_METRICS,
    "metrics.sweep": QUEUE_METRICS,
    "metrics.rollup_fold": QUEUE_METRICS,
    "metrics.weekly_report": QUEUE_METRICS,
    "metrics.rebuild_range": QUEUE_LONG,
}
app.conf.task_queues = [Queue(name, routing_key=name) for name in QUEUES]
app.conf.task_routes = {task: {"queue": queue} for task, queue in TASK_ROUTES.items()}

# Beat schedule as code (crontab for periods >= 60 s; expires ~1.5x period).
app.conf.beat_schedule = {
    # Metrics: lost wake-ups (broker down at commit) and SLA clocks reaching a target.
    "metrics-sweep": {
        "task": "metrics.sweep",
        "schedule": crontab(minute="*"),
        "options": {"expires": 90},
    },
    # Dashboard week / month cells summed from the day cells the recompute wrote
    # (metrics.rollup.fold; the dashboard is exact before it runs, only reads more cells).
    "metrics-rollup-fold": {
        "task": "metrics.rollup_fold",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 450},
    },
    "tickets-solved-auto-close": {
        "task": "tickets.solved_auto_close",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 20 * 60},
    },
}

# Email channel (mail app): IMAP polling, outbox and inbound sweepers.
app.conf.beat_schedule.update(
    {
        "mail-mailboxes-poll": {
            "task": "mail.mailboxes_poll",
            "schedule": crontab(minute="*"),
            "options": {"expires": 90},
        },
        "mail-notifications-sweep": {
            "task": "mail.notifications_sweep",
            "schedule": crontab(minute="*"),
            "options": {"expires": 90},
        },
        "mail-inbound-sweep": {
            "task": "mail.inbound_sweep",
            "schedule": crontab(minute="*/5"),
            "options": {"expires": 450},
        },
    }
)

# SLA (tickets.sla_services): warnings, breaches and escalations every minute
# (a breach is marked at most ~20 s + queue wait after its due instant);
# pending reminders hourly.
app.conf.beat_schedule.update(
    {
        # Every 20 s (not crontab): a breach event must follow its due instant
        # within 60 s even when the scan waits behind other tasks; a scan with
        # nothing due is one index probe (~1 ms at 1M tickets, bench/SLA.md).
        "tickets-sla-breach-scan": {
            "task": "tickets.sla_breach_scan",
            "schedule": 20.0,
            "options": {"expires": 30},
        },
        "tickets-pending-remind": {
            "task": "tickets.pending_remind",
            "schedule": crontab(minute="7"),
            "options": {"expires": 30 * 60},
        },
    }
)

# Manager dashboard: weekly KPI summary e-mail (metrics/report_tasks.py), Mondays 07:00 UTC.
app.autodiscover_tasks(["metrics"], related_name="report_tasks")
app.conf.beat_schedule["metrics-weekly-report"] = {
    "task": "metrics.weekly_report",
    "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
    "options": {"expires": 6 * 3600},
}

# Agent workspace: handle-time sessions abandoned without a final beacon.
app.conf.beat_schedule["tickets-work-sessions-close-idle"] = {
    "task": "tickets.work_sessions_close_idle",
    "schedule": crontab(minute="*"),
    "options": {"expires": 90},
}

# Outbound webhooks: due pending deliveries (lost wake-ups, retries, leases).
app.conf.beat_schedule["webhooks-sweep"] = {
    "task": "webhooks.sweep",
    "schedule": crontab(minute="*"),
    "options": {"expires": 90},
}

# Expired throttle windows (helpdesk.lib.throttle keeps them in the database).
app.conf.beat_schedule["helpdesk-throttle-counters-prune"] = {
    "task": "helpdesk.throttle_counters_prune",
    "schedule": crontab(minute="23"),
    "options": {"expires": 30 * 60},
}

# Partitioned event log: the next months' partitions exist before they are needed.
app.conf.beat_schedule["tickets-event-partitions-ensure"] = {
    "task": "tickets.event_partitions_ensure",
    "schedule": crontab(minute="17", hour="3"),
    "options": {"expires": 6 * 3600},
}

# NPS relationship survey (surveys/nps.py, docs/surveys.md): due surveys, hourly.
app.conf.beat_schedule["surveys-nps-send-due"] = {
    "task": "surveys.nps_send_due",
    "schedule": crontab(minute="41"),
    "options": {"expires": 30 * 60},
}
