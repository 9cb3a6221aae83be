"""Celery tasks of the tickets app: thin, id-based, idempotent."""

from celery import shared_task


@shared_task(name="tickets.solved_auto_close", soft_time_limit=50, time_limit=60)
def solved_auto_close(**kwargs: object) -> int:
    """Close solved tickets older than the configured number of days.

    Idempotent: each ticket is re-checked under its row lock by the service.
    """
    from tickets.services import tickets_auto_close_solved

    return tickets_auto_close_solved()
