"""Every page URL x every role x own/foreign ticket answers the expected code.

Roles: anonymous, owner (requester of ticket "a"), other_customer (requester
of ticket "b"), agent_a (member of a's queue), agent_b (member of b's queue),
manager (all queues). A ticket the user may not see answers 404, never 403.
"""

import pytest
from django.urls import reverse

from tests.views.conftest import INTERNAL_TOKEN

ROLES = ("anonymous", "owner", "other_customer", "agent_a", "agent_b", "manager")
LOGIN = "/accounts/login/"

# (url name, method, POST data): pages without a ticket.
PLAIN = {
    "home": ("GET", None),
    "accounts:login": ("GET", None),
    "accounts:signup": ("GET", None),
    "tickets:agent-ticket-list": ("GET", None),
    "tickets:customer-ticket-list": ("GET", None),
    "tickets:customer-ticket-create": ("GET", None),
    # The language switcher (docs/languages.md): anyone, back to `next`.
    "set_language": ("POST", {"language": "de", "next": "/accounts/login/"}),
}
PLAIN_EXPECTED = {
    #                                anonymous owner other_c agent_a agent_b manager
    "home": (302, 302, 302, 302, 302, 302),
    "accounts:login": (200, 302, 302, 302, 302, 302),
    "accounts:signup": (200, 302, 302, 302, 302, 302),
    "tickets:agent-ticket-list": (302, 404, 404, 200, 200, 200),
    "tickets:customer-ticket-list": (302, 200, 200, 302, 302, 302),
    "tickets:customer-ticket-create": (302, 200, 200, 302, 302, 302),
    "set_language": (302, 302, 302, 302, 302, 302),
}

# Pages about one ticket: (method, POST data).
TICKET_PAGES = {
    "tickets:agent-ticket-detail": ("GET", None),
    "tickets:agent-ticket-reply": ("POST", {"body": "On it", "visibility": "public"}),
    "tickets:agent-ticket-transition": ("POST", {"target": "open"}),
    "tickets:agent-ticket-assign": ("POST", {"assignee": "me"}),
    "tickets:agent-ticket-priority": ("POST", {"priority": "high"}),
    # Issue #14's page endpoints not in tests/access/test_ticket_operations.py:
    # the timeline filter (htmx partial) and the undo (nothing to undo: 409).
    "tickets:agent-ticket-timeline": ("GET", None),
    "tickets:agent-ticket-properties-undo": ("POST", {"after": "0"}),
    "tickets:customer-ticket-detail": ("GET", None),
    "tickets:customer-ticket-reply": ("POST", {"body": "Any news?"}),
    "tickets:customer-ticket-solve": ("POST", {}),
}
# Expected codes on ticket "a" (owner's, in agent_a's queue) and ticket "b"
# (other_customer's, in agent_b's queue), per role in ROLES order.
TICKET_EXPECTED = {
    #                                         anonymous owner other_c agent_a agent_b manager
    ("tickets:agent-ticket-detail", "a"): (302, 404, 404, 200, 404, 200),
    ("tickets:agent-ticket-detail", "b"): (302, 404, 404, 404, 200, 200),
    ("tickets:agent-ticket-reply", "a"): (302, 404, 404, 302, 404, 302),
    ("tickets:agent-ticket-reply", "b"): (302, 404, 404, 404, 302, 302),
    ("tickets:agent-ticket-transition", "a"): (302, 404, 404, 302, 404, 302),
    ("tickets:agent-ticket-transition", "b"): (302, 404, 404, 404, 302, 302),
    ("tickets:agent-ticket-assign", "a"): (302, 404, 404, 302, 404, 302),
    ("tickets:agent-ticket-assign", "b"): (302, 404, 404, 404, 302, 302),
    ("tickets:agent-ticket-priority", "a"): (302, 404, 404, 302, 404, 302),
    ("tickets:agent-ticket-priority", "b"): (302, 404, 404, 404, 302, 302),
    ("tickets:agent-ticket-timeline", "a"): (302, 404, 404, 200, 404, 200),
    ("tickets:agent-ticket-timeline", "b"): (302, 404, 404, 404, 200, 200),
    ("tickets:agent-ticket-properties-undo", "a"): (302, 404, 404, 409, 404, 409),
    ("tickets:agent-ticket-properties-undo", "b"): (302, 404, 404, 404, 409, 409),
    # Staff opening a portal ticket page are sent to the agent page (which
    # applies its own check); portal writes are customers' only.
    ("tickets:customer-ticket-detail", "a"): (302, 200, 404, 302, 302, 302),
    ("tickets:customer-ticket-detail", "b"): (302, 404, 200, 302, 302, 302),
    ("tickets:customer-ticket-reply", "a"): (302, 302, 404, 404, 404, 404),
    ("tickets:customer-ticket-reply", "b"): (302, 404, 302, 404, 404, 404),
    ("tickets:customer-ticket-solve", "a"): (302, 302, 404, 404, 404, 404),
    ("tickets:customer-ticket-solve", "b"): (302, 404, 302, 404, 404, 404),
    ("attachment:public", "a"): (302, 200, 404, 200, 404, 200),
    ("attachment:public", "b"): (302, 404, 200, 404, 200, 200),
    ("attachment:internal", "a"): (302, 404, 404, 200, 404, 200),
    ("attachment:internal", "b"): (302, 404, 404, 404, 200, 200),
}

