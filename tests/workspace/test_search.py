"""Search: full text over subjects and every message (internal notes only
for staff), exact number and requester email, access control."""

import pytest

from tests.factories import AgentFactory, CustomerFactory, ticket_make
from tickets import services
from tickets.models import Message, TicketSearch
from tickets.search import ticket_search_for_user

SECRET = "zanzibarquokka"


@pytest.fixture
def tickets(queue, service_queue, agent, other_agent, customer):
    a = ticket_make(queue=queue, requester=customer, subject="Printer jams daily", body="Paper feeder broken")
    services.message_post(
        ticket_id=a.pk, author=agent, body=f"{SECRET} vendor escalation code", visibility=Message.Visibility.INTERNAL
    )
    services.message_post(ticket_id=a.pk, author=customer, body="Also the toner smells of burning")
    b = ticket_make(queue=service_queue, requester=CustomerFactory(), subject="Printer invoice wrong", body="Refund")
    return a, b


def _ids(user, q):
    return set(ticket_search_for_user(user=user, query=q).values_list("pk", flat=True))


@pytest.mark.django_db
def test_documents_are_written_with_the_ticket(tickets):
    a, _ = tickets
    doc = TicketSearch.objects.get(ticket=a)
    assert "toner" in str(doc.public_doc)
    assert SECRET not in str(doc.public_doc)
    assert SECRET in str(doc.internal_doc)


@pytest.mark.django_db
def test_subject_and_public_messages_match_with_stemming(tickets, agent):
    a, _ = tickets
    assert _ids(agent, "printers") == {a.pk}  # b is in a queue agent is not in
    assert _ids(agent, "burning toner") == {a.pk}
    assert _ids(agent, "feeder") == {a.pk}
    assert _ids(agent, "nonexistentword") == set()


@pytest.mark.django_db
def test_access_control_applies(tickets, agent, other_agent, manager):
    a, b = tickets
    assert _ids(other_agent, "printer") == {b.pk}
    assert _ids(manager, "printer") == {a.pk, b.pk}


@pytest.mark.django_db
def test_internal_notes_only_for_people_who_may_see_them(tickets, agent, customer):
    a, _ = tickets
    assert _ids(agent, SECRET) == {a.pk}
    # A customer (who never gets this search in the UI) matches nothing on
    # the note, even on their own ticket.
    assert _ids(customer, SECRET) == set()
    assert _ids(customer, "toner") == {a.pk}


@pytest.mark.django_db
def test_number_and_email_lookup(tickets, agent, customer):
    a, _ = tickets
    assert _ids(agent, f"#{a.pk}") == {a.pk}
    assert _ids(agent, str(a.pk)) == {a.pk}
    assert _ids(agent, customer.email.upper()) == {a.pk}


@pytest.mark.django_db
def test_search_page_never_shows_internal_text_to_customers(tickets, client, customer, agent):
    """The agent list with ?q= is staff-only (404), and the agent sees hits."""
    client.force_login(customer)
    assert client.get(f"/agent/tickets/?q={SECRET}").status_code == 404
    client.force_login(agent)
    response = client.get(f"/agent/tickets/?q={SECRET}")
    assert response.status_code == 200
    assert b"Printer jams daily" in response.content


@pytest.mark.django_db
def test_staff_search_uses_the_gin_index(tickets, agent):
    """EXPLAIN of the full-text predicate: a bitmap scan on the GIN index."""
    from django.contrib.postgres.search import SearchQuery
    from django.db import connection
    from django.db.models import Q

    sq = SearchQuery("printer", config="english", search_type="websearch")
    qs = TicketSearch.objects.filter(Q(public_doc=sq) | Q(internal_doc=sq)).values("ticket_id")
    with connection.cursor() as cur:
        cur.execute("SET enable_seqscan = off")
        sql, params = qs.query.sql_with_params()
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
        cur.execute("SET enable_seqscan = on")
    assert "ticket_search_public_gin" in plan and "ticket_search_internal_gin" in plan, plan


@pytest.mark.django_db
def test_new_agent_outside_queues_finds_nothing(tickets):
    assert _ids(AgentFactory(), "printer") == set()


def _bulk_tickets(*, n, queue, requester, subject):
    """n tickets with search documents, without the services (fast)."""
    from django.utils import timezone

    from tickets.models import Ticket
    from tickets.search import ticket_search_refresh

    now = timezone.now()
    rows = Ticket.objects.bulk_create(
        Ticket(queue=queue, kind=queue.kind, requester=requester, subject=subject, created_at=now, updated_at=now)
        for _ in range(n)
    )
    ticket_search_refresh(ticket_ids=[t.pk for t in rows])
    return [t.pk for t in rows]


def _longest_statement(user, query):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.workspace import workspace_ticket_page

    with CaptureQueriesContext(connection) as ctx:
        page = workspace_ticket_page(user=user, search=query, limit=25)
    return max(len(q["sql"]) for q in ctx.captured_queries), [t.pk for t in page.items]


@pytest.mark.django_db
def test_search_statement_size_does_not_grow_with_the_hits(queue, agent, customer):
    """The full-text hits stay in PostgreSQL (a sub-select), never a literal
    id list: 10 and 2,000 matching tickets send statements of the same size,
    and the page is the same one the list shows without a search."""
    from tickets.workspace import workspace_ticket_page

    _bulk_tickets(n=10, queue=queue, requester=customer, subject="Kettle descaling")
    many = _bulk_tickets(n=2_000, queue=queue, requester=customer, subject="Toaster sparks")
    few_len, few_page = _longest_statement(agent, "kettle")
    many_len, many_page = _longest_statement(agent, "toaster")
    assert len(few_page) == 10 and len(many_page) == 25
    assert abs(many_len - few_len) < 50, (few_len, many_len)
    whole = workspace_ticket_page(user=agent, limit=2_100).items
    assert many_page == [t.pk for t in whole if t.pk in set(many)][:25]
