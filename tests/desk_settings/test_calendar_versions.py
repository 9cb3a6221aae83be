"""Calendar versions on every path (docs/settings.md#calendars): each change
is a version effective now or later; a past effective date is refused with
the error on its field (Settings page, PUT /api/v1/config/, Django admin,
helpdesk_config apply); the page, the admin, the API and the config file
show the versions; the file carries them back in."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from tickets.config import ConfigInvalid, config_apply, config_dump
from tickets.models import Calendar, CalendarVersion

pytestmark = pytest.mark.django_db

PARIS = {"name": "Paris office", "timezone": "Europe/Paris", "hours": {"mon": [["09:00", "17:00"]]}}
LATER_HOURS = {"mon": [["10:00", "18:00"]]}
PAST = "2020-01-06T09:00:00+01:00"
PAST_WORDS = "must not be in the past"


@pytest.fixture
def paris():
    config_apply({"calendars": [PARIS]})
    return Calendar.objects.get(name="Paris office")


def _versions(calendar):
    return list(CalendarVersion.objects.filter(calendar=calendar).order_by("pk"))


def _future(days=3):
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0)


# --- every change is a version ----------------------------------------------------


def test_a_new_calendar_has_one_version_since_the_beginning(paris):
    (first,) = _versions(paris)
    assert first.effective_from is None and first.hours == PARIS["hours"]


def test_an_edit_is_a_version_effective_now_and_an_unchanged_apply_makes_none(paris):
    before = timezone.now()
    config_apply({"calendars": [{**PARIS, "hours": LATER_HOURS}]})
    config_apply({"calendars": [{**PARIS, "hours": LATER_HOURS}]})  # the same again: nothing new
    first, second = _versions(paris)
    assert first.hours == PARIS["hours"] and second.hours == LATER_HOURS
    assert before <= second.effective_from <= timezone.now()
    paris.refresh_from_db()
    assert paris.hours == LATER_HOURS


def test_a_calendar_stored_without_versions_keeps_its_old_values_as_the_first(db):
    row = Calendar.objects.create(name="Legacy", timezone="UTC", hours={"tue": [["08:00", "12:00"]]})
    config_apply({"calendars": [{"name": "Legacy", "timezone": "UTC", "hours": {"tue": [["08:00", "16:00"]]}}]})
    first, second = _versions(row)
    assert (first.effective_from, first.hours) == (None, {"tue": [["08:00", "12:00"]]})
    assert second.hours == {"tue": [["08:00", "16:00"]]}


def test_a_scheduled_version_is_amended_at_its_instant_and_an_earlier_edit_is_refused(paris):
    when = _future()
    config_apply({"calendars": [{**PARIS, "hours": LATER_HOURS, "effective_from": when.isoformat()}]})
    config_apply({"calendars": [{**PARIS, "hours": {"mon": [["11:00", "18:00"]]}, "effective_from": when.isoformat()}]})
    _first, scheduled = _versions(paris)
    assert scheduled.effective_from == when and scheduled.hours == {"mon": [["11:00", "18:00"]]}
    with pytest.raises(ConfigInvalid) as exc:
        config_apply({"calendars": [{**PARIS, "hours": {"mon": [["07:00", "18:00"]]}}]})  # now < scheduled
    assert [p.path for p in exc.value.problems] == ["calendars[0].effective_from"]
    assert "a version is scheduled from" in exc.value.problems[0].message
    assert len(_versions(paris)) == 2


# --- a past effective date is refused on every path ------------------------------


def test_config_file_refuses_a_past_effective_date(paris, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"calendars": [{**PARIS, "hours": LATER_HOURS, "effective_from": PAST}]}))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("helpdesk_config", "apply", str(path), stderr=err)
    assert "calendars[0].effective_from" in err.getvalue() and PAST_WORDS in err.getvalue()
    assert len(_versions(paris)) == 1


def test_config_api_refuses_a_past_effective_date(client, manager, paris):
    client.force_login(manager)
    document = {"calendars": [{**PARIS, "hours": LATER_HOURS, "effective_from": PAST}]}
    response = client.put("/api/v1/config/", json.dumps(document), content_type="application/json")
    assert response.status_code == 400
    (problem,) = response.json()["details"]["problems"]
    assert problem["path"] == "calendars[0].effective_from" and PAST_WORDS in problem["message"]
    assert len(_versions(paris)) == 1


def _admin_post(paris, **changes):
    data = {"name": paris.name, "timezone": paris.timezone, "hours": json.dumps(LATER_HOURS)}
    data |= {"holidays": "[]", "overrides": "[]", **changes}
    return data


def test_django_admin_refuses_a_past_effective_date_and_saves_a_version(admin_client, paris):
    url = f"/admin/tickets/calendar/{paris.pk}/change/"
    response = admin_client.post(url, _admin_post(paris, effective_from=PAST))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert PAST_WORDS in " ".join(errors["effective_from"])
    assert len(_versions(paris)) == 1
    when = _future()
    assert admin_client.post(url, _admin_post(paris, effective_from=when.isoformat())).status_code == 302
    assert [(v.effective_from, v.hours) for v in _versions(paris)] == [(None, PARIS["hours"]), (when, LATER_HOURS)]
    page = admin_client.get(url).content.decode()
    assert when.isoformat() in page  # the versions, read-only


def _page_post(**changes):
    return {"name": "Paris office", "timezone": "Europe/Paris", "hours_mon": "10:00-18:00", **changes}


def test_settings_page_refuses_a_past_effective_date(manager_client, paris):
    url = f"/settings/calendars/{paris.pk}/"
    response = manager_client.post(url, _page_post(effective_from="2020-01-06T09:00"))
    assert response.status_code == 400
    assert PAST_WORDS in " ".join(response.context["form"].errors["effective_from"])
    assert 'id="id_effective_from-errors"' in response.content.decode()
    assert len(_versions(paris)) == 1


def test_settings_page_schedules_a_version_and_lists_every_version(manager_client, manager, paris):
    url = f"/settings/calendars/{paris.pk}/"
    local = (timezone.now() + timedelta(days=2)).astimezone(paris_zone()).replace(second=0, microsecond=0, tzinfo=None)
    response = manager_client.post(url, _page_post(effective_from=local.strftime("%Y-%m-%dT%H:%M")))
    assert response.status_code == 302
    _first, scheduled = _versions(paris)
    assert scheduled.effective_from == local.replace(tzinfo=paris_zone())  # read in the calendar's zone
    page = manager_client.get(url)
    html = page.content.decode()
    rows = page.context["versions"]
    assert [r["state"] for r in rows] == ["scheduled", "current"]
    assert rows[0]["who"] == manager.email and rows[0]["via"] == "page"
    assert rows[0]["weekly_hours"] == 8 and rows[0]["open_days"] == 1
    assert 'id="calendar-versions"' in html and manager.email in html and "scheduled" in html
    # The form shows the scheduled values and their instant: saving amends that version.
    assert page.context["form"].initial["effective_from"] == local.isoformat("T", "seconds")


def paris_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Paris")


# --- the config file and the API carry the versions --------------------------------


def test_dump_lists_versions_and_a_round_trip_changes_nothing(client, manager, paris):
    with time_machine.travel(datetime(2026, 1, 5, 8, 0, tzinfo=UTC), tick=False):
        config_apply({"calendars": [{**PARIS, "hours": LATER_HOURS}]})
    client.force_login(manager)
    dumped = client.get("/api/v1/config/").json()
    (item,) = dumped["calendars"]
    assert item["hours"] == LATER_HOURS
    assert [(v["effective_from"], v["hours"]) for v in item["versions"]] == [
        (None, PARIS["hours"]),
        ("2026-01-05T08:00:00+00:00", LATER_HOURS),
    ]
    report = config_apply(dumped)
    assert report.updated == 0 and config_dump() == dumped


def _values(version):
    return {k: v for k, v in version.items() if k != "effective_from"}


def test_importing_versions_seeds_a_new_calendar_and_never_rewrites_a_past_one(paris):
    history = [
        {"effective_from": None, "timezone": "UTC", "hours": {"tue": [["09:00", "12:00"]]}},
        {"effective_from": "2025-06-02T00:00:00+00:00", "timezone": "UTC", "hours": {"tue": [["09:00", "17:00"]]}},
    ]
    config_apply(
        {"calendars": [{"name": "Imported", "timezone": "UTC", "hours": history[1]["hours"], "versions": history}]}
    )
    imported = Calendar.objects.get(name="Imported")
    assert [(v.effective_from, v.hours) for v in _versions(imported)] == [
        (None, history[0]["hours"]),
        (datetime(2025, 6, 2, tzinfo=UTC), history[1]["hours"]),
    ]
    # The same history again: unchanged. A past version edited, or one added in the past: refused.
    assert config_apply({"calendars": [{"name": "Imported", **_values(history[1]), "versions": history}]}).updated == 0
    edited = [history[0], {**history[1], "hours": {"tue": [["10:00", "17:00"]]}}]
    with pytest.raises(ConfigInvalid) as exc:
        config_apply({"calendars": [{"name": "Imported", **_values(edited[1]), "versions": edited}]})
    assert {p.path for p in exc.value.problems} == {"calendars[0].versions[1]"}
    added = [*history, {**history[1], "effective_from": "2025-09-01T00:00:00+00:00"}]
    with pytest.raises(ConfigInvalid) as exc:
        config_apply({"calendars": [{"name": "Imported", **_values(history[1]), "versions": added}]})
    assert [p.path for p in exc.value.problems] == ["calendars[0].versions[2].effective_from"]
    assert len(_versions(imported)) == 2
    # A later version listed in the file is scheduled.
    later = {**history[1], "hours": LATER_HOURS, "effective_from": _future().isoformat()}
    config_apply({"calendars": [{"name": "Imported", **_values(later), "versions": [*history, later]}]})
    assert len(_versions(imported)) == 3


def test_the_data_migration_gives_each_existing_calendar_its_first_version(db):
    """tickets 0017: a calendar stored before versions existed gets one, in force since the beginning."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("tickets.migrations.0017_calendar_versions")
    row = Calendar.objects.create(
        name="Old", timezone="Asia/Tokyo", hours={"mon": [["09:00", "18:00"]]}, holidays=["2025-01-01"]
    )
    migration.first_versions(apps, None)
    (first,) = _versions(row)
    assert (first.effective_from, first.timezone, first.hours, first.holidays) == (
        None,
        "Asia/Tokyo",
        {"mon": [["09:00", "18:00"]]},
        ["2025-01-01"],
    )


def test_settings_page_refuses_a_rename_with_an_edit_before_a_scheduled_version(manager_client, paris):
    config_apply({"calendars": [{**PARIS, "hours": LATER_HOURS, "effective_from": _future().isoformat()}]})
    response = manager_client.post(
        f"/settings/calendars/{paris.pk}/", _page_post(name="Paris HQ", hours_mon="07:00-12:00")
    )
    assert response.status_code == 400
    assert "a version is scheduled from" in " ".join(response.context["form"].errors["effective_from"])
    paris.refresh_from_db()
    assert paris.name == "Paris office" and len(_versions(paris)) == 2