PLAIN_CASES = [
    pytest.param(name, role, PLAIN_EXPECTED[name][i], id=f"{name}-{role}")
    for name in PLAIN
    for i, role in enumerate(ROLES)
]
TICKET_CASES = [
    pytest.param(name, key, role, codes[i], id=f"{name}-{key}-{role}")
    for (name, key), codes in TICKET_EXPECTED.items()
    for i, role in enumerate(ROLES)
]


def _assert_redirect_target(response, role):
    if role == "anonymous":
        assert response["Location"].startswith(LOGIN), response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role", "expected"), PLAIN_CASES)
def test_plain_page(world, client_for, name, role, expected):
    """Pages without a ticket: login required, agent pages are staff only."""
    client = client_for(world.users[role])
    method, data = PLAIN[name]
    response = client.get(reverse(name)) if method == "GET" else client.post(reverse(name), data)
    assert response.status_code == expected
    if expected == 302:
        _assert_redirect_target(response, role)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "key", "role", "expected"), TICKET_CASES)
def test_ticket_page(world, client_for, name, key, role, expected):
    """Ticket pages and files: 200/302 when visible, 404 otherwise, login first."""
    client = client_for(world.users[role])
    ticket = world.tickets[key]
    if name.startswith("attachment:"):
        files = world.public_file if name.endswith("public") else world.internal_file
        url = reverse("tickets:attachment-download", args=[files[key].pk])
        response = client.get(url)
    else:
        method, data = TICKET_PAGES[name]
        url = reverse(name, args=[ticket.pk])
        response = client.get(url) if method == "GET" else client.post(url, data)
    assert response.status_code == expected, (url, role)
    if expected == 302:
        _assert_redirect_target(response, role)
    if expected == 404:
        assert ticket.subject.encode() not in response.content
    if role in ("owner", "other_customer"):
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert INTERNAL_TOKEN.encode() not in body
        assert body != b"internal"  # the internal file's bytes


@pytest.mark.django_db
def test_home_redirects_by_role(world, client_for):
    """`/` sends staff to the agent list and customers to My requests."""
    expected = {
        "anonymous": LOGIN,
        "owner": "/portal/",
        "agent_a": "/agent/tickets/",
        "manager": "/agent/tickets/",
    }
    for role, target in expected.items():
        response = client_for(world.users[role]).get("/")
        assert response.status_code == 302
        assert response["Location"] == target, role


@pytest.mark.django_db
def test_customer_pages_never_show_internal_notes(world, client_for):
    """Walk every page a customer can reach: no internal note text, no
    internal attachment name, no agent-only event."""
    for role, key in (("owner", "a"), ("other_customer", "b")):
        client = client_for(world.users[role])
        ticket = world.tickets[key]
        for url in (
            "/portal/",
            reverse("tickets:customer-ticket-detail", args=[ticket.pk]),
            reverse("tickets:customer-ticket-create"),
        ):
            response = client.get(url)
            assert response.status_code == 200
            assert INTERNAL_TOKEN.encode() not in response.content
            assert b"secret.txt" not in response.content
            assert b"Internal note" not in response.content
        # The public description is shown, so the page is really rendering.
        detail = client.get(reverse("tickets:customer-ticket-detail", args=[ticket.pk]))
        assert b"Public description" in detail.content
        assert b"log.txt" in detail.content


@pytest.mark.django_db
def test_agent_sees_internal_note_distinctly(world, client_for):
    response = client_for(world.users["agent_a"]).get(
        reverse("tickets:agent-ticket-detail", args=[world.tickets["a"].pk])
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert INTERNAL_TOKEN in content
    assert "msg-internal" in content and "Internal note" in content


@pytest.mark.django_db
@pytest.mark.parametrize("shares", [True, False])
def test_org_shared_tickets(world, client_for, shares):
    """An organisation member sees a colleague's ticket only when the
    organisation shares tickets; outsiders never do."""
    from tests.factories import CustomerFactory, OrganisationFactory, ticket_make

    org = OrganisationFactory(shares_tickets=shares)
    alice = CustomerFactory(organisation=org)
    bob = CustomerFactory(organisation=org)
    ticket = ticket_make(queue=world.tickets["a"].queue, requester=alice, subject="Shared invoice question")
    assert ticket.organisation_id == org.pk

    bob_client = client_for(bob)
    detail = bob_client.get(reverse("tickets:customer-ticket-detail", args=[ticket.pk]))
    listing = bob_client.get("/portal/")
    if shares:
        assert detail.status_code == 200
        assert b"Shared invoice question" in listing.content
    else:
        assert detail.status_code == 404
        assert b"Shared invoice question" not in listing.content

    outsider = client_for(world.users["other_customer"])
    assert outsider.get(reverse("tickets:customer-ticket-detail", args=[ticket.pk])).status_code == 404
    assert b"Shared invoice question" not in outsider.get("/portal/").content


# Bulk merge of ticket "a" into ticket "b" (another queue, another customer):
# both tickets are checked. agent_a cannot see b (400, the error on the list
# page), agent_b cannot see a ("not found" in the summary, nothing merged);
# only the manager, who sees both, merges.
#                    anonymous owner other_c agent_a agent_b manager
BULK_MERGE_EXPECTED = (302, 404, 404, 400, 200, 200)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_bulk_merge_checks_source_and_target(world, client_for, role):
    a, b = world.tickets["a"], world.tickets["b"]
    data = {"ids": [a.pk], "action": "merge", "merge_target": b.pk, "confirm": "on"}
    response = client_for(world.users[role]).post(reverse("tickets:agent-bulk"), data)
    assert response.status_code == BULK_MERGE_EXPECTED[ROLES.index(role)], role
    a.refresh_from_db()
    assert (a.merged_into_id == b.pk) == (role == "manager")
