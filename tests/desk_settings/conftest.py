import pytest
from django.core.cache import cache

from accounts.models import User


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_read": "100000/min", "api_write": "100000/min", "api_anon": "100000/min"},
    }
    yield
    cache.clear()


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(email="root@acme.test", password="x-pass-123")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client
