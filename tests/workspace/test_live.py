"""The live ticket page's endpoint and the server-side collision check
(docs/live-updates.md): access, what a poll returns, the Redis version path
and its database fallback, and "someone replied since you opened it"."""

import os
import socket

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.lib.breaker import cache_breaker
from helpdesk.lib.cache import redis_cache_config
from tests.factories import AgentFactory, ticket_make
from tickets import services
from tickets.models import Message, TicketEvent


def _live(client, ticket, **params):
    return client.get(f"/agent/tickets/{ticket.pk}/live/", params)


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@pytest.fixture
def redis_cache(settings):
    """The shared Redis cache, as in production."""
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    settings.CACHES = {"default": redis_cache_config(url, timeout=0.5)}
    cache_breaker.reset()
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def dead_redis_cache(settings):
    """Redis configured but nothing listening (an outage)."""
    settings.CACHES = {"default": redis_cache_config(f"redis://127.0.0.1:{_dead_port()}/0", timeout=0.5)}
    cache_breaker.reset()
    yield
    cache_breaker.reset()


@pytest.mark.django_db
def test_live_endpoint_refuses_customers_foreign_agents_and_anonymous(client, agent, customer, other_agent, queue):
    """Customers (even the requester) and agents outside the queue get 404;
    anonymous users are sent to log in; the queue's agent gets 200 JSON."""
    ticket = ticket_make(queue=queue, requester=customer)
    assert _live(client, ticket).status_code == 302
    client.force_login(customer)
    assert _live(client, ticket).status_code == 404
    client.force_login(other_agent)
    assert _live(client, ticket).status_code == 404
    client.force_login(agent)
    response = _live(client, ticket)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_poll_lists_events_after_since_including_notes_for_staff_only(client, agent, customer, queue):
    """A poll returns the events after `since` (replies, notes, property
    changes) with who did them; the customer sees the reply on the portal
    but never the note, on any page."""
    ticket = ticket_make(queue=queue, requester=customer)
    colleague = AgentFactory(name="Bea Colleague")
    queue.members.add(colleague)
    client.force_login(agent)
    since = _live(client, ticket).json()["last"]
    assert since > 0
    services.message_post(ticket_id=ticket.pk, author=colleague, body="Public answer 42")
    services.message_post(
        ticket_id=ticket.pk, author=colleague, body="Secret note 77", visibility=Message.Visibility.INTERNAL
    )
    services.ticket_set_priority(ticket_id=ticket.pk, priority="high", actor=colleague)
    data = _live(client, ticket, since=since).json()
    assert data["changed"] is True
    kinds = [(e["kind"], e["public"], e["actor"]) for e in data["events"]]
    assert ("message.created", True, "Bea Colleague") in kinds
    assert ("message.created", False, "Bea Colleague") in kinds
    assert ("priority.changed", False, "Bea Colleague") in kinds
    assert data["last"] == TicketEvent.objects.filter(ticket=ticket).latest("id").pk
    # Changes by others bring the rendered timeline along (notes included: staff).
    assert "Public answer 42" in data["timeline_html"]
    assert "Secret note 77" in data["timeline_html"]
    # ...and the head (subject, status, priority): a property change shows
    # without waiting for the page's refetch of itself.
    assert 'class="prio prio-high"' in data["head_html"] and 'id="ticket-status-line"' in data["head_html"]
    # Only own events: no timeline (the page reloaded itself already).
    services.message_post(ticket_id=ticket.pk, author=agent, body="Mine")
    own = _live(client, ticket, since=data["last"]).json()
    assert own["changed"] is True
    assert own["timeline_html"] is None and own["head_html"] is None
    data = own
    # Nothing newer: an empty answer.
    again = _live(client, ticket, since=data["last"]).json()
    assert again["changed"] is False
    assert again["events"] == []

    client.force_login(customer)
    assert _live(client, ticket, since=0).status_code == 404
    portal = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert "Public answer 42" in portal
    assert "Secret note 77" not in portal
    api = client.get(f"/api/v1/tickets/{ticket.pk}/").content.decode()
    assert "Secret note 77" not in api


@pytest.mark.django_db
def test_bad_parameters_are_ignored_not_500(client, agent, queue):
    ticket = ticket_make(queue=queue)
    client.force_login(agent)
    for params in ({"since": "abc"}, {"since": "9" * 40}, {"v": "-1"}, {"since": "١٢"}):
        assert _live(client, ticket, **params).status_code == 200


