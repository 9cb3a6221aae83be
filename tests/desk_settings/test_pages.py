"""Settings pages: who may open them, what they save, the calendar preview
and the SLA "what would change" dry run."""

import pytest

from tests.factories import ticket_make
from tickets.models import Calendar, Queue, QueueMembership, RequestType, SLAPolicy

pytestmark = pytest.mark.django_db

PAGES = [
    "/settings/",
    "/settings/queues/",
    "/settings/queues/new/",
    "/settings/calendars/",
    "/settings/calendars/new/",
    "/settings/sla/",
    "/settings/sla/new/",
    "/settings/request-types/",
    "/settings/request-types/new/",
    "/settings/history/",
    "/settings/surveys/",  # issue 15: the NPS relationship survey
]


@pytest.mark.parametrize("url", PAGES)
def test_only_managers_and_admins_open_settings(client, url, agent, customer, manager, superuser):
    assert client.get(url).status_code == 302  # anonymous: to the login page
    for user in (agent, customer):
        client.force_login(user)
        assert client.get(url).status_code == 403
    for user in (manager, superuser):
        client.force_login(user)
        assert client.get(url, follow=True).status_code == 200


def test_managers_get_settings_and_only_superusers_get_admin(client, manager, superuser):
    client.force_login(manager)
    html = client.get("/settings/queues/").content.decode()
    assert 'href="/settings/"' in html and 'href="/admin/"' not in html
    for section in ("macros", "routing", "views", "agents", "organisations", "history"):
        assert f'href="/settings/{section}/"' in html
    client.force_login(superuser)
    assert 'href="/admin/"' in client.get("/settings/queues/").content.decode()


def test_unusable_calendar_is_warned_on_every_settings_page(manager_client):
    Calendar.objects.create(name="Broken", timezone="Paris")  # written before validation existed
    html = manager_client.get("/settings/request-types/").content.decode()
    assert "Calendar &#x27;Broken&#x27; cannot be used" in html


