"""Ticket operations of issue #14 x role x own/foreign ticket, on the page and
in the API, and the second object of link/unlink/split (docs/
workspace-ticket-page.md). Roles: the requester (customer), an agent of the
ticket's queue, an agent of another queue, a manager, an admin. Ticket "a"
is the customer's, in queue A (agent_a's); ticket "b" is another customer's,
in queue B (agent_b's). A ticket you may not see is a 404, never a 403."""

import pytest
from django.urls import reverse

from accounts.models import User
from tests.factories import AgentFactory, CustomerFactory, ManagerFactory, QueueFactory, UserFactory, ticket_make
from tickets import services
from tickets.models import Ticket

ROLES = ("customer", "agent_a", "agent_b", "manager", "admin")


@pytest.fixture
def world(db):
    qa = QueueFactory(slug="qa", name="A", kind="support")
    qb = QueueFactory(slug="qb", name="B", kind="service")
    users = {
        "customer": CustomerFactory(),
        "agent_a": AgentFactory(),
        "agent_b": AgentFactory(),
        "manager": ManagerFactory(),
        "admin": UserFactory(role=User.Role.ADMIN, email="root@acme.test"),
    }
    qa.members.add(users["agent_a"])
    qb.members.add(users["agent_b"])
    a = ticket_make(queue=qa, requester=users["customer"], subject="Own")
    b = ticket_make(queue=qb, requester=CustomerFactory(), subject="Foreign")
    return {"users": users, "a": a, "b": b, "qa": qa, "qb": qb}


def _prepare(op, ticket, world):
    """Each op's input on `ticket` (a second ticket in the same queue where
    one is needed, so only the ticket itself decides access)."""
    other = ticket_make(queue=ticket.queue, requester=ticket.requester, subject="Related")
    if op == "unlink":
        services.ticket_link(ticket_id=ticket.pk, other_id=other.pk, actor=None)
    if op == "restore":
        services.ticket_mark_spam(ticket_id=ticket.pk, actor=None)
    msg = services.message_post(ticket_id=ticket.pk, author=ticket.requester, body="Another thing")
    page = {
        "properties": {
            "prop-status": "open",
            "prop-priority": "high",
            "prop-queue": ticket.queue_id,
            "prop-tags": "",
            "prop-ccs": "",
        },
        "link": {"other": other.pk},
        "unlink": {"other": other.pk},
        "spam": {},
        "restore": {},
        "delete": {},
        "split": {"message": msg.pk},
    }.get(op)
    api = {
        "properties": {"priority": "high"},
        "link": {"ticket_id": other.pk},
        "unlink": {"ticket_id": other.pk},
        "ccs": {"emails": [ticket.requester.email]},
        "spam": {},
        "restore": {},
        "delete": {},
        "split": {"message_id": msg.pk},
    }[op]
    return page, api


# Expected page answers: (ticket a, ticket b) per role in ROLES order.
VISIBLE_A = {"customer": 404, "agent_a": 302, "agent_b": 404, "manager": 302, "admin": 302}
VISIBLE_B = {"customer": 404, "agent_a": 404, "agent_b": 302, "manager": 302, "admin": 302}
PAGE_OPS = ("properties", "link", "unlink", "spam", "restore", "delete", "split")


def _page_expected(op, key, role):
    code = (VISIBLE_A if key == "a" else VISIBLE_B)[role]
    if op == "delete" and code == 302 and role.startswith("agent"):
        return 403  # managers and admins only
    if op == "restore" and role == "customer":
        return 404
    return code


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", ["a", "b"])
@pytest.mark.parametrize("op", PAGE_OPS)
def test_page_operation_matrix(op, key, role, world, client):
    ticket = world[key]
    page_data, _ = _prepare(op, ticket, world)
    client.force_login(world["users"][role])
    response = client.post(reverse(f"tickets:agent-ticket-{op}", args=[ticket.pk]), page_data)
    assert response.status_code == _page_expected(op, key, role), (op, key, role)


# API: the customer sees their own ticket, so a staff command is 403 there.
API_A = {"customer": 403, "agent_a": 200, "agent_b": 404, "manager": 200, "admin": 200}
API_B = {"customer": 404, "agent_a": 404, "agent_b": 200, "manager": 200, "admin": 200}
API_OPS = ("properties", "link", "unlink", "ccs", "spam", "restore", "delete", "split")


