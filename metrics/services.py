"""Writes of the metrics app."""

from collections.abc import Sequence

from metrics.models import MetricsDirty


def tickets_mark_dirty(*, ticket_ids: Sequence[int]) -> None:
    """Mark tickets for recomputation, in the caller's transaction.

    Idempotent (ON CONFLICT DO NOTHING). The wake-up task is enqueued on
    commit by the metrics engine; a periodic sweeper covers lost wake-ups.
    """
    if not ticket_ids:
        return
    MetricsDirty.objects.bulk_create(
        [MetricsDirty(ticket_id=pk) for pk in sorted(set(ticket_ids))],
        ignore_conflicts=True,
        batch_size=5000,
    )
