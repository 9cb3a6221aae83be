"""The API rate limit while the shared cache is down: loosened, not gone."""

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import AgentFactory


@pytest.mark.django_db
def test_rate_limit_falls_back_to_a_per_process_count_when_redis_is_down(redis_backed):
    """With Redis stopped the API answers (before: 500 from the throttle's
    cache read) and still refuses the 4th call of a 3/min budget: the
    requests are counted in this process until Redis returns."""
    # override_settings nested inside redis_backed's (pytest-django's `settings`
    # fixture would restore its snapshot, Redis cache included, after it).
    rates = {"api_read": "3/min", "api_write": "3/min", "api_anon": "3/min"}
    client = APIClient()
    client.force_authenticate(AgentFactory())
    url = reverse("api:ticket-list")
    framework = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    with override_settings(REST_FRAMEWORK=framework), redis_backed.down():
        codes = [client.get(url).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
