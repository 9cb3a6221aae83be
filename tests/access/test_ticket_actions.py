"""Every object an action touches is checked, on every path (issues #14,
#21): merge targets, assignees, destination queues, customers' status moves,
and `next` back links."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from helpdesk.lib.exceptions import NotFound
from tests.factories import AgentFactory, QueueFactory, ticket_make
from tickets import services
from tickets.models import Message, Ticket, TicketEvent

SECRET = "customer-A-private-detail-5c1e"
BULK = "/agent/tickets/bulk/"


@pytest.fixture
def leak_world(queue, service_queue, agent, customer, other_customer):
    """`source`: customer A's ticket in the agent's queue, with a private
    detail; `hidden`: customer B's ticket in a queue the agent cannot see."""
    source = ticket_make(queue=queue, requester=customer, subject="My account", body=SECRET)
    hidden = ticket_make(queue=service_queue, requester=other_customer, subject="B's ticket")
    return source, hidden


def _b_sees_secret(api_client_for, other_customer, hidden) -> bool:
    response = api_client_for(other_customer).get(reverse("api:ticket-messages", kwargs={"pk": hidden.pk}))
    assert response.status_code == 200
    return SECRET in response.content.decode()


# --- 1. merge targets ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("confirm", [False, True], ids=["confirm-page", "confirmed"])
def test_bulk_merge_into_unseen_ticket_is_refused(confirm, leak_world, agent, other_customer, client, api_client_for):
    """#14: an agent cannot bulk-merge into a ticket of a queue they cannot
    see, so that ticket's customer never reads the source's messages. The
    list page comes back with the error next to "Merge into"."""
    source, hidden = leak_world
    client.force_login(agent)
    data = {"ids": [source.pk], "action": "merge", "merge_target": hidden.pk}
    if confirm:
        data["confirm"] = "on"
    response = client.post(BULK, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="bulk-form"' in page and 'data-field="merge_target"' in page
    assert f"There is no ticket #{hidden.pk} that you can see." in page
    assert "B&#x27;s ticket" not in page and "B's ticket" not in page
    source.refresh_from_db()
    assert source.merged_into_id is None and source.status != Ticket.Status.CLOSED
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.MERGED_FROM, ticket=hidden).exists()
    assert not _b_sees_secret(api_client_for, other_customer, hidden)


@pytest.mark.django_db
def test_bulk_apply_service_checks_the_target_too(leak_world, agent):
    """The bulk service itself refuses (whatever view calls it)."""
    from tickets import policy, workspace_services

    source, hidden = leak_world
    with pytest.raises(policy.Refused) as exc:
        workspace_services.tickets_bulk_apply(user=agent, ticket_ids=[source.pk], action="merge", value=hidden.pk)
    assert exc.value.field == "merge_target"
    assert Ticket.objects.get(pk=source.pk).merged_into_id is None


@pytest.mark.django_db
def test_api_merge_into_unseen_ticket_is_refused(leak_world, agent, other_customer, api_client_for):
    """The single-ticket merge (API) applies the same rule: 400 on target_id."""
    source, hidden = leak_world
    url = reverse("api:ticket-merge", kwargs={"pk": source.pk})
    response = api_client_for(agent).post(url, {"target_id": hidden.pk}, format="json")
    assert response.status_code == 400
    assert "target_id" in response.json()["details"]
    assert not _b_sees_secret(api_client_for, other_customer, hidden)


@pytest.mark.django_db
@pytest.mark.parametrize("confirm", [False, True], ids=["confirm-page", "confirmed"])
def test_bulk_merge_into_missing_number_is_a_field_error(confirm, leak_world, agent, client):
    """Merging into a number that does not exist: a clear error, not a 500."""
    source, _ = leak_world
    client.force_login(agent)
    data = {"ids": [source.pk], "action": "merge", "merge_target": 99999999}
    if confirm:
        data["confirm"] = "on"
    response = client.post(BULK, data)
    assert response.status_code == 400
    assert "There is no ticket #99999999 that you can see." in response.content.decode()
    assert Ticket.objects.get(pk=source.pk).merged_into_id is None


@pytest.mark.django_db
def test_merge_service_names_a_missing_ticket(leak_world, agent):
    """The service answers NotFound (404) for a missing id, never KeyError."""
    source, _ = leak_world
    with pytest.raises(NotFound):
        services.ticket_merge(source_id=source.pk, target_id=99999999, actor=agent)


