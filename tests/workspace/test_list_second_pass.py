"""#14, list side: bulk update of several properties in one action, "all
matching" (keyset batches, access per ticket), results inline; ticket
numbers open the ticket; search by requester name, e-mail, organisation;
highlights; recent searches; new ticket on behalf of a customer; one menu."""

import re
from collections import Counter
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from accounts.models import User
from tests.factories import AgentFactory, CustomerFactory, OrganisationFactory, QueueFactory, ticket_make
from tickets import workspace_services
from tickets.models import Ticket, TicketEvent

BULK = "/agent/tickets/bulk/"
K = TicketEvent.Kind


def _many(queue, n, *, requester, status="new", priority="normal", subject="Many"):
    now = timezone.now()
    Ticket.objects.bulk_create(
        [
            Ticket(
                subject=f"{subject} {i}",
                queue=queue,
                kind=queue.kind,
                requester=requester,
                status=status,
                priority=priority,
                created_at=now - timedelta(minutes=i),
                updated_at=now - timedelta(minutes=i),
                status_changed_at=now - timedelta(minutes=i),
            )
            for i in range(n)
        ]
    )
    return list(Ticket.objects.filter(queue=queue, subject__startswith=subject).order_by("pk"))


# --- bulk: several properties in one action ---------------------------------------------


@pytest.mark.django_db
def test_bulk_update_sets_status_priority_assignee_queue_and_tags_at_once(queue, agent, customer, client):
    """One POST, five properties, on every selected ticket; each change is
    its own event (the log stays the source of truth). Before: one action
    per property, a priority with the default action was refused."""
    other_support = QueueFactory(slug="hw", name="Hardware", kind="support")
    other_support.members.add(agent)
    tickets = [ticket_make(queue=queue, requester=customer, subject=f"Mixed {i}") for i in range(3)]
    client.force_login(agent)
    response = client.post(
        BULK,
        {
            "ids": [t.pk for t in tickets],
            "action": "update",
            "status": "pending",
            "priority": "high",
            "assignee": "me",
            "queue": other_support.pk,
            "tags": "vip, callback",
            "next": "/agent/tickets/?view=all",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "3 of 3 tickets updated" in page and 'id="bulk-outcome"' in page and 'id="filter-form"' in page
    for t in Ticket.objects.filter(pk__in=[t.pk for t in tickets]):
        assert (t.status, t.priority, t.assignee_id, t.queue_id) == ("pending", "high", agent.pk, other_support.pk)
        assert sorted(t.tags.values_list("name", flat=True)) == ["callback", "vip"]
        kinds = set(TicketEvent.objects.filter(ticket=t).values_list("kind", flat=True))
        assert {K.STATUS, K.PRIORITY, K.ASSIGNEE, K.TAGS, K.QUEUE} <= kinds


@pytest.mark.django_db
def test_bulk_update_is_all_or_nothing_per_ticket(queue, agent, customer, client):
    """A ticket refusing one change (closed: no status move) keeps all its
    properties; the others get every change. Its reason shows inline."""
    ok = ticket_make(queue=queue, requester=customer, subject="Fine")
    closed = ticket_make(queue=queue, requester=customer, subject="Done")
    Ticket.objects.filter(pk=closed.pk).update(status="closed")
    client.force_login(agent)
    response = client.post(
        BULK, {"ids": [ok.pk, closed.pk], "action": "update", "priority": "urgent", "status": "open"}
    )
    page = response.content.decode()
    assert "1 of 2 tickets updated, 1 failed" in page
    assert f'data-result="{closed.pk}"' in page
    assert Ticket.objects.get(pk=closed.pk).priority == "normal"
    assert Ticket.objects.get(pk=ok.pk).priority == "urgent"


@pytest.mark.django_db
def test_bulk_update_with_nothing_chosen_is_a_field_error(queue, agent, customer, client):
    t = ticket_make(queue=queue, requester=customer)
    client.force_login(agent)
    response = client.post(BULK, {"ids": [t.pk], "action": "update"})
    assert response.status_code == 400
    assert "Choose at least one property to change." in response.content.decode()


# --- bulk: all matching ------------------------------------------------------------------


@pytest.mark.django_db
def test_bulk_all_matching_walks_every_batch_and_leaves_other_queues_alone(
    queue, service_queue, agent, customer, client
):
    """`scope=matching` applies to every ticket of the list (here 230 New
    tickets, more than one 200-ticket batch), although the change itself
    takes each ticket out of the list (status filter New). Tickets in a
    queue the agent does not work in, matching the same filters, are
    untouched."""
    mine = _many(queue, 230, requester=customer, subject="Mine")
    foreign = _many(service_queue, 5, requester=customer, subject="Foreign")
    client.force_login(agent)
    query = urlencode({"view": "all", "status": "new"})
    response = client.post(
        BULK,
        {
            "scope": "matching",
            "query": query,
            "action": "update",
            "status": "open",
            "priority": "high",
            "next": f"/agent/tickets/?{query}",
        },
    )
    assert response.status_code == 200
    assert "230 of 230 tickets updated" in response.content.decode()
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in mine]).values_list("status", "priority")) == {
        ("open", "high")
    }
    assert set(Ticket.objects.filter(pk__in=[t.pk for t in foreign]).values_list("status", "priority")) == {
        ("new", "normal")
    }
    assert not TicketEvent.objects.filter(ticket__in=foreign).exists()


