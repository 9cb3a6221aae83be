"""Every sort pages with a keyset cursor: every ticket exactly once, in
order, even with ties on the sort key, and no OFFSET in the SQL."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import CustomerFactory
from tickets import workspace
from tickets.models import Ticket


@pytest.fixture
def many(queue, agent):
    """23 tickets with heavy ties: 3 distinct updated/created instants,
    4 priorities, SLA due on 3 instants or none."""
    requester = CustomerFactory()
    base = timezone.now().replace(microsecond=0)
    rows = [
        Ticket(
            subject=f"T{i}",
            queue=queue,
            kind=queue.kind,
            requester=requester,
            priority=["low", "normal", "high", "urgent"][i % 4],
            created_at=base - timedelta(minutes=i % 3),
            updated_at=base - timedelta(minutes=i % 3),
            sla_due_at=None if i % 5 == 0 else base + timedelta(hours=i % 3),
        )
        for i in range(23)
    ]
    Ticket.objects.bulk_create(rows)
    return list(Ticket.objects.filter(queue=queue))


def _walk(user, sort, limit):
    seen, cursor, pages = [], None, 0
    while True:
        page = workspace.workspace_ticket_page(user=user, view="all", sort=sort, cursor=cursor, limit=limit)
        seen += page.items
        pages += 1
        if not page.next_cursor:
            return seen, pages
        cursor = page.next_cursor
        assert pages < 50


def _key(sort, t):
    if sort == "updated":
        return (-t.updated_at.timestamp(), -t.pk)
    if sort == "created":
        return (-t.created_at.timestamp(), -t.pk)
    if sort == "priority":
        return (-t.priority_rank, -t.pk)
    return (t.sla_due_at is None, t.sla_due_at.timestamp() if t.sla_due_at else 0, t.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("sort", list(workspace.SORTS))
@pytest.mark.parametrize("limit", [1, 4, 7, 50])
def test_every_ticket_once_in_order(many, agent, sort, limit):
    seen, pages = _walk(agent, sort, limit)
    ids = [t.pk for t in seen]
    assert len(ids) == len(set(ids)) == 23
    assert seen == sorted(many, key=lambda t: _key(sort, Ticket.objects.get(pk=t.pk)))
    assert pages == -(-23 // limit)


@pytest.mark.django_db
@pytest.mark.parametrize("sort", list(workspace.SORTS))
def test_no_offset(many, agent, sort):
    first = workspace.workspace_ticket_page(user=agent, sort=sort, limit=5)
    with CaptureQueriesContext(connection) as ctx:
        workspace.workspace_ticket_page(user=agent, sort=sort, cursor=first.next_cursor, limit=5)
    sql = " ".join(q["sql"] for q in ctx.captured_queries).upper()
    assert "OFFSET" not in sql and "LIMIT 6" in sql


@pytest.mark.django_db
def test_garbled_or_foreign_cursor_starts_over(many, agent):
    first = workspace.workspace_ticket_page(user=agent, sort="updated", limit=5)
    for cursor in ("garbage!!", first.next_cursor):
        page = workspace.workspace_ticket_page(user=agent, sort="priority", cursor=cursor, limit=5)
        top = workspace.workspace_ticket_page(user=agent, sort="priority", limit=5)
        assert [t.pk for t in page.items] == [t.pk for t in top.items]


@pytest.mark.django_db
def test_priority_rank_is_computed_by_the_database(queue, customer):
    t = Ticket.objects.create(subject="x", queue=queue, kind=queue.kind, requester=customer, priority="urgent")
    t.refresh_from_db()
    assert t.priority_rank == 4
    Ticket.objects.filter(pk=t.pk).update(priority="low")
    t.refresh_from_db()
    assert t.priority_rank == 1
