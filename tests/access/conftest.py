import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    """Login throttles and API rates live in the cache: start clean."""
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_read": "100000/min", "api_write": "100000/min", "api_anon": "100000/min"},
    }
    yield
    cache.clear()


@pytest.fixture
def api_client_for():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make
