"""Every path that changes configuration leaves an audit entry (django-auditlog
LogEntry) with who, which object, before and after, and the path."""

import json

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from accounts.models import User
from apikeys.services import api_token_create
from tests.factories import CustomerFactory
from tickets.models import Calendar, Queue, QueueMembership, SLAPolicy

pytestmark = pytest.mark.django_db
MONDAY = {"mon": [["09:00", "17:00"]]}  # a calendar needs open hours (docs/metrics.md#calendars-with-no-open-hours)


def _entries(model, obj=None):
    qs = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model)).order_by("id")
    return list(qs.filter(object_pk=str(obj.pk)) if obj is not None else qs)


def _calendar(**kw):
    return Calendar.objects.create(name="Office", timezone="UTC", hours={"mon": [["09:00", "17:00"]]}, **kw)


def test_page_change_is_audited_with_actor_and_before_after(manager_client, manager):
    calendar = _calendar()
    response = manager_client.post(
        f"/settings/calendars/{calendar.pk}/",
        {"name": "Office", "timezone": "Europe/Paris", "hours_mon": "08:00-16:00"},
    )
    assert response.status_code == 302
    entry = _entries(Calendar, calendar)[-1]
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.actor == manager
    assert entry.additional_data == {"via": "page"}
    assert entry.changes_dict["timezone"] == ["UTC", "Europe/Paris"]
    assert entry.changes_dict["hours"] == [{"mon": [["09:00", "17:00"]]}, {"mon": [["08:00", "16:00"]]}]


def test_admin_change_is_audited(admin_client, superuser):
    policy = SLAPolicy.objects.create(name="Gold", pause_statuses=["pending"], targets={})
    response = admin_client.post(
        f"/admin/tickets/slapolicy/{policy.pk}/change/",
        {
            "name": "Gold",
            "pause_statuses": json.dumps(["pending"]),
            "targets": json.dumps({"high": {"first_response": 3600}}),
            "warning_fraction": "0.5",
            "escalations": "[]",
        },
    )
    assert response.status_code == 302
    entry = _entries(SLAPolicy, policy)[-1]
    assert entry.actor == superuser and entry.additional_data == {"via": "admin"}
    assert entry.changes_dict["warning_fraction"] == [0.75, 0.5]
    assert entry.changes_dict["targets"] == [{}, {"high": {"first_response": 3600}}]


def test_api_change_is_audited_with_the_token_owner(client, manager):
    """Token authentication happens inside the API view, after the audit
    middleware: the entry still names the token's owner."""
    key = api_token_create(user=manager, name="ci").key
    response = client.put(
        "/api/v1/config/",
        json.dumps({"calendars": [{"name": "Office", "timezone": "Asia/Tokyo", "hours": MONDAY}]}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.content
    entry = _entries(Calendar)[-1]
    assert entry.action == LogEntry.Action.CREATE
    assert entry.actor == manager and entry.actor_email == manager.email
    assert entry.additional_data == {"via": "api"}
    assert entry.changes_dict["timezone"][1] == "Asia/Tokyo"


def test_file_apply_is_audited_as_the_operator(tmp_path, agent, queue):
    calendar = _calendar()
    path = tmp_path / "config.json"
    other = Queue.objects.create(slug="vip", name="VIP", kind="support")
    path.write_text(
        json.dumps(
            {
                "calendars": [{"name": "Office", "timezone": "America/New_York", "hours": MONDAY}],
                "agents": [{"email": agent.email, "role": "agent", "queues": ["tech", "vip"]}],
            }
        )
    )
    call_command("helpdesk_config", "apply", str(path))
    entry = _entries(Calendar, calendar)[-1]
    assert entry.actor is None and entry.actor_email.startswith("operator")
    assert entry.additional_data == {"via": "file"}
    assert entry.changes_dict["timezone"] == ["UTC", "America/New_York"]
    membership = QueueMembership.objects.get(user=agent, queue=other)
    created = _entries(QueueMembership, membership)
    assert [e.action for e in created] == [LogEntry.Action.CREATE]
    assert created[0].additional_data == {"via": "file"}


def test_dry_run_leaves_no_entry(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"calendars": [{"name": "Office", "timezone": "UTC", "hours": MONDAY}]}))
    call_command("helpdesk_config", "apply", str(path), "--dry-run")
    assert not Calendar.objects.exists() and not LogEntry.objects.exists()


def test_role_changes_of_staff_are_audited_but_customer_signups_are_not():
    customer = CustomerFactory()
    assert not _entries(User, customer)
    customer.role = User.Role.AGENT
    customer.save()
    entry = _entries(User, customer)[-1]
    assert entry.changes_dict["role"] == ["customer", "agent"]


def test_history_page_filters_pages_by_keyset_and_shows_diff(manager_client):
    from desk_settings import views

    calendar = _calendar()
    other = Calendar.objects.create(name="Other", timezone="UTC")
    for zone in ("Europe/Paris", "Europe/Berlin", "Europe/Rome"):
        calendar.timezone = zone
        calendar.save()
    views.HISTORY_PAGE = 2
    try:
        ct = ContentType.objects.get_for_model(Calendar).pk
        first = manager_client.get(f"/settings/history/?type={ct}&object={calendar.pk}")
        assert first.status_code == 200
        rows = first.context["rows"]
        assert [r["entry"].object_pk for r in rows] == [str(calendar.pk)] * 2
        assert rows[0]["changes"] == [("timezone", "Europe/Berlin", "Europe/Rome")]
        html = first.content.decode()
        assert "<del>Europe/Berlin</del> → <ins>Europe/Rome</ins>" in html
        second = manager_client.get(first.context["next_url"])
        rows2 = second.context["rows"]
        assert rows2[0]["changes"] == [("timezone", "UTC", "Europe/Paris")]
        assert rows2[1]["entry"].action == LogEntry.Action.CREATE
        assert {r["entry"].pk for r in rows}.isdisjoint({r["entry"].pk for r in rows2})
        assert str(other.pk) not in {r["entry"].object_pk for r in rows + rows2}
    finally:
        views.HISTORY_PAGE = 50


def test_history_api(client, manager, agent):
    calendar = _calendar()
    calendar.timezone = "Europe/Paris"
    calendar.save()
    client.force_login(agent)
    assert client.get("/api/v1/config/history/").status_code == 403
    client.force_login(manager)
    body = client.get(f"/api/v1/config/history/?type=tickets.calendar&object={calendar.pk}&limit=1").json()
    assert body["results"][0]["changes"] == [{"field": "timezone", "before": "UTC", "after": "Europe/Paris"}]
    assert body["results"][0]["type"] == "tickets.calendar" and body["results"][0]["via"] == "other"
    older = client.get(f"/api/v1/config/history/?type=tickets.calendar&before={body['next_before']}").json()
    assert [r["action"] for r in older["results"]] == ["create"] and older["next_before"] is None
    assert client.get("/api/v1/config/history/?type=nope.nothing").status_code == 400