@pytest.mark.django_db
def test_bulk_matching_service_rechecks_access_of_each_ticket(queue, service_queue, agent, customer):
    """Whatever queryset a caller passes, each ticket goes through the
    access rule: foreign tickets come back "not found", unchanged."""
    mine = ticket_make(queue=queue, requester=customer)
    foreign = ticket_make(queue=service_queue, requester=customer)
    results, truncated = workspace_services.tickets_bulk_apply_matching(
        user=agent, tickets=Ticket.objects.all(), action="update", value={"priority": "low"}
    )
    assert not truncated
    assert {r.ticket_id: (r.ok, r.message) for r in results}[foreign.pk] == (False, "not found")
    assert Ticket.objects.get(pk=foreign.pk).priority == "normal"
    assert Ticket.objects.get(pk=mine.pk).priority == "low"


@pytest.mark.django_db
def test_bulk_matching_refuses_merge(queue, agent, customer, client):
    t = ticket_make(queue=queue, requester=customer)
    client.force_login(agent)
    response = client.post(BULK, {"scope": "matching", "query": "view=all", "action": "merge", "merge_target": t.pk})
    assert response.status_code == 400
    assert "Merge works on selected tickets only." in response.content.decode()


@pytest.mark.django_db
def test_match_count_counts_only_visible_tickets(queue, service_queue, agent, customer, client):
    _many(queue, 7, requester=customer, subject="Seen")
    _many(service_queue, 4, requester=customer, subject="Unseen")
    client.force_login(agent)
    assert client.get("/agent/tickets/count/?view=all").content == b"7"


# --- the list page: unique ids, labels -----------------------------------------------------


@pytest.mark.django_db
def test_list_page_has_unique_ids_and_every_bulk_control_labelled(queue, agent, customer, client):
    """Before: `id_status`, `id_priority`, `id_assignee`, `id_tags` twice
    (filters and bulk bar) and an unlabelled bulk action select."""
    ticket_make(queue=queue, requester=customer)
    client.force_login(agent)
    html = client.get("/agent/tickets/?view=all").content.decode()
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert [i for i, n in ids.items() if n > 1] == []
    bulk = html[html.index('id="bulk-form"') : html.index('id="results"')]
    for control in re.findall(r'<select[^>]*id="([^"]+)"', bulk):
        assert f'for="{control}"' in bulk, control


# --- search ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("q", ["#{pk}", "{pk}", " #{pk} "])
def test_ticket_number_opens_the_ticket(q, queue, agent, customer, client):
    ticket = ticket_make(queue=queue, requester=customer)
    client.force_login(agent)
    response = client.get("/agent/tickets/", {"q": q.format(pk=ticket.pk)})
    assert response.status_code == 302 and response.url == f"/agent/tickets/{ticket.pk}/"


@pytest.mark.django_db
def test_number_of_an_unseen_ticket_stays_on_the_list(service_queue, agent, customer, client):
    hidden = ticket_make(queue=service_queue, requester=customer, subject="Other team secret")
    client.force_login(agent)
    response = client.get("/agent/tickets/", {"q": f"#{hidden.pk}"})
    assert response.status_code == 200
    assert "Other team secret" not in response.content.decode()


