"""Celery tasks of the surveys: thin wrappers (surveys/nps.py does the work)."""

from celery import shared_task


@shared_task(name="surveys.nps_send_due", soft_time_limit=600, time_limit=660)
def nps_send_due(**kwargs: object) -> int:
    """Write the NPS relationship surveys that are due (docs/surveys.md);
    safe to run twice at once: each target is written once."""
    from surveys.nps import nps_send_due as send

    return send()
