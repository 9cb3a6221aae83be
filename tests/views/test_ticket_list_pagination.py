"""Keyset pagination of the agent list: every ticket exactly once, in
(updated_at desc, id desc) order, with ties on updated_at; bounded queries."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory, ticket_make
from tickets import selectors
from tickets.models import Ticket


def _tickets(queue, n, *, ties=True):
    """n tickets; with `ties`, groups of three share one updated_at."""
    base = timezone.now() - timedelta(days=1)
    requester = CustomerFactory()
    made = []
    for i in range(n):
        at = base + timedelta(minutes=(i // 3) if ties else i)
        made.append(ticket_make(queue=queue, requester=requester, subject=f"Ticket {i}", occurred_at=at))
    return made


def _expected_order(tickets):
    return [t.pk for t in sorted(tickets, key=lambda t: (t.updated_at, t.pk), reverse=True)]


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [1, 4, 7, 25, 100])
def test_selector_pages_cover_every_ticket_once(queue, agent, limit):
    tickets = _tickets(queue, 25)
    seen, cursor, pages = [], None, 0
    while True:
        page = selectors.ticket_page_for_agent(user=agent, filters={}, cursor=cursor, limit=limit)
        seen += [t.pk for t in page.items]
        pages += 1
        assert len(page.items) <= limit
        if not page.has_next:
            break
        cursor = page.next_cursor
        assert pages < 100
    assert seen == _expected_order(tickets)
    assert pages == max(1, -(-25 // limit))


@pytest.mark.django_db
def test_pagination_is_stable_when_a_ticket_is_updated_mid_walk(queue, agent):
    """A ticket bumped to the top after page 1 is not repeated on page 2."""
    tickets = _tickets(queue, 10, ties=False)
    first = selectors.ticket_page_for_agent(user=agent, filters={}, limit=5)
    bumped = first.items[-1]
    Ticket.objects.filter(pk=bumped.pk).update(updated_at=timezone.now())
    second = selectors.ticket_page_for_agent(user=agent, filters={}, cursor=first.next_cursor, limit=5)
    ids = [t.pk for t in first.items] + [t.pk for t in second.items]
    assert len(ids) == len(set(ids)) == 10
    assert set(ids) == {t.pk for t in tickets}


@pytest.mark.django_db
def test_garbled_cursor_starts_from_the_top(queue, agent):
    _tickets(queue, 3)
    for cursor in ("garbage", "eyJ4IjoxfQ", "", "W10"):
        page = selectors.ticket_page_for_agent(user=agent, filters={}, cursor=cursor, limit=10)
        assert len(page.items) == 3


@pytest.mark.django_db
def test_agent_list_pages_through_the_view(client, queue, agent):
    """Following the page's own Next links lists every ticket exactly once."""
    tickets = _tickets(queue, 120)
    client.force_login(agent)
    url, seen = "/agent/tickets/?view=all", []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += [t.pk for t in response.context["page"].items]
        match = re.search(r'href="(\?[^"]*)" rel="next"', response.content.decode())
        url = "/agent/tickets/" + match.group(1).replace("&amp;", "&") if match else None
    assert seen == _expected_order(tickets)
    assert "view=all" in response.request["QUERY_STRING"]


@pytest.mark.django_db
def test_agent_list_query_count_is_bounded(client, queue, agent, django_assert_max_num_queries):
    """No N+1: 50 rows cost the same few queries as 5 (session, user,
    queues, agents for the filters, one page query with joins, the grouped
    live counts, saved views, the menu's customer success entry, the
    two-factor check: device and sign-in policy)."""
    _tickets(queue, 60)
    client.force_login(agent)
    with django_assert_max_num_queries(10):
        response = client.get("/agent/tickets/?view=all")
    assert len(response.context["page"].items) == 50
    with django_assert_max_num_queries(10):
        client.get(f"/agent/tickets/?view=all&cursor={response.context['page'].next_cursor}")


@pytest.mark.django_db
def test_page_query_uses_no_offset(queue, agent):
    _tickets(queue, 10)
    first = selectors.ticket_page_for_agent(user=agent, filters={}, limit=3)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        selectors.ticket_page_for_agent(user=agent, filters={}, cursor=first.next_cursor, limit=3)
    sql = " ".join(q["sql"] for q in ctx.captured_queries).upper()
    assert "OFFSET" not in sql
    assert "LIMIT 4" in sql


@pytest.mark.django_db
def test_customer_portal_list_paginates(client, customer, queue):
    base = timezone.now() - timedelta(days=1)
    tickets = [
        ticket_make(queue=queue, requester=customer, subject=f"R{i}", occurred_at=base + timedelta(seconds=i))
        for i in range(30)
    ]
    client.force_login(customer)
    first = client.get("/portal/")
    assert len(first.context["page"].items) == 25
    second = client.get("/portal/", {"cursor": first.context["page"].next_cursor})
    ids = [t.pk for t in first.context["page"].items] + [t.pk for t in second.context["page"].items]
    assert ids == _expected_order(tickets)