@pytest.mark.django_db
def test_search_by_requester_name_email_and_organisation(queue, service_queue, agent, client):
    """#14: "walker" found nothing. Now the requester's name, a part of
    their e-mail and their organisation's name find their tickets (only
    in the agent's queues)."""
    acme = OrganisationFactory(name="Acme Rockets")
    walker = CustomerFactory(name="Sam Walker", email="sam.w@rockets.example", organisation=acme)
    other = CustomerFactory(name="Jo Smith", email="jo@elsewhere.example")
    hit = ticket_make(queue=queue, requester=walker, subject="Cannot print")
    miss = ticket_make(queue=queue, requester=other, subject="Cannot scan")
    hidden = ticket_make(queue=service_queue, requester=walker, subject="Refund please")
    client.force_login(agent)
    for q in ("walker", "WALKER", "rockets.example", "acme"):
        page = client.get("/agent/tickets/", {"view": "all", "q": q}).context["page"]
        assert [t.pk for t in page.items] == [hit.pk], q
    assert miss.pk and hidden.pk


@pytest.mark.django_db
def test_search_highlights_the_matched_words(queue, agent, customer, client):
    ticket_make(queue=queue, requester=customer, subject="Printer <jams> daily")
    client.force_login(agent)
    html = client.get("/agent/tickets/", {"view": "all", "q": "printer"}).content.decode()
    assert "<mark>Printer</mark> &lt;jams&gt; daily" in html


@pytest.mark.django_db
def test_recent_searches_are_kept_per_user(queue, agent, customer, client):
    ticket_make(queue=queue, requester=customer, subject="Printer")
    client.force_login(agent)
    for q in ("printer", "refund", "Printer"):
        client.get("/agent/tickets/", {"view": "all", "q": q})
    html = client.get("/agent/tickets/?view=all").content.decode()
    nav = html[html.index('aria-label="Recent searches"') :][:600]
    nav = nav[: nav.index("</nav>")]
    assert nav.index("Printer") < nav.index("refund") and nav.count(">Printer<") == 1 and "printer" not in nav
    colleague = AgentFactory()
    queue.members.add(colleague)
    client.force_login(colleague)
    assert 'aria-label="Recent searches"' not in client.get("/agent/tickets/?view=all").content.decode()


# --- new ticket on behalf of a customer -----------------------------------------------------

NEW = "/agent/tickets/new/"


@pytest.mark.django_db
def test_agent_opens_a_phone_ticket_for_an_existing_customer(queue, agent, customer, client):
    client.force_login(agent)
    response = client.post(
        NEW,
        {
            "how": "phone",
            "requester_email": customer.email.upper(),
            "queue": queue.pk,
            "subject": "Called about the printer",
            "body": "Says it jams.",
            "priority": "normal",
        },
    )
    ticket = Ticket.objects.get(subject="Called about the printer")
    assert response.status_code == 302 and response.url == f"/agent/tickets/{ticket.pk}/"
    assert (ticket.requester_id, ticket.channel, ticket.status) == (customer.pk, "phone", "new")
    created = TicketEvent.objects.get(ticket=ticket, kind=K.CREATED)
    assert created.actor_id == agent.pk


@pytest.mark.django_db
def test_outbound_follow_up_creates_the_customer_in_a_service_queue(queue, service_queue, agent, client):
    service_queue.members.add(agent)
    client.force_login(agent)
    data = {
        "how": "outbound",
        "requester_email": "new.person@example.org",
        "requester_name": "New Person",
        "queue": queue.pk,
        "subject": "Your order",
        "body": "We noticed a delay.",
        "priority": "normal",
    }
    refused = client.post(NEW, data)
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "choose a service queue" in html and "Tick “Create the customer”" not in html
    no_account = client.post(NEW, {**data, "queue": service_queue.pk})
    assert "No customer with this e-mail." in no_account.content.decode()
    assert not User.objects.filter(email="new.person@example.org").exists()
    done = client.post(NEW, {**data, "queue": service_queue.pk, "create_customer": "on"})
    ticket = Ticket.objects.get(subject="Your order")
    assert done.status_code == 302
    person = ticket.requester
    assert (person.email, person.name, person.role, person.has_usable_password()) == (
        "new.person@example.org",
        "New Person",
        "customer",
        False,
    )
    assert (ticket.kind, ticket.channel, ticket.status) == ("service", "agent", "pending")


