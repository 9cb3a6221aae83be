"""Periodic chores of the shared infrastructure."""

from celery import shared_task


@shared_task(name="helpdesk.throttle_counters_prune", soft_time_limit=50, time_limit=60)
def throttle_counters_prune(**kwargs: object) -> int:
    """Delete expired login/magic-link throttle windows."""
    from helpdesk.lib.throttle import counters_prune

    return counters_prune()
