"""Bulk actions with partial failures, merge confirmation, escalation with a
reason, tags, manual time, handle-time heartbeats."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ticket_make
from tickets import services, workspace_services
from tickets.models import Ticket, TicketEvent

K = TicketEvent.Kind


@pytest.fixture
def three(queue, customer, agent):
    ts = [ticket_make(queue=queue, requester=customer, subject=f"Bulk {i}") for i in range(3)]
    services.ticket_transition(ticket_id=ts[1].pk, target="closed", actor=agent)
    return ts


@pytest.mark.django_db
def test_bulk_status_reports_each_refusal_and_goes_on(three, agent, client, service_queue):
    foreign = ticket_make(queue=service_queue, subject="Not mine")
    client.force_login(agent)
    ids = [t.pk for t in three] + [foreign.pk]
    response = client.post("/agent/tickets/bulk/", {"ids": ids, "action": "status", "status": "pending"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "2 of 4 tickets updated, 2 failed" in page
    assert "cannot move from &#x27;closed&#x27;" in page or "closed" in page
    assert "not found" in page and "Not mine" not in page
    statuses = dict(Ticket.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses == {three[0].pk: "pending", three[1].pk: "closed", three[2].pk: "pending", foreign.pk: "new"}


@pytest.mark.django_db
def test_bulk_assign_priority_tag(three, agent, client):
    client.force_login(agent)
    open_ids = [three[0].pk, three[2].pk]
    client.post("/agent/tickets/bulk/", {"ids": open_ids, "action": "assign", "assignee": "me"})
    client.post("/agent/tickets/bulk/", {"ids": open_ids, "action": "priority", "priority": "urgent"})
    client.post("/agent/tickets/bulk/", {"ids": open_ids, "action": "tag", "tags": "vip, outage"})
    for t in Ticket.objects.filter(pk__in=open_ids):
        assert t.assignee_id == agent.pk and t.priority == "urgent"
        assert sorted(t.tags.values_list("name", flat=True)) == ["outage", "vip"]
        kinds = set(TicketEvent.objects.filter(ticket=t).values_list("kind", flat=True))
        assert {K.ASSIGNEE, K.PRIORITY, K.TAGS} <= kinds


@pytest.mark.django_db
def test_bulk_errors_next_to_fields(three, agent, client):
    client.force_login(agent)
    response = client.post("/agent/tickets/bulk/", {"ids": [three[0].pk], "action": "status"})
    assert response.status_code == 400
    assert "Choose a status." in response.content.decode()


@pytest.mark.django_db
def test_bulk_merge_asks_to_confirm_first(three, agent, client):
    client.force_login(agent)
    data = {"ids": [three[0].pk, three[2].pk], "action": "merge", "merge_target": three[2].pk}
    confirm = client.post("/agent/tickets/bulk/", data)
    assert "Yes, merge" in confirm.content.decode()
    assert Ticket.objects.get(pk=three[0].pk).merged_into_id is None
    done = client.post("/agent/tickets/bulk/", {**data, "confirm": "on"})
    target = three[2].pk
    assert f"merged into #{target}" in done.content.decode()
    src = Ticket.objects.get(pk=three[0].pk)
    assert src.merged_into_id == three[2].pk and src.status == "closed"


@pytest.mark.django_db
def test_escalation_needs_reason_shown_next_to_field(queue, service_queue, agent, manager, client):
    ticket = ticket_make(queue=queue, subject="Needs billing")
    before = ticket.created_at
    client.force_login(manager)
    response = client.post(f"/agent/tickets/{ticket.pk}/queue/", {"queue": service_queue.pk, "reason": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_reason-errors"' in html and "An escalation needs a reason." in html
    response = client.post(f"/agent/tickets/{ticket.pk}/queue/", {"queue": service_queue.pk, "reason": "refund"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.queue_id == service_queue.pk and ticket.kind == "service" and ticket.created_at == before
    ev = TicketEvent.objects.get(ticket=ticket, kind=K.QUEUE)
    assert ev.data["escalation"] and ev.data["reason"] == "refund" and ev.data["from_kind"] == "support"
    assert TicketEvent.objects.filter(ticket=ticket, kind=K.CREATED).count() == 1  # history kept


@pytest.mark.django_db
def test_refused_status_explains_why(queue, agent, client):
    ticket = ticket_make(queue=queue)
    services.ticket_transition(ticket_id=ticket.pk, target="closed", actor=agent)
    client.force_login(agent)
    response = client.post(f"/agent/tickets/{ticket.pk}/status/", {"target": "open"})
    assert response.status_code == 200
    assert "cannot move from" in response.content.decode()


@pytest.mark.django_db
def test_tags_and_manual_time(queue, agent, client):
    ticket = ticket_make(queue=queue)
    client.force_login(agent)
    assert client.post(f"/agent/tickets/{ticket.pk}/tags/", {"add": "a, b"}).status_code == 302
    assert client.post(f"/agent/tickets/{ticket.pk}/time/", {"minutes": "15", "note": "call"}).status_code == 302
    bad = client.post(f"/agent/tickets/{ticket.pk}/time/", {"minutes": "0"})
    assert bad.status_code == 200 and 'id="id_minutes-errors"' in bad.content.decode()
    ev = TicketEvent.objects.get(ticket=ticket, kind=K.TIME_ENTRY)
    assert ev.data["seconds"] == 900 and ev.data["agent_id"] == agent.pk


# --- handle time ---------------------------------------------------------------


def _sessions(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=K.WORK_SESSION).order_by("id"))


@pytest.mark.django_db
def test_heartbeats_then_idle_gap_record_a_session(queue, agent):
    ticket = ticket_make(queue=queue)
    t0 = timezone.now().replace(microsecond=0)
    hb = workspace_services.work_heartbeat
    assert hb(ticket_id=ticket.pk, user=agent, active=True, now=t0) == "started"
    assert hb(ticket_id=ticket.pk, user=agent, active=True, now=t0 + timedelta(seconds=30)) == "extended"
    assert hb(ticket_id=ticket.pk, user=agent, active=True, now=t0 + timedelta(seconds=60)) == "extended"
    # 5 minutes without a heartbeat: the old session ends at its last beat.
    assert hb(ticket_id=ticket.pk, user=agent, active=True, now=t0 + timedelta(seconds=360)) == "recorded"
    (s,) = _sessions(ticket)
    assert s.data["agent_id"] == agent.pk
    assert s.data["started_at"] == t0.isoformat().replace("+00:00", "+00:00")
    assert s.occurred_at == t0 + timedelta(seconds=60)


@pytest.mark.django_db
def test_final_beacon_and_sweeper(queue, agent):
    ticket = ticket_make(queue=queue)
    t0 = timezone.now().replace(microsecond=0)
    hb = workspace_services.work_heartbeat
    hb(ticket_id=ticket.pk, user=agent, active=True, now=t0)
    hb(ticket_id=ticket.pk, user=agent, active=True, final=True, now=t0 + timedelta(seconds=20))
    assert _sessions(ticket)[-1].occurred_at == t0 + timedelta(seconds=20)
    # An abandoned session is closed by the periodic sweep at its last beat.
    hb(ticket_id=ticket.pk, user=agent, active=True, now=t0 + timedelta(seconds=100))
    hb(ticket_id=ticket.pk, user=agent, active=True, now=t0 + timedelta(seconds=130))
    assert workspace_services.work_sessions_close_idle(now=t0 + timedelta(seconds=200)) == 0
    assert workspace_services.work_sessions_close_idle(now=t0 + timedelta(seconds=300)) == 1
    assert _sessions(ticket)[-1].occurred_at == t0 + timedelta(seconds=130)
    assert len(_sessions(ticket)) == 2


@pytest.mark.django_db
def test_sessions_are_capped_at_four_hours(queue, agent):
    ticket = ticket_make(queue=queue)
    t0 = timezone.now().replace(microsecond=0)
    for i in range(0, 4 * 3600 + 61, 30):
        workspace_services.work_heartbeat(ticket_id=ticket.pk, user=agent, active=True, now=t0 + timedelta(seconds=i))
    first = _sessions(ticket)[0]
    assert first.occurred_at == t0 + timedelta(hours=4)


@pytest.mark.django_db
def test_heartbeat_endpoint_records_and_shows_collision(queue, agent, client):
    from tests.factories import AgentFactory

    ticket = ticket_make(queue=queue)
    other = AgentFactory(name="Bob Other")
    queue.members.add(other)
    client.force_login(other)
    client.post(f"/agent/tickets/{ticket.pk}/heartbeat/", {"active": "1", "typing": "1"})
    client.force_login(agent)
    response = client.post(f"/agent/tickets/{ticket.pk}/heartbeat/", {"active": "1"})
    assert "Bob Other" in response.content.decode() and "typing a reply" in response.content.decode()
    page = client.get(f"/agent/tickets/{ticket.pk}/")
    assert "Bob Other" in page.content.decode()
    assert client.post(f"/agent/tickets/{ticket.pk}/heartbeat/", {"final": "1", "active": "1"}).status_code == 204


@pytest.mark.django_db
def test_presence_degrades_without_a_cache(queue, agent, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    from django.core.cache import caches

    caches._settings = None
    ticket = ticket_make(queue=queue)
    workspace_services.presence_touch(ticket_id=ticket.pk, user=agent, typing=False)
    assert workspace_services.presence_others(ticket_id=ticket.pk, user=agent) == []
    assert workspace_services.work_heartbeat(ticket_id=ticket.pk, user=agent, active=True) == "unavailable"