@pytest.mark.django_db
def test_new_ticket_in_a_foreign_queue_is_refused(queue, service_queue, agent, customer, client):
    client.force_login(agent)
    response = client.post(
        NEW,
        {
            "how": "phone",
            "requester_email": customer.email,
            "queue": service_queue.pk,
            "subject": "Sneaky",
            "body": "x",
            "priority": "normal",
        },
    )
    assert response.status_code == 400 and not Ticket.objects.filter(subject="Sneaky").exists()


@pytest.mark.django_db
def test_customer_picker_is_staff_only_and_finds_by_name(agent, customer, client):
    CustomerFactory(name="Sam Walker", email="sam@walker.example")
    client.force_login(customer)
    assert client.get("/agent/customers/?q=walker").status_code == 404
    assert client.get(NEW).status_code == 404
    client.force_login(agent)
    html = client.get("/agent/customers/?q=walk").content.decode()
    assert 'data-pick-email="sam@walker.example"' in html


# --- layout ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/agent/tickets/", "/manager/dashboard/", "/agent/my-stats/"])
def test_one_menu_without_duplicates_for_managers(url, manager, client):
    """Before: the dashboard added Dashboard and My stats a second time."""
    client.force_login(manager)
    html = client.get(url).content.decode()
    nav = html[html.index('<nav class="mainnav">') : html.index("</nav>", html.index('<nav class="mainnav">'))]
    hrefs = re.findall(r'href="([^"]+)"', nav)
    assert hrefs and len(hrefs) == len(set(hrefs)), hrefs


@pytest.mark.django_db
def test_favicon(client, agent):
    client.force_login(agent)
    assert 'rel="icon"' in client.get("/agent/tickets/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.url.endswith("favicon.svg")


# --- role x own/foreign matrix of the new list-side URLs -------------------------------------

ROLES = ("anonymous", "owner", "agent_a", "agent_b", "manager")
#                                        anon owner agent_a agent_b manager
MATCH_COUNT = ((302, None), (404, None), (200, b"1"), (200, b"0"), (200, b"1"))
PICKER_AND_FORM = (302, 404, 200, 200, 200)
CREATE_IN_QUEUE_A = (302, 404, 302, 400, 302)
# bulk "all matching" on view=all: (status, matrix ticket changed?)
BULK_MATCHING = ((302, False), (404, False), (200, True), (200, False), (200, True))


@pytest.mark.django_db
@pytest.mark.parametrize("role_index,role", list(enumerate(ROLES)))
def test_list_urls_role_matrix(client, queue, service_queue, agent, other_agent, manager, customer, role_index, role):
    """Agent B (another queue) counts 0, cannot create in queue A and
    changes nothing with "all matching"; customers get 404; managers all."""
    ticket = ticket_make(queue=queue, requester=customer, subject="Matrix ticket")
    users = {"anonymous": None, "owner": customer, "agent_a": agent, "agent_b": other_agent, "manager": manager}
    if users[role]:
        client.force_login(users[role])
    status, body = MATCH_COUNT[role_index]
    response = client.get("/agent/tickets/count/?view=all")
    assert response.status_code == status and (body is None or response.content == body), role
    assert client.get("/agent/customers/?q=cu").status_code == PICKER_AND_FORM[role_index]
    assert client.get(NEW).status_code == PICKER_AND_FORM[role_index]
    created = client.post(
        NEW,
        {
            "how": "phone",
            "requester_email": customer.email,
            "queue": queue.pk,
            "subject": "Matrix phone",
            "body": "x",
            "priority": "normal",
        },
    )
    assert created.status_code == CREATE_IN_QUEUE_A[role_index], role
    made = CREATE_IN_QUEUE_A[role_index] == 302 and role != "anonymous"  # anonymous: 302 to log in
    assert Ticket.objects.filter(subject="Matrix phone").exists() == made
    status, changed = BULK_MATCHING[role_index]
    response = client.post(BULK, {"scope": "matching", "query": "view=all", "action": "update", "priority": "urgent"})
    assert response.status_code == status, role
    assert (Ticket.objects.get(pk=ticket.pk).priority == "urgent") == changed, role
    if status == 404:
        assert b"Matrix ticket" not in response.content
