"""The metrics tests share the session's one real Celery worker."""

import pytest


@pytest.fixture
def metrics_worker(celery_worker):
    return celery_worker
