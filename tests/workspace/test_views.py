"""Workspace pages: query budgets, live counts partial, index use, saved
views, and every new URL in the role matrix."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.factories import AgentFactory, CustomerFactory, ticket_make
from tickets import services, workspace
from tickets.models import Message, SavedView, Ticket


def _bulk_tickets(queue, n, *, assignee=None, status="open"):
    requester = CustomerFactory()
    now = timezone.now()
    Ticket.objects.bulk_create(
        [
            Ticket(
                subject=f"Bulk {i}",
                queue=queue,
                kind=queue.kind,
                requester=requester,
                assignee=assignee,
                status=status,
                updated_at=now - timedelta(seconds=i),
                created_at=now - timedelta(seconds=i),
                sla_due_at=now + timedelta(minutes=i - 30),
            )
            for i in range(n)
        ]
    )


@pytest.mark.django_db
@pytest.mark.parametrize("view", [*workspace.VIEW_LABELS, "queue"])
@pytest.mark.parametrize("sort", list(workspace.SORTS))
def test_each_list_has_a_query_budget(client, queue, agent, view, sort, django_assert_max_num_queries):
    _bulk_tickets(queue, 60, assignee=agent)
    _bulk_tickets(queue, 60)
    client.force_login(agent)
    v = f"queue:{queue.pk}" if view == "queue" else view
    # session, user, queues, agents, page (+1: the SLA sort tops up with
    # undated tickets), grouped counts, saved views, the menu's customer
    # success entry (agents in a service queue), the two-factor check
    # (confirmed device, sign-in policy: docs/sign-in.md); flat in the row count.
    with django_assert_max_num_queries(11):
        response = client.get(f"/agent/tickets/?view={v}&sort={sort}")
    assert response.status_code == 200
    page = response.context["page"]
    if page.next_cursor:
        with django_assert_max_num_queries(11):
            client.get(f"/agent/tickets/?view={v}&sort={sort}&cursor={page.next_cursor}")


@pytest.mark.django_db
def test_ticket_page_with_50_messages_has_a_budget(client, queue, agent, customer, django_assert_max_num_queries):
    ticket = ticket_make(queue=queue, requester=customer)
    for i in range(50):
        services.message_post(
            ticket_id=ticket.pk,
            author=agent if i % 2 else customer,
            body=f"message {i}",
            visibility=Message.Visibility.INTERNAL if i % 6 == 1 else Message.Visibility.PUBLIC,
        )
    client.force_login(agent)
    # 16 + the live region's last event id (docs/live-updates.md) + the menu's customer
    # success entry + the two-factor check (device, sign-in policy: docs/sign-in.md)
    with django_assert_max_num_queries(20):
        response = client.get(f"/agent/tickets/{ticket.pk}/")
    assert response.status_code == 200
    assert response.content.decode().count('class="msg') >= 51


@pytest.mark.django_db
def test_counts_are_right_and_one_grouped_query(
    client, queue, service_queue, agent, manager, django_assert_num_queries
):
    service_queue.members.add(agent)
    _bulk_tickets(queue, 3, assignee=agent)
    _bulk_tickets(queue, 2)  # unassigned
    _bulk_tickets(service_queue, 4, status="pending")
    _bulk_tickets(service_queue, 1, status="on_hold")
    _bulk_tickets(queue, 2, status="closed")  # recent, not open
    with django_assert_num_queries(2):  # queues + the grouped counts
        counts = workspace.workspace_counts(user=agent)
    assert counts.views["mine"] == 3
    assert counts.views["unassigned"] == 7
    assert counts.views["pending"] == 4 and counts.views["on_hold"] == 1
    assert counts.views["recent"] == 12
    # sla_due_at = now + (i - 30) min: all already breached in these sets
    assert counts.views["breached"] == 10 and counts.views["at_risk"] == 0
    assert {q["name"]: (q["kind"], q["open"]) for q in counts.queues} == {
        queue.name: ("support", 5),
        service_queue.name: ("service", 5),
    }
    client.force_login(agent)
    partial = client.get("/agent/counts/?view=mine", HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert "<html" not in html and 'data-count="mine"' in html and "kind-service" in html


@pytest.mark.django_db
def test_my_open_list_uses_an_index_not_a_seq_scan(queue, agent):
    """A few thousand rows, enable_seqscan=off: no Seq Scan on tickets_ticket."""
    _bulk_tickets(queue, 3000)
    _bulk_tickets(queue, 200, assignee=agent)
    with connection.cursor() as cur:
        cur.execute("ANALYZE tickets_ticket")
    for view, sort in (("mine", "updated"), ("unassigned", "updated"), ("all", "priority"), ("all", "created")):
        qs = workspace.workspace_base_qs(user=agent).filter(workspace.view_q(view, user=agent, now=timezone.now()))
        qs = workspace._ordered(qs, workspace.SORTS[sort])[:51]
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cur:
            cur.execute("SET enable_seqscan = off")
            cur.execute("EXPLAIN " + sql, params)
            plan = "\n".join(r[0] for r in cur.fetchall())
            cur.execute("SET enable_seqscan = on")
        assert "Seq Scan on tickets_ticket" not in plan, (view, plan)
        assert "ticket_" in plan, plan


@pytest.mark.django_db
def test_filters_and_saved_views(client, queue, agent):
    t1 = ticket_make(queue=queue, subject="Alpha tagged", tags=["vip"])
    ticket_make(queue=queue, subject="Beta plain")
    client.force_login(agent)
    html = client.get("/agent/tickets/?view=all&tags=vip").content.decode()
    assert "Alpha tagged" in html and "Beta plain" not in html
    response = client.post(
        "/agent/tickets/../../agent/views/".replace("/agent/tickets/../..", ""),
        {
            "name": "VIPs",
            "is_shared": "on",
            "filters": '{"tags": "vip", "view": "all", "evil": "x"}',
            "sort": "created",
        },
    )
    assert response.status_code == 302
    view = SavedView.objects.get(name="VIPs")
    assert view.filters == {"tags": "vip", "view": "all"} and view.sort == "created"
    html = client.get(f"/agent/tickets/?saved={view.pk}").content.decode()
    assert "Alpha tagged" in html and "Beta plain" not in html
    # Shared with a colleague, who cannot delete it.
    other = AgentFactory()
    queue.members.add(other)
    client.force_login(other)
    assert "VIPs" in client.get("/agent/tickets/").content.decode()
    assert client.post(f"/agent/views/{view.pk}/delete/").status_code == 404
    assert t1.pk


# --- the role matrix for every new URL ------------------------------------------

ROLES = ("anonymous", "owner", "agent_a", "agent_b", "manager")
# (url name, method, data, takes a ticket id, expected per ROLES)
URLS = [
    #                                                                          anon owner agent_a agent_b manager
    ("tickets:agent-ticket-queue", "POST", {"queue": "", "reason": ""}, True, (302, 404, 200, 404, 200)),
    ("tickets:agent-ticket-tags", "POST", {"add": "x"}, True, (302, 404, 302, 404, 302)),
    ("tickets:agent-ticket-time", "POST", {"minutes": "5"}, True, (302, 404, 302, 404, 302)),
    ("tickets:agent-ticket-heartbeat", "POST", {"active": "1"}, True, (302, 404, 200, 404, 200)),
    ("tickets:agent-counts", "GET", None, False, (302, 404, 200, 200, 200)),
    ("tickets:agent-kb-suggest", "GET", None, False, (302, 404, 200, 200, 200)),
    (
        "tickets:agent-bulk",
        "POST",
        {"ids": ["1"], "action": "status", "status": "open"},
        False,
        (302, 404, 200, 200, 200),
    ),
    ("tickets:agent-saved-view-create", "POST", {"name": "x"}, False, (302, 404, 302, 302, 302)),
]


@pytest.fixture
def roles(queue, service_queue, agent, other_agent, manager, customer):
    ticket = ticket_make(queue=queue, requester=customer, subject="Matrix ticket")
    return {
        "anonymous": None,
        "owner": customer,
        "agent_a": agent,
        "agent_b": other_agent,
        "manager": manager,
    }, ticket


@pytest.mark.django_db
@pytest.mark.parametrize("role_index,role", list(enumerate(ROLES)))
def test_new_urls_role_matrix(client, roles, role_index, role):
    users, ticket = roles
    if users[role]:
        client.force_login(users[role])
    for name, method, data, with_ticket, expected in URLS:
        url = reverse(name, args=[ticket.pk]) if with_ticket else reverse(name)
        response = client.get(url) if method == "GET" else client.post(url, data or {})
        assert response.status_code == expected[role_index], (name, role, response.status_code)
        if expected[role_index] == 404:
            assert b"Matrix ticket" not in response.content
    # The saved-view delete of someone else's view is 404 for everyone.
    owner_view = SavedView.objects.create(owner=AgentFactory(), name="theirs")
    response = client.post(reverse("tickets:agent-saved-view-delete", args=[owner_view.pk]))
    assert response.status_code == (302 if role == "anonymous" else 404)