def _api_expected(op, key, role):
    code = (API_A if key == "a" else API_B)[role]
    if op == "restore" and role == "customer":
        return 404  # a spam ticket is hidden from its requester
    if op == "delete" and code == 200 and role.startswith("agent"):
        return 403
    if op == "split" and code == 200:
        return 201
    return code


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", ["a", "b"])
@pytest.mark.parametrize("op", API_OPS)
def test_api_operation_matrix(op, key, role, world, api_client_for):
    ticket = world[key]
    _, api_data = _prepare(op, ticket, world)
    client = api_client_for(world["users"][role])
    response = client.post(reverse(f"api:ticket-{op}", args=[ticket.pk]), api_data, format="json")
    assert response.status_code == _api_expected(op, key, role), (op, key, role, response.content[:300])
    if response.status_code >= 400:
        assert response.json()["code"]


# --- the second ticket: both must be visible ----------------------------------------
# agent_a acts on a (visible) with b (in queue B, unseen) as the second ticket.
SECOND = {"agent_a": 400, "agent_b": 404, "manager": 200, "admin": 200, "customer": 403}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("op", ["link", "unlink"])
def test_link_target_must_be_visible_too(op, role, world, api_client_for):
    a, b = world["a"], world["b"]
    if op == "unlink":
        services.ticket_link(ticket_id=a.pk, other_id=b.pk, actor=None)
    client = api_client_for(world["users"][role])
    response = client.post(reverse(f"api:ticket-{op}", args=[a.pk]), {"ticket_id": b.pk}, format="json")
    assert response.status_code == SECOND[role], (op, role, response.content[:300])
    if response.status_code == 400:
        assert "ticket_id" in response.json()["details"]
        assert "Foreign" not in response.content.decode()  # the unseen subject never shows
        assert a.related.filter(pk=b.pk).exists() == (op == "unlink")


@pytest.mark.django_db
def test_page_link_to_unseen_ticket_refused_by_the_field(world, client):
    a, b = world["a"], world["b"]
    client.force_login(world["users"]["agent_a"])
    response = client.post(reverse("tickets:agent-ticket-link", args=[a.pk]), {"other": b.pk})
    html = response.content.decode()
    assert response.status_code == 400 and 'id="id_other-errors"' in html
    assert f"There is no ticket #{b.pk} that you can see." in html and "Foreign" not in html
    assert not a.related.exists()


@pytest.mark.django_db
def test_link_list_hides_tickets_the_viewer_cannot_see(world, client):
    """A manager linked a to b; agent_a sees a but never b's number or subject."""
    a, b = world["a"], world["b"]
    services.ticket_link(ticket_id=a.pk, other_id=b.pk, actor=world["users"]["manager"])
    client.force_login(world["users"]["agent_a"])
    html = client.get(reverse("tickets:agent-ticket-detail", args=[a.pk])).content.decode()
    links = html[html.index('id="links-panel"') : html.index('id="operations-panel"')]
    assert "Foreign" not in links and f"#{b.pk}" not in links


@pytest.mark.django_db
def test_split_of_a_message_on_an_unseen_ticket_is_refused(world, api_client_for):
    """agent_a may split a's messages only: a message id of b is a 400."""
    a, b = world["a"], world["b"]
    msg = services.message_post(ticket_id=b.pk, author=b.requester, body="B's secret")
    client = api_client_for(world["users"]["agent_a"])
    response = client.post(reverse("api:ticket-split", args=[a.pk]), {"message_id": msg.pk}, format="json")
    assert response.status_code == 400
    assert not Ticket.objects.filter(messages__body="B's secret").exclude(pk=b.pk).exists()


@pytest.mark.django_db
def test_properties_escalation_to_unworked_same_kind_queue_refused(world, api_client_for):
    """The panel's queue target is the policy's: a same-kind queue agent_a
    does not work in is a 400 on `queue`; nothing else of the save lands."""
    QueueFactory(slug="qc", name="C", kind="support")
    a = world["a"]
    client = api_client_for(world["users"]["agent_a"])
    response = client.post(
        reverse("api:ticket-properties", args=[a.pk]), {"queue": "qc", "priority": "urgent"}, format="json"
    )
    assert response.status_code == 400 and "queue" in response.json()["details"]
    assert Ticket.objects.get(pk=a.pk).priority == "normal"
