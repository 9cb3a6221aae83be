"""Celery tasks of the metrics app: thin wake-ups over the dirty table."""

import time

from celery import shared_task

# Stop claiming new batches after this long; the task re-enqueues itself.
TIME_BUDGET_S = 20


@shared_task(name="metrics.recompute_dirty", soft_time_limit=50, time_limit=60)
def recompute_dirty(**kwargs: object) -> int:
    """Drain MetricsDirty in SKIP LOCKED batches. Safe to run many at once."""
    from helpdesk.lib.tasks import wake_started
    from metrics.services import CLAIM_BATCH, metrics_dirty_claim_and_recompute

    wake_started(recompute_dirty)  # before the claim: later writers wake us again
    started = time.monotonic()
    total = 0
    while True:
        n = metrics_dirty_claim_and_recompute()
        total += n
        # A short batch took every mark committed before the claim; a mark
        # committed after it woke a new run (the flag was cleared above), and
        # one skipped as locked is another run's or its writer's, which wakes
        # one on commit: no empty claim to end on (docs/delivery.md).
        if n < CLAIM_BATCH:
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


@shared_task(name="metrics.rollup_fold", soft_time_limit=240, time_limit=300)
def rollup_fold(**kwargs: object) -> int:
    """Periodic: sum the week and month dashboard cells marked stale by recent recomputes."""
    from metrics.rollup import fold

    return fold()


@shared_task(name="metrics.rebuild_range", soft_time_limit=1800, time_limit=1900)
def rebuild_range(*, lo: int, hi: int, batch: int = 1000, as_of: str | None = None, **kwargs: object) -> int:
    """Bulk rebuild of the ticket ids in [lo, hi) (metrics_rebuild in broker mode).

    Idempotent: a redelivered task rewrites the same rows. The dashboard cells
    are rebuilt by the command once every range is done.
    """
    from datetime import datetime

    from metrics.services import metrics_bulk_rebuild_range

    at = datetime.fromisoformat(as_of) if as_of else None
    tickets, _events = metrics_bulk_rebuild_range(lo=lo, hi=hi, as_of=at, batch=batch)
    return tickets