def test_calendar_page_saves_the_grid_and_previews_14_days(manager_client):
    response = manager_client.post(
        "/settings/calendars/new/",
        {
            "name": "Paris office",
            "timezone": "Europe/Paris",
            "hours_mon": "9:00-12:00, 13:00-17:00",
            "hours_fri": "09:00-15:00",
            "holidays": "2026-12-25\n",
            "overrides": "2026-12-24 09:00-12:00\n2026-12-31",
        },
    )
    assert response.status_code == 302
    calendar = Calendar.objects.get()
    assert calendar.hours == {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "fri": [["09:00", "15:00"]]}
    assert calendar.holidays == ["2026-12-25"]
    assert calendar.overrides == [
        {"date": "2026-12-24", "hours": [["09:00", "12:00"]]},
        {"date": "2026-12-31", "hours": []},
    ]
    page = manager_client.get(f"/settings/calendars/{calendar.pk}/")
    preview = page.context["preview"]
    assert len(preview) == 14
    assert all(
        d["hours"] == calendar.hours.get(("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d["date"].weekday()], [])
        for d in preview
        if not d["why"]
    )
    # the form shows the stored hours back as text, not JSON
    assert page.context["form"].initial["hours_mon"] == "09:00-12:00, 13:00-17:00"


def test_policy_page_parses_durations_and_dry_run_counts_moving_tickets(manager_client, queue, customer):
    policy = SLAPolicy.objects.create(
        name="Gold",
        pause_statuses=["pending"],
        targets={"normal": {"first_response": 8 * 3600, "business_hours": False}},
    )
    Queue.objects.filter(pk=queue.pk).update(sla_policy=policy)
    ticket = ticket_make(queue=queue, requester=customer)
    ticket.refresh_from_db()
    due = ticket.first_response_due_at
    assert due is not None
    post = {
        "name": "Gold",
        "pause_statuses": ["pending"],
        "warning_percent": "75",
        "target_normal_first_response": "2h",
    }
    dry = manager_client.post(f"/settings/sla/{policy.pk}/", {**post, "dry_run": "1"})
    assert dry.status_code == 200
    assert dry.context["dry_run"].sla_state_changed_open_tickets == 1
    assert "1 open ticket would get new SLA due times" in dry.content.decode()
    policy.refresh_from_db()
    ticket.refresh_from_db()
    assert policy.targets["normal"]["first_response"] == 8 * 3600 and ticket.first_response_due_at == due
    saved = manager_client.post(
        f"/settings/sla/{policy.pk}/",
        {**post, "target_high_resolution": "2 business days", "target_high_first_response": "4 business hours"},
    )
    assert saved.status_code == 302
    policy.refresh_from_db()
    ticket.refresh_from_db()
    assert policy.targets == {
        "normal": {"first_response": 2 * 3600, "business_hours": False},
        "high": {"first_response": 4 * 3600, "resolution": 16 * 3600, "business_hours": True},
    }
    assert abs((ticket.first_response_due_at - ticket.created_at).total_seconds() - 2 * 3600) < 2
    form = manager_client.get(f"/settings/sla/{policy.pk}/").context["form"]
    assert form.initial["target_high_resolution"] == "2 business days"


def test_queue_page_sets_calendar_policy_members_and_capacity(manager_client, agent, other_agent):
    calendar = Calendar.objects.create(name="Office", timezone="UTC", hours={"mon": [["09:00", "17:00"]]})
    policy = SLAPolicy.objects.create(name="Gold", targets={})
    response = manager_client.post(
        "/settings/queues/new/",
        {
            "slug": "vip",
            "name": "VIP",
            "kind": "support",
            "calendar": calendar.pk,
            "sla_policy": policy.pk,
            "auto_assign": "least_loaded",
            "inbound_email": "vip@acme.test",
            "auto_close_days": "7",
            "pending_reminder_days": "",
            "is_active": "on",
            f"member_{agent.pk}": "on",
            f"capacity_{agent.pk}": "5",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    q = Queue.objects.get(slug="vip")
    assert (q.calendar, q.sla_policy, q.auto_assign, q.inbound_email, q.auto_close_days) == (
        calendar,
        policy,
        "least_loaded",
        "vip@acme.test",
        7,
    )
    assert list(QueueMembership.objects.filter(queue=q).values_list("user_id", flat=True)) == [agent.pk]
    agent.refresh_from_db()
    assert agent.capacity == 5
    bad = manager_client.post(
        f"/settings/queues/{q.pk}/", {"name": "VIP", "kind": "other", "auto_assign": "none", "inbound_email": "nope"}
    )
    assert bad.status_code == 400
    assert {"kind", "inbound_email"} <= set(bad.context["form"].errors)
    disabled = manager_client.post(
        f"/settings/queues/{q.pk}/", {"name": "VIP", "kind": "support", "auto_assign": "none"}
    )
    assert disabled.status_code == 302
    q.refresh_from_db()
    assert not q.is_active and q.slug == "vip" and not QueueMembership.objects.filter(queue=q).exists()


def test_request_type_page(manager_client, queue):
    response = manager_client.post(
        "/settings/request-types/new/",
        {"slug": "refund", "name": "Refund", "queue": queue.slug, "position": "3", "is_active": "on"},
    )
    assert response.status_code == 302
    rt = RequestType.objects.get()
    assert (rt.slug, rt.queue, rt.position, rt.is_active) == ("refund", queue, 3, True)
    dup = manager_client.post(
        "/settings/request-types/new/", {"slug": "REFUND", "name": "x", "queue": queue.slug, "position": "0"}
    )
    assert dup.status_code == 400 and "slug" in dup.context["form"].errors
    off = manager_client.post(
        f"/settings/request-types/{rt.pk}/", {"name": "Refund", "queue": queue.slug, "position": "3"}
    )
    assert off.status_code == 302
    rt.refresh_from_db()
    assert not rt.is_active


def test_request_type_default_and_description_reach_the_portal(manager_client, client, queue, customer):
    first = RequestType.objects.create(slug="question", name="A question", queue=queue, position=0)
    response = manager_client.post(
        "/settings/request-types/new/",
        {
            "slug": "refund",
            "name": "Refund",
            "queue": queue.slug,
            "position": "5",
            "description": "Money back for an order",
            "is_default": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    refund = RequestType.objects.get(slug="refund")
    assert refund.is_default and refund.description == "Money back for an order"
    # a new default replaces the old one
    manager_client.post(
        f"/settings/request-types/{first.pk}/",
        {"name": "A question", "queue": queue.slug, "position": "0", "is_default": "on", "is_active": "on"},
    )
    refund.refresh_from_db()
    first.refresh_from_db()
    assert first.is_default and not refund.is_default
    not_offered = manager_client.post(
        f"/settings/request-types/{refund.pk}/",
        {"name": "Refund", "queue": queue.slug, "position": "5", "is_default": "on"},
    )
    assert not_offered.status_code == 400 and "is_default" in not_offered.context["form"].errors
    client.force_login(customer)
    html = client.get("/portal/new/").content.decode()
    assert "Refund — Money back for an order" in html
    assert f'<option value="{first.pk}" selected>' in html


def test_calendar_and_policy_delete_only_when_no_queue_uses_them(manager_client, queue):
    from auditlog.models import LogEntry

    used = Calendar.objects.create(name="Used", timezone="UTC")
    free = SLAPolicy.objects.create(name="Free", targets={})
    Queue.objects.filter(pk=queue.pk).update(calendar=used)
    refused = manager_client.post(f"/settings/calendars/{used.pk}/delete/", follow=True)
    assert "is used by Tech support" in refused.content.decode()
    assert Calendar.objects.filter(pk=used.pk).exists()
    assert manager_client.get(f"/settings/sla/{free.pk}/delete/").status_code == 405
    assert manager_client.post(f"/settings/sla/{free.pk}/delete/").status_code == 302
    assert not SLAPolicy.objects.filter(pk=free.pk).exists()
    assert LogEntry.objects.filter(action=LogEntry.Action.DELETE, object_repr="Free").exists()
