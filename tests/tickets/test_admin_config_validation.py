"""The Django admin refuses the calendars and SLA policies that the config
file refuses, with the error on the field (each example once broke every
portal submission routed to the queue with HTTP 500)."""

import json

import pytest

from accounts.models import User
from tickets.models import Calendar, SLAPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser(email="root@example.com", password="x-pass-123")
    client.force_login(user)
    return client


def _calendar(**overrides):
    data = {"name": "Paris office", "timezone": "Europe/Paris", "hours": {"mon": [["09:00", "17:00"]]}}
    data.update(overrides)
    return {k: json.dumps(v) if not isinstance(v, str) else v for k, v in data.items()} | {
        "holidays": json.dumps(data.get("holidays", [])),
        "overrides": json.dumps(data.get("overrides", [])),
    }


@pytest.mark.parametrize(
    ("overrides", "field", "needle"),
    [
        ({"hours": {"monday": "9-17"}}, "hours", "unknown day"),
        ({"hours": {"mon": "9-17"}}, "hours", "intervals"),
        ({"hours": {"mon": [["17:00", "09:00"]]}}, "hours", "start must be before the end"),
        ({"timezone": "Paris"}, "timezone", "unknown time zone"),
        ({"holidays": ["25/12/2026"]}, "holidays", "YYYY-MM-DD"),
    ],
)
def test_admin_refuses_an_unusable_calendar(admin_client, overrides, field, needle):
    response = admin_client.post("/admin/tickets/calendar/add/", _calendar(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and needle in " ".join(errors[field])
    assert not Calendar.objects.exists()


def test_admin_accepts_a_valid_calendar(admin_client):
    response = admin_client.post("/admin/tickets/calendar/add/", _calendar())
    assert response.status_code == 302
    assert Calendar.objects.get().hours == {"mon": [["09:00", "17:00"]]}


def _policy(**overrides):
    data = {
        "name": "Gold",
        "pause_statuses": ["pending"],
        "targets": {"high": {"first_response": 3600, "business_hours": False}},
        "warning_fraction": "0.75",
        "escalations": [],
    }
    data.update(overrides)
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


@pytest.mark.parametrize(
    ("overrides", "field", "needle"),
    [
        ({"targets": {"first_reply": "1h"}}, "targets", "unknown priority"),
        ({"targets": {"high": {"first_response": "1h"}}}, "targets", "positive number of seconds"),
        ({"pause_statuses": ["sleeping"]}, "pause_statuses", "must be one of"),
        ({"warning_fraction": "1.5"}, "warning_fraction", "between 0 and 1"),
        ({"escalations": [{"action": "explode"}]}, "escalations", "must be one of"),
    ],
)
def test_admin_refuses_an_unusable_sla_policy(admin_client, overrides, field, needle):
    response = admin_client.post("/admin/tickets/slapolicy/add/", _policy(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and needle in " ".join(errors[field])
    assert not SLAPolicy.objects.exists()


def test_admin_accepts_a_valid_policy(admin_client):
    assert admin_client.post("/admin/tickets/slapolicy/add/", _policy()).status_code == 302
    assert SLAPolicy.objects.get().targets["high"]["first_response"] == 3600