@pytest.mark.django_db
def test_api_merge_into_missing_number_is_400(leak_world, agent, api_client_for):
    source, _ = leak_world
    url = reverse("api:ticket-merge", kwargs={"pk": source.pk})
    response = api_client_for(agent).post(url, {"target_id": 99999999}, format="json")
    assert response.status_code == 400 and "target_id" in response.json()["details"]


@pytest.mark.django_db
def test_bulk_merge_into_a_visible_ticket_still_works(queue, agent, customer, client):
    a = ticket_make(queue=queue, requester=customer, subject="Dup 1")
    b = ticket_make(queue=queue, requester=customer, subject="Dup 2")
    client.force_login(agent)
    response = client.post(BULK, {"ids": [a.pk], "action": "merge", "merge_target": b.pk, "confirm": "on"})
    assert response.status_code == 200 and f"merged into #{b.pk}" in response.content.decode()
    assert Ticket.objects.get(pk=a.pk).merged_into_id == b.pk


# --- bulk form errors on the list page -------------------------------------------------


@pytest.mark.django_db
def test_bulk_priority_chosen_with_assign_action_shows_field_error_on_list(queue, agent, customer, client):
    """#14: choosing only a priority while the action is still "Assign" is
    shown on the list page next to the field, with a hint, not a bare 400."""
    ticket = ticket_make(queue=queue, requester=customer, subject="Keep me selected")
    client.force_login(agent)
    response = client.post(
        BULK, {"ids": [ticket.pk], "action": "assign", "priority": "high", "next": "/agent/tickets/?view=all"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="bulk-form"' in page and "Keep me selected" in page  # the list itself
    assert 'data-field="assignee"' in page and "Choose who to assign." in page
    assert "pick “Set priority” as the action" in page
    assert f'value="{ticket.pk}" aria-label="Select #{ticket.pk}" checked' in page
    assert Ticket.objects.get(pk=ticket.pk).priority == Ticket.Priority.NORMAL


# --- 2. assignees --------------------------------------------------------------------


@pytest.mark.django_db
def test_bulk_assign_checks_each_tickets_queue(queue, service_queue, agent, manager, customer, client):
    """An agent of the support queue cannot be bulk-assigned a billing
    ticket; the support ticket in the same batch is assigned."""
    tech = ticket_make(queue=queue, requester=customer, subject="Tech")
    billing = ticket_make(queue=service_queue, requester=customer, subject="Billing")
    client.force_login(manager)
    response = client.post(BULK, {"ids": [tech.pk, billing.pk], "action": "assign", "assignee": str(agent.pk)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 of 2 tickets updated, 1 failed" in page
    assert "is not an active agent of the queue Billing" in page
    assert Ticket.objects.get(pk=tech.pk).assignee_id == agent.pk
    assert Ticket.objects.get(pk=billing.pk).assignee_id is None


@pytest.mark.django_db
def test_api_assign_to_staff_outside_the_queue_is_refused(queue, agent, other_agent, customer, api_client_for):
    """#21: the API no longer accepts any staff user."""
    ticket = ticket_make(queue=queue, requester=customer)
    url = reverse("api:ticket-assign", kwargs={"pk": ticket.pk})
    response = api_client_for(agent).post(url, {"assignee_id": other_agent.pk}, format="json")
    assert response.status_code == 400
    assert "assignee_id" in response.json()["details"]
    assert Ticket.objects.get(pk=ticket.pk).assignee_id is None
    ok = api_client_for(agent).post(url, {"assignee_id": agent.pk}, format="json")
    assert ok.status_code == 200 and ok.json()["assignee"]["id"] == agent.pk


@pytest.mark.django_db
def test_page_and_api_offer_the_same_assignees(queue, agent, other_agent, manager, customer, client, api_client_for):
    """One rule: every staff user the page refuses, the API refuses."""
    colleague = AgentFactory()
    queue.members.add(colleague)
    for candidate, allowed in ((agent, True), (colleague, True), (other_agent, False), (manager, False)):
        t1 = ticket_make(queue=queue, requester=customer)
        t2 = ticket_make(queue=queue, requester=customer)
        client.force_login(agent)
        page = client.post(reverse("tickets:agent-ticket-assign", args=[t1.pk]), {"assignee": candidate.pk})
        api = api_client_for(agent).post(
            reverse("api:ticket-assign", kwargs={"pk": t2.pk}), {"assignee_id": candidate.pk}, format="json"
        )
        assert (page.status_code == 302, api.status_code == 200) == (allowed, allowed), candidate


# --- 2. queues ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_page_and_api_share_the_escalation_targets(queue, service_queue, agent, customer, client, api_client_for):
    """#21: an agent may move a ticket to their own queues or escalate it to
    a queue of the other kind; a same-kind queue they do not work in is
    refused by the page and the API alike (before: the API took any)."""
    foreign_support = QueueFactory(slug="hardware", name="Hardware", kind="support")
    for target, allowed in ((service_queue, True), (foreign_support, False)):
        t1 = ticket_make(queue=queue, requester=customer)
        t2 = ticket_make(queue=queue, requester=customer)
        client.force_login(agent)
        page = client.post(
            reverse("tickets:agent-ticket-queue", args=[t1.pk]), {"queue": target.pk, "reason": "needs them"}
        )
        api = api_client_for(agent).post(
            reverse("api:ticket-escalate", kwargs={"pk": t2.pk}),
            {"queue": target.slug, "reason": "needs them"},
            format="json",
        )
        assert page.status_code == (302 if allowed else 200), target
        assert api.status_code == (200 if allowed else 400), (target, api.json())
        moved = {Ticket.objects.get(pk=t.pk).queue_id == target.pk for t in (t1, t2)}
        assert moved == {allowed}
        if not allowed:
            assert "queue" in api.json()["details"]


# --- 2. customers' status moves --------------------------------------------------------------


@pytest.mark.django_db
def test_customer_cannot_reopen_by_status_change(queue, agent, customer, api_client_for):
    """#21: reopening is by replying; a bare transition to open is a 409."""
    ticket = ticket_make(queue=queue, requester=customer)
    services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    url = reverse("api:ticket-transition", kwargs={"pk": ticket.pk})
    response = api_client_for(customer).post(url, {"status": "open"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.SOLVED
    reply = api_client_for(customer).post(
        reverse("api:ticket-reply", kwargs={"pk": ticket.pk}), {"body": "Still broken"}, format="json"
    )
    assert reply.status_code == 201
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.OPEN
    assert Message.objects.filter(ticket=ticket, body="Still broken").exists()


# --- 3. next / back links -------------------------------------------------------------------------


EVIL_NEXT = ["//evil.example/", "/\\evil.example/", "https://evil.example/", "javascript:alert(1)"]


@pytest.mark.django_db
@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_bulk_result_back_link_never_leaves_the_site(evil, queue, agent, customer, client):
    """#21: the bulk result page rendered `next=//evil.example/` as its back link."""
    ticket = ticket_make(queue=queue, requester=customer)
    client.force_login(agent)
    response = client.post(BULK, {"ids": [ticket.pk], "action": "priority", "priority": "high", "next": evil})
    assert response.status_code == 200
    page = response.content.decode()
    assert "evil.example" not in page and "javascript:" not in page
    assert 'href="/agent/tickets/">Back to the list' in page


@pytest.mark.django_db
def test_bulk_result_keeps_a_local_next(queue, agent, customer, client):
    ticket = ticket_make(queue=queue, requester=customer)
    client.force_login(agent)
    response = client.post(
        BULK, {"ids": [ticket.pk], "action": "priority", "priority": "high", "next": "/agent/tickets/?view=mine"}
    )
    assert 'href="/agent/tickets/?view=mine">Back to the list' in response.content.decode()


def test_safe_next_url_requires_https_on_a_secure_request(settings):
    """Over HTTPS an http:// link to the same host is refused too."""
    from helpdesk.lib.redirects import safe_next_url

    settings.ALLOWED_HOSTS = ["help.example"]
    factory = RequestFactory()
    secure = factory.get("/", secure=True, HTTP_HOST="help.example")
    plain = factory.get("/", HTTP_HOST="help.example")
    assert safe_next_url(secure, "http://help.example/x", "/") == "/"
    assert safe_next_url(secure, "https://help.example/x", "/") == "https://help.example/x"
    assert safe_next_url(plain, "http://help.example/x", "/") == "http://help.example/x"
    assert safe_next_url(plain, "//evil.example/", None) is None


# --- 6. KB links -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_kb_links_lists_matching_articles(agent, manager, client):
    """#14: the partial answered 500 whenever an article matched."""
    from knowledge_base import services as kb_services

    article = kb_services.article_create(title="Printer troubleshooting", body="Turn it off and on.", actor=manager)
    kb_services.article_publish(article_id=article.pk, actor=manager)
    client.force_login(agent)
    response = client.get(reverse("tickets:agent-kb-suggest"), {"kb": "printer"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Printer troubleshooting" in page
    assert reverse("knowledge_base:article", args=[article.slug]) in page
