"""Enqueueing Celery tasks safely.

The database row is always the truth; a task is only a wake-up. A broker that
is down must never fail the request that committed the row: the enqueue is
logged and a periodic sweeper catches up when the broker returns.
"""

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task: Any, **kwargs: Any) -> bool:
    """Send `task` now; False (logged) if the broker is unreachable."""
    try:
        task.apply_async(kwargs=kwargs, retry=False)
    except Exception:  # any broker/connection error: the sweeper covers it
        logger.warning("enqueue of %s failed; the sweeper will catch up", task.name, exc_info=True)
        return False
    return True


def enqueue_on_commit(task: Any, **kwargs: Any) -> None:
    """Send `task` after the current transaction commits (never inside it)."""
    transaction.on_commit(lambda: enqueue(task, **kwargs))
