"""Portal "My requests": what a customer sees, and the two-step CC read that
keeps the page on the requester index (docs/portal.md, issue #22)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CustomerFactory, ticket_make
from tickets import selectors, services


@pytest.fixture
def people(db):
    return CustomerFactory(), CustomerFactory(), CustomerFactory()


@pytest.fixture
def tickets(people, queue, agent):
    me, other, third = people
    own = ticket_make(queue=queue, requester=me, subject="Mine")
    ccd = ticket_make(queue=queue, requester=other, subject="Copied to me")
    services.ticket_set_ccs(ticket_id=ccd.pk, ccs=[me], actor=agent)
    ticket_make(queue=queue, requester=other, subject="Not mine")
    someone_elses_cc = ticket_make(queue=queue, requester=third, subject="Copied to someone else")
    services.ticket_set_ccs(ticket_id=someone_elses_cc.pk, ccs=[other], actor=agent)
    return own, ccd


def _page_subjects(client, user) -> set[str]:
    client.force_login(user)
    response = client.get("/portal/")
    assert response.status_code == 200
    return {t.subject for t in response.context["page"].items}


@pytest.mark.django_db
def test_my_requests_shows_own_and_copied_tickets_only(tickets, people, client):
    me, other, third = people
    assert _page_subjects(client, me) == {"Mine", "Copied to me"}
    assert _page_subjects(client, other) == {"Copied to me", "Not mine", "Copied to someone else"}
    assert _page_subjects(client, third) == {"Copied to someone else"}


@pytest.mark.django_db
def test_removing_a_cc_hides_the_ticket(tickets, people, agent, client):
    me, _other, _third = people
    _own, ccd = tickets
    services.ticket_set_ccs(ticket_id=ccd.pk, ccs=[], actor=agent)
    assert _page_subjects(client, me) == {"Mine"}


@pytest.mark.django_db
def test_many_ccs_fall_back_to_the_sub_query_and_still_match(people, queue, agent, client, monkeypatch):
    me, other, _third = people
    monkeypatch.setattr(selectors, "CC_IDS_INLINE_MAX", 2)  # instead of creating 1,001 tickets
    for i in range(3):
        t = ticket_make(queue=queue, requester=other, subject=f"Copied {i}")
        services.ticket_set_ccs(ticket_id=t.pk, ccs=[me], actor=agent)
    ticket_make(queue=queue, requester=other, subject="Not mine")
    assert _page_subjects(client, me) == {"Copied 0", "Copied 1", "Copied 2"}


@pytest.mark.django_db
def test_my_requests_reads_cc_ids_first_not_in_the_ordered_ticket_query(tickets, people, client):
    """The plan shape of issue #22: with `requester = X OR id IN (SELECT ...
    FROM tickets_ticket_ccs ...)` PostgreSQL estimated half the table and
    walked the whole updated-at index (114 ms at 100k tickets for a customer
    with few tickets). The CC ids are read first (one bounded query) and the
    page's statement ORs the requester index with a literal id list."""
    me, _other, _third = people
    client.force_login(me)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/portal/").status_code == 200
    sqls = [q["sql"] for q in ctx.captured_queries]
    # The page reads its columns as values: Django orders by their positions (`ORDER BY 7 DESC, 1 DESC`).
    ordered = re.compile(r'ORDER BY ("tickets_ticket"\."updated_at"|\d+) DESC')
    page = [s for s in sqls if 'FROM "tickets_ticket"' in s and ordered.search(s)]
    assert len(page) == 1, sqls
    assert "tickets_ticket_ccs" not in page[0]
    cc_reads = [s for s in sqls if 'FROM "tickets_ticket_ccs"' in s]
    assert len(cc_reads) == 1 and "LIMIT 1001" in cc_reads[0], cc_reads