@pytest.mark.django_db
def test_with_redis_an_unchanged_version_skips_the_event_query(
    client, agent, queue, redis_cache, django_capture_on_commit_callbacks
):
    """With Redis as the cache, a poll bringing the current version reads
    no events; a commit bumps the version, so the next poll finds the row."""
    ticket = ticket_make(queue=queue)
    client.force_login(agent)
    first = _live(client, ticket).json()
    assert first["v"] is not None
    with CaptureQueriesContext(connection) as queries:
        quiet = _live(client, ticket, since=first["last"], v=first["v"]).json()
    assert quiet["changed"] is False
    assert not [q for q in queries.captured_queries if "tickets_ticketevent" in q["sql"]]

    with django_capture_on_commit_callbacks(execute=True):
        services.message_post(ticket_id=ticket.pk, author=AgentFactory(), body="Hello from B")
    after = _live(client, ticket, since=first["last"], v=first["v"]).json()
    assert after["changed"] is True
    assert after["v"] != first["v"]
    # The first agent reply also moves the ticket New -> Open (docs/portal.md).
    assert [e["kind"] for e in after["events"]] == ["message.created", "status.changed"]


@pytest.mark.django_db
def test_full_poll_reads_the_database_even_if_the_version_looks_unchanged(client, agent, queue, redis_cache):
    """A lost bump (Redis unreachable from the writer only) is covered by
    the page's periodic `full=1` poll."""
    ticket = ticket_make(queue=queue)
    client.force_login(agent)
    first = _live(client, ticket).json()
    # No on-commit callbacks run in this (rolled-back) test: the bump is lost.
    services.message_post(ticket_id=ticket.pk, author=AgentFactory(), body="Lost bump")
    assert _live(client, ticket, since=first["last"], v=first["v"]).json()["changed"] is False
    full = _live(client, ticket, since=first["last"], v=first["v"], full="1").json()
    assert full["changed"] is True


@pytest.mark.django_db
def test_with_redis_down_polls_read_the_database(client, agent, queue, dead_redis_cache):
    """Redis configured but down: the version is unknown (null) and every
    poll reads the event log, so updates still arrive."""
    ticket = ticket_make(queue=queue)
    client.force_login(agent)
    first = _live(client, ticket).json()
    assert first["v"] is None
    services.message_post(ticket_id=ticket.pk, author=AgentFactory(), body="During the outage")
    data = _live(client, ticket, since=first["last"], v="123").json()
    assert data["changed"] is True
    assert data["others"] == []


@pytest.mark.django_db
def test_collision_reply_is_held_with_a_warning_until_confirmed(client, agent, customer, queue):
    """A public reply sent after someone else replied since the page was
    opened is not posted: 409 with the warning and the text kept. "Send
    anyway" posts it; so does a resend from the refreshed page."""
    ticket = ticket_make(queue=queue, requester=customer)
    client.force_login(agent)
    page = client.get(f"/agent/tickets/{ticket.pk}/")
    seen = page.context["live_last_event"]
    assert f'name="seen_event" value="{seen}"' in page.content.decode()
    colleague = AgentFactory(name="Bea Colleague")
    queue.members.add(colleague)
    services.message_post(ticket_id=ticket.pk, author=colleague, body="Bea answer 55")

    url = f"/agent/tickets/{ticket.pk}/reply/"
    post = {"body": "My answer", "visibility": "public", "seen_event": str(seen)}
    held = client.post(url, post)
    assert held.status_code == 409
    html = held.content.decode()
    assert "Bea Colleague</strong> replied since you opened this ticket" in html
    assert "Bea answer 55" in html  # the reply to review is on the page
    assert "My answer" in html  # the draft is kept
    assert not Message.objects.filter(ticket=ticket, author=agent).exists()
    # The refreshed page's seen id covers Bea's reply.
    assert held.context["live_last_event"] > seen

    sent = client.post(url, {**post, "collision_confirm": "1"})
    assert sent.status_code == 302
    assert Message.objects.filter(ticket=ticket, author=agent, body="My answer").count() == 1


@pytest.mark.django_db
def test_no_collision_for_notes_own_replies_or_a_refreshed_page(client, agent, customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    client.force_login(agent)
    seen = client.get(f"/agent/tickets/{ticket.pk}/").context["live_last_event"]
    url = f"/agent/tickets/{ticket.pk}/reply/"
    # Own reply since: no warning.
    assert client.post(url, {"body": "one", "visibility": "public", "seen_event": seen}).status_code == 302
    assert client.post(url, {"body": "two", "visibility": "public", "seen_event": seen}).status_code == 302
    colleague = AgentFactory()
    queue.members.add(colleague)
    services.message_post(ticket_id=ticket.pk, author=colleague, body="Other's reply")
    # An internal note never collides.
    assert client.post(url, {"body": "note", "visibility": "internal", "seen_event": seen}).status_code == 302
    # A page opened after the colleague's reply does not warn.
    fresh = client.get(f"/agent/tickets/{ticket.pk}/").context["live_last_event"]
    assert client.post(url, {"body": "three", "visibility": "public", "seen_event": fresh}).status_code == 302
    # A customer's public reply since also warns (the agent has not read it).
    services.message_post(ticket_id=ticket.pk, author=customer, body="Customer again")
    assert client.post(url, {"body": "four", "visibility": "public", "seen_event": fresh}).status_code == 409
