"""Each invalid example of issue 13 is refused on every path (Settings page,
Django admin, PUT /api/v1/config/, helpdesk_config apply) with a message
that names the field, and nothing is stored."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tickets.models import Calendar, SLAPolicy

pytestmark = pytest.mark.django_db

GOOD_CALENDAR = {"name": "Paris office", "timezone": "Europe/Paris", "hours": {"mon": [["09:00", "17:00"]]}}
GOOD_POLICY = {"name": "Gold", "pause_statuses": ["pending"], "targets": {"high": {"first_response": 3600}}}

# (section, item overrides, the field the message must name, words it must contain)
EXAMPLES = [
    ("calendars", {"hours": {"monday": "9-17"}}, "hours", "unknown day"),
    ("calendars", {"timezone": "Paris"}, "timezone", "unknown time zone 'Paris'"),
    ("sla_policies", {"targets": {"first_reply": "1h"}}, "targets", "unknown priority"),
]


def _item(section, overrides):
    return {**(GOOD_CALENDAR if section == "calendars" else GOOD_POLICY), **overrides}


def _stored(section):
    return (Calendar if section == "calendars" else SLAPolicy).objects.exists()


@pytest.mark.parametrize(("section", "overrides", "field", "needle"), EXAMPLES)
def test_config_file_refuses(tmp_path, section, overrides, field, needle):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({section: [_item(section, overrides)]}))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("helpdesk_config", "apply", str(path), stderr=err)
    assert f"{section}[0].{field}" in err.getvalue() and needle in err.getvalue()
    assert not _stored(section)


@pytest.mark.parametrize(("section", "overrides", "field", "needle"), EXAMPLES)
def test_config_api_refuses(client, manager, section, overrides, field, needle):
    client.force_login(manager)
    response = client.put(
        "/api/v1/config/", json.dumps({section: [_item(section, overrides)]}), content_type="application/json"
    )
    assert response.status_code == 400
    problems = response.json()["details"]["problems"]
    assert any(p["path"].startswith(f"{section}[0].{field}") and needle in p["message"] for p in problems), problems
    assert not _stored(section)


@pytest.mark.parametrize(("section", "overrides", "field", "needle"), EXAMPLES)
def test_django_admin_refuses(admin_client, section, overrides, field, needle):
    item = _item(section, overrides)
    if section == "calendars":
        url, item = "/admin/tickets/calendar/add/", {"holidays": [], "overrides": [], **item}
    else:
        url, item = "/admin/tickets/slapolicy/add/", {"warning_fraction": 0.75, "escalations": [], **item}
    post = {k: v if isinstance(v, str | float) else json.dumps(v) for k, v in item.items()}
    response = admin_client.post(url, post)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and needle in " ".join(errors[field])
    assert not _stored(section)


def _calendar_post(**changes):
    data = {"name": "Paris office", "timezone": "Europe/Paris", "hours_mon": "09:00-17:00"}
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field", "needle"),
    [
        # The page's grid has one input per day: "9-17" typed for Monday.
        ({"hours_mon": "9-17"}, "hours_mon", "times must be HH:MM"),
        ({"hours_tue": "17:00-09:00"}, "hours_tue", "start must be before the end"),
        ({"hours_wed": "all day"}, "hours_wed", "HH:MM"),
        ({"timezone": "Paris"}, "timezone", "unknown time zone 'Paris'"),
        ({"holidays": "25/12/2026"}, "holidays", "YYYY-MM-DD"),
        ({"overrides": "2026-12-24 9-12"}, "overrides", "HH:MM"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_settings_page_refuses_a_bad_calendar(manager_client, changes, field, needle):
    response = manager_client.post("/settings/calendars/new/", _calendar_post(**changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and needle in " ".join(errors[field]), errors
    assert f'id="id_{field}-errors"' in response.content.decode()  # shown next to its input
    assert not Calendar.objects.exists()


def _policy_post(**changes):
    data = {"name": "Gold", "pause_statuses": ["pending"], "warning_percent": "75", "target_high_first_response": "4h"}
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field", "needle"),
    [
        ({"target_high_first_response": "1 parsec"}, "target_high_first_response", "unknown unit 'parsec'"),
        ({"target_high_resolution": "9-17"}, "target_high_resolution", "is not a duration"),
        ({"target_low_next_reply": "10s"}, "target_low_next_reply", "unknown unit"),
        (
            {"target_high_resolution": "2 business days"},
            "target_high_first_response",
            "either business time or clock time",
        ),
        ({"warning_percent": "100"}, "warning_percent", "between 0 and 1"),
        ({"esc_0_action": "reassign"}, "esc_0_queue", "needs a queue"),
        ({"pause_statuses": ["solved"]}, "pause_statuses", "valid choice"),
    ],
)
def test_settings_page_refuses_a_bad_policy(manager_client, changes, field, needle):
    response = manager_client.post("/settings/sla/new/", _policy_post(**changes))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and needle in " ".join(errors[field]), errors
    assert not SLAPolicy.objects.exists()


def test_settings_page_has_no_raw_targets_box(manager_client):
    """The page has no JSON input: a `targets` key posted anyway
    ({"first_reply": "1h"}) is ignored, and only the duration fields count."""
    response = manager_client.post("/settings/sla/new/", _policy_post(targets=json.dumps({"first_reply": "1h"})))
    assert response.status_code == 302
    assert SLAPolicy.objects.get().targets == {"high": {"first_response": 4 * 3600, "business_hours": False}}


def test_django_admin_queue_and_request_type_forms_use_the_same_rules(admin_client, queue):
    from tickets.models import Queue, RequestType

    base = {"slug": "vip", "name": "VIP", "kind": "support", "auto_assign": "none", "is_active": "on"}
    base |= {"members-TOTAL_FORMS": "0", "members-INITIAL_FORMS": "0"}
    base |= {"queuemembership_set-TOTAL_FORMS": "0", "queuemembership_set-INITIAL_FORMS": "0"}
    ok = admin_client.post("/admin/tickets/queue/add/", base)
    assert ok.status_code == 302 and Queue.objects.filter(slug="vip").exists()
    RequestType.objects.create(slug="first", name="First", queue=queue, is_default=True)
    response = admin_client.post(
        "/admin/tickets/requesttype/add/",
        {"slug": "second", "name": " ", "queue": queue.pk, "position": "0", "is_default": "on", "is_active": "on"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "name" in errors and "is_default" in errors
    assert not RequestType.objects.filter(slug="second").exists()
