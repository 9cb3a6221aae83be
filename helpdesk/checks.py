"""System checks of the deployment (`manage.py check --deploy`)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

# Caches that each process keeps to itself: with several gunicorn workers
# every API rate limit would be multiplied by their number, and presence
# (collision notice) and work sessions would see only their own process.
PER_PROCESS_CACHES = frozenset(
    {
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
    }
)


@register(Tags.caches, deploy=True)
def shared_cache_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Production (DEBUG off) needs a shared default cache."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if settings.DEBUG or backend not in PER_PROCESS_CACHES:
        return []
    return [
        Error(
            f"The default cache is {backend.rsplit('.', 1)[-1]}, private to each process: API rate limits, "
            "presence and work sessions would not be shared between web processes.",
            hint="Set REDIS_URL (e.g. redis://redis:6379/0); it is also the Celery broker. "
            "Or configure a shared cache such as the database cache (docs/resilience.md).",
            id="helpdesk.E001",
        )
    ]
