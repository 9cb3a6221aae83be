"""Celery tasks of the metrics app: thin wake-ups over the dirty table."""

import time

from celery import shared_task

# Stop claiming new batches after this long; the task re-enqueues itself.
TIME_BUDGET_S = 20


@shared_task(name="metrics.recompute_dirty", soft_time_limit=50, time_limit=60)
def recompute_dirty(**kwargs: object) -> int:
    """Drain MetricsDirty in SKIP LOCKED batches. Safe to run many at once."""
    from metrics.services import metrics_dirty_claim_and_recompute

    started = time.monotonic()
    total = 0
    while True:
        n = metrics_dirty_claim_and_recompute()
        total += n
        if n == 0:
            return total
        if time.monotonic() - started > TIME_BUDGET_S:
            from helpdesk.lib.tasks import enqueue

            enqueue(recompute_dirty)
            return total


@shared_task(name="metrics.sweep", soft_time_limit=50, time_limit=60)
def sweep(**kwargs: object) -> int:
    """Periodic: mark tickets whose SLA clock breaches, and drain dirty rows
    whose on-commit wake-up was lost (e.g. Redis down at commit time)."""
    from metrics.services import metrics_dirty_claim_and_recompute, metrics_sla_due_mark_dirty

    metrics_sla_due_mark_dirty()
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < TIME_BUDGET_S:
        n = metrics_dirty_claim_and_recompute()
        total += n
        if n == 0:
            break
    return total
