"""Celery tasks of the tickets app: thin, id-based, idempotent."""

from celery import shared_task


@shared_task(name="tickets.solved_auto_close", soft_time_limit=50, time_limit=60)
def solved_auto_close(**kwargs: object) -> int:
    """Close solved tickets older than the configured number of days.

    Idempotent: each ticket is re-checked under its row lock by the service.
    """
    from tickets.services import tickets_auto_close_solved

    return tickets_auto_close_solved()


@shared_task(name="tickets.sla_breach_scan", soft_time_limit=50, time_limit=60)
def sla_breach_scan(**kwargs: object) -> dict[str, int]:
    """Mark due SLA warnings and breaches exactly once and escalate.

    Safe with two beats or a retried task (SKIP LOCKED + unique marks).
    """
    from tickets.sla_services import sla_breach_scan as scan

    r = scan()
    return {"tickets": r.tickets, "breaches": r.breaches, "warnings": r.warnings, "escalations": r.escalations}


@shared_task(name="tickets.sla_refresh_dirty", soft_time_limit=50, time_limit=60)
def sla_refresh_dirty(**kwargs: object) -> int:
    """Refresh the stored SLA due instants of tickets marked dirty by event
    transactions (woken on commit; the breach scan is the sweep).

    Idempotent: marks are claimed with SKIP LOCKED and deleted with the refresh.
    """
    from helpdesk.lib.tasks import wake_started
    from tickets.sla_dirty import sla_dirty_drain

    wake_started(sla_refresh_dirty)  # before the claim: later writers wake us again
    return sla_dirty_drain()


@shared_task(name="tickets.pending_remind", soft_time_limit=50, time_limit=60)
def pending_remind(**kwargs: object) -> int:
    """Remind requesters of tickets pending for their queue's number of days."""
    from tickets.sla_services import tickets_remind_pending

    return tickets_remind_pending()


@shared_task(name="tickets.work_sessions_close_idle", soft_time_limit=50, time_limit=60)
def work_sessions_close_idle(**kwargs: object) -> int:
    """Write handle-time sessions with no heartbeat for over 120 s (M9, docs/metrics.md)."""
    from tickets.workspace_services import work_sessions_close_idle as close

    return close()


@shared_task(name="tickets.event_partitions_ensure", soft_time_limit=50, time_limit=60)
def event_partitions_ensure(**kwargs: object) -> list[str]:
    """Create the event log's monthly partitions ahead (no-op when the table
    is not partitioned; docs/event-partitions.md). Idempotent."""
    from tickets.partitions import partitions_ensure

    return partitions_ensure(ahead=3)
