"""Celery tasks of outbound webhooks: thin, id-based, idempotent."""

from celery import shared_task


@shared_task(name="webhooks.deliver", soft_time_limit=40, time_limit=60, acks_late=True)
def deliver(delivery_id: int, **kwargs: object) -> str:
    """One attempt at one delivery; a no-op when it is not due or done."""
    from webhooks.services import webhook_deliver

    return webhook_deliver(delivery_id=delivery_id)


@shared_task(name="webhooks.sweep", soft_time_limit=50, time_limit=60)
def sweep(**kwargs: object) -> int:
    """Re-enqueue due pending deliveries (lost wake-ups, retries, leases)."""
    from webhooks.services import deliveries_due_ids, deliveries_enqueue

    return deliveries_enqueue(deliveries_due_ids())
