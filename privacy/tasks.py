from typing import Any

from celery import shared_task


@shared_task(name="privacy.erasure_sweep", max_retries=3, autoretry_for=(ConnectionError,), retry_backoff=True)
def erasure_sweep(subject_id: int, **kwargs: Any) -> None:
    """Erase what reached an erased person while the erasure ran
    (privacy.services.person_erase_sweep); idempotent."""
    from privacy.services import person_erase_sweep  # services import tasks

    person_erase_sweep(subject_id=subject_id)
