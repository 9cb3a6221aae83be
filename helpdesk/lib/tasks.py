"""Enqueueing Celery tasks safely.

The database row is always the truth; a task is only a wake-up. A broker that
is down must never fail the request that committed the row: the enqueue is
logged and a periodic sweeper catches up when the broker returns.
"""

import contextlib
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


# A wake-up flag lives this long at most: if its task is lost (a worker that
# died holding the message), the next write after it sends a new wake-up.
WAKE_FLAG_TTL_S = 10


def _wake_flag(task: Any) -> str:
    return f"wake-pending:{task.name}"


def _flags_shared(task: Any) -> bool:
    """Only a cache every process sees (Redis) can say "a wake-up is
    pending" to the other web processes and the worker; eager tasks run
    inline and need no flag."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    return isinstance(caches["default"], RedisCache) and not task.app.conf.task_always_eager


def enqueue_coalesced(task: Any) -> bool:
    """Send a drain task (no arguments; it drains every row marked for it)
    unless a wake-up sent earlier has not started yet (docs/delivery.md,
    "One wake-up for many writes").

    Call after the commit that wrote the marks. The flag is set with SET NX
    here and cleared by the task before it claims anything (wake_started):
    a writer that finds the flag knows that task has not claimed yet, so it
    will claim this writer's committed marks too. One Redis round trip
    instead of a broker publish for every write but the first of a burst.
    Without a shared cache, or when Redis fails, it sends as enqueue does.
    """
    if not _flags_shared(task):
        return enqueue(task)
    from django.core.cache import cache

    try:
        first = cache.add(_wake_flag(task), 1, WAKE_FLAG_TTL_S)
    except Exception:  # Redis down: send; the broker (the same Redis) decides
        return enqueue(task)
    if not first:
        return True
    if enqueue(task):
        return True
    with contextlib.suppress(Exception):  # the next writer tries again
        cache.delete(_wake_flag(task))
    return False


def wake_started(task: Any) -> None:
    """First thing in a coalesced task's body, before its claim: writers
    that commit from now on send a new wake-up."""
    if not _flags_shared(task):
        return
    from django.core.cache import cache

    with contextlib.suppress(Exception):  # a stuck flag expires (WAKE_FLAG_TTL_S)
        cache.delete(_wake_flag(task))
