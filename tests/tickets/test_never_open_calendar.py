"""A calendar with no open hours (docs/metrics.md#calendars-with-no-open-hours):
refused with a field error on every path that sets one (config file, API,
Settings page, Django admin); one already stored (written before the rule,
an old or scheduled version, edited in the database) never breaks a
submission, an SLA refresh, a metrics recompute or a page: its queue's SLA is
not computable with the reason."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from helpdesk.lib.business_hours import BusinessCalendar, NeverOpen, VersionedCalendar
from metrics.models import TicketMetrics
from metrics.services import tickets_recompute
from tests.factories import CustomerFactory, ManagerFactory, QueueFactory, ticket_make
from tickets.clock_context import clock_context
from tickets.config import ConfigInvalid, config_apply
from tickets.models import Calendar, CalendarVersion, RequestType, SLAPolicy, Ticket
from tickets.sla_services import tickets_sla_refresh

pytestmark = pytest.mark.django_db

CLOSED = {"name": "Closed", "timezone": "Europe/Paris", "hours": {}}
WORDS = "needs open hours on at least one weekday"
NINE_FIVE = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


# --- refused where it is set ---------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        CLOSED,
        {**CLOSED, "hours": {"mon": [], "sun": []}},
        {**CLOSED, "overrides": [{"date": "2026-12-24", "hours": [["09:00", "12:00"]]}]},  # one-off only
    ],
)
def test_config_refuses_a_calendar_with_no_weekly_hours(item):
    with pytest.raises(ConfigInvalid) as exc:
        config_apply({"calendars": [item]})
    assert [p.path for p in exc.value.problems] == ["calendars[0].hours"]
    assert WORDS in exc.value.problems[0].message
    assert not Calendar.objects.exists()


def test_config_refuses_a_scheduled_version_with_no_hours():
    config_apply({"calendars": [{**CLOSED, "hours": NINE_FIVE}]})
    later = (timezone.now() + timedelta(days=2)).isoformat()
    with pytest.raises(ConfigInvalid) as exc:
        config_apply({"calendars": [{**CLOSED, "effective_from": later}]})
    assert [p.path for p in exc.value.problems] == ["calendars[0].hours"]
    versions = [{"effective_from": None, "timezone": "UTC", "hours": NINE_FIVE}]
    versions.append({"effective_from": later, "timezone": "UTC", "hours": {}})
    with pytest.raises(ConfigInvalid) as exc:
        config_apply({"calendars": [{**CLOSED, "name": "New", "hours": NINE_FIVE, "versions": versions}]})
    assert "calendars[0].versions[1].hours" in [p.path for p in exc.value.problems]
    assert CalendarVersion.objects.count() == 1


def test_config_file_and_api_refuse_it_with_the_path(tmp_path, client):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"calendars": [CLOSED]}))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("helpdesk_config", "apply", str(path), stderr=err)
    assert "calendars[0].hours" in err.getvalue() and WORDS in err.getvalue()
    client.force_login(ManagerFactory())
    response = client.put("/api/v1/config/", json.dumps({"calendars": [CLOSED]}), content_type="application/json")
    assert response.status_code == 400
    (problem,) = response.json()["details"]["problems"]
    assert problem["path"] == "calendars[0].hours" and WORDS in problem["message"]
    dry = client.put("/api/v1/config/?dry_run=1", json.dumps({"calendars": [CLOSED]}), content_type="application/json")
    assert dry.status_code == 400
    assert not Calendar.objects.exists()


def test_settings_page_and_admin_put_the_error_on_a_field(client, manager, admin_client):
    client.force_login(manager)
    response = client.post("/settings/calendars/new/", {"name": "Closed", "timezone": "UTC"})
    assert response.status_code == 400
    assert WORDS in " ".join(response.context["form"].errors["hours_mon"])
    data = {"name": "Closed", "timezone": "UTC", "hours": "{}", "holidays": "[]", "overrides": "[]"}
    response = admin_client.post("/admin/tickets/calendar/add/", data)
    assert response.status_code == 200
    assert WORDS in " ".join(response.context["adminform"].form.errors["hours"])
    assert not Calendar.objects.exists()


# --- robust to one already stored ----------------------------------------------------


def _desk(hours):
    calendar = Calendar.objects.create(name="Office", timezone="Europe/Paris", hours=hours)
    policy = SLAPolicy.objects.create(
        name="Gold", pause_statuses=["pending"], targets={"normal": {"first_response": 3600, "business_hours": True}}
    )
    return QueueFactory(kind="support", calendar=calendar, sla_policy=policy)


def test_portal_submission_survives_a_stored_calendar_that_is_never_open():
    """Before the fix: ValueError 'has no business hours' -> a 500."""
    queue = _desk({})
    rtype = RequestType.objects.create(slug="bug", name="Bug", queue=queue)
    client = Client(raise_request_exception=False)
    client.force_login(CustomerFactory())
    response = client.post("/portal/new/", {"subject": "Still works", "description": "x", "request_type": rtype.pk})
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Still works")
    assert ticket.sla_due_at is None
    assert WORDS in clock_context().unusable[queue.pk]


def test_a_never_open_latest_version_stored_in_the_database_makes_the_sla_not_computable():
    """The row looks fine, its latest version (written behind the services' back) has no hours."""
    queue = _desk(NINE_FIVE)
    CalendarVersion.objects.create(calendar=queue.calendar, effective_from=None, **_content(NINE_FIVE))
    CalendarVersion.objects.create(
        calendar=queue.calendar, effective_from=datetime(2025, 1, 1, tzinfo=UTC), **_content({})
    )
    ticket = ticket_make(queue=queue)
    assert tickets_sla_refresh(ticket_ids=[ticket.pk]) >= 0  # no exception
    ticket.refresh_from_db()
    assert ticket.sla_due_at is None
    assert "no open hours" in clock_context().unusable[queue.pk]
    tickets_recompute(ticket_ids=[ticket.pk], as_of=timezone.now())
    m = TicketMetrics.objects.get(ticket_id=ticket.pk)
    assert not m.sla_first_reply_outcome and m.sla_first_reply_breach_at is None
    client = Client(raise_request_exception=False)
    client.force_login(ManagerFactory())
    page = client.get(f"/agent/tickets/{ticket.pk}/")
    assert page.status_code == 200 and "SLA not computable" in page.content.decode()
    assert "no open hours on any weekday" in page.content.decode()
    assert client.get("/manager/dashboard/").status_code == 200
    assert client.get(f"/settings/calendars/{queue.calendar.pk}/").status_code == 200  # the preview
    # The policy page's dry run and a save recompute the open tickets' SLA: no crash, still none.
    post = {"name": "Gold", "pause_statuses": ["pending"], "warning_percent": "75"}
    post["target_normal_first_response"] = "2 business hours"
    dry = client.post(f"/settings/sla/{queue.sla_policy.pk}/", {**post, "dry_run": "1"})
    assert dry.status_code == 200
    assert client.post(f"/settings/sla/{queue.sla_policy.pk}/", post).status_code == 302
    ticket.refresh_from_db()
    assert ticket.sla_due_at is None


def _content(hours):
    return {"timezone": "Europe/Paris", "hours": hours, "holidays": [], "overrides": []}


def test_the_clock_raises_never_open_instead_of_looping_and_answers_past_long_holidays():
    closed = BusinessCalendar("UTC", {})
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    with pytest.raises(NeverOpen):
        closed.add(start, 60)
    assert closed.seconds(start, start + timedelta(days=30)) == 0
    one_off = BusinessCalendar("UTC", {}, overrides=[{"date": "2026-01-06", "hours": [["09:00", "10:00"]]}])
    assert one_off.add(start, 1800) == datetime(2026, 1, 6, 9, 30, tzinfo=UTC)
    with pytest.raises(NeverOpen):
        one_off.add(start, 7200)  # only one hour is ever open
    assert one_off.closes_for_good() and not BusinessCalendar("UTC", NINE_FIVE).closes_for_good()
    # Holidays over twenty years: answered at once past the last one (weekly hours repeat).
    days = [(start.date() + timedelta(days=i)).isoformat() for i in range(20 * 366)]
    busy = BusinessCalendar("UTC", NINE_FIVE, holidays=days)
    due = busy.add(start, 3600)
    assert due.year == 2046 and busy.seconds(start, due) == 3600
    typo = BusinessCalendar("UTC", NINE_FIVE, holidays=["9999-12-31"])
    assert typo.add(start, 5 * 365 * 8 * 3600).year > 2030  # grows past the first years without overflowing
    versioned = VersionedCalendar([(float("-inf"), BusinessCalendar("UTC", NINE_FIVE)), (start.timestamp(), closed)])
    assert versioned.closes_for_good()
    with pytest.raises(NeverOpen):
        versioned.add(start - timedelta(days=1), 100 * 3600)
