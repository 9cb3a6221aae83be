"""Settings → Macros: page and API share one validation; who may change
which macro; the live preview is escaped exactly as a posted reply."""

import html

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from tests.factories import AgentFactory, CustomerFactory, UserFactory, ticket_make
from tickets import macros
from tickets.models import Macro, Ticket

pytestmark = pytest.mark.django_db
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def admin(db):
    return UserFactory(role="admin", email="boss@acme.test")


@pytest.fixture
def shared_macro(db):
    return Macro.objects.create(name="Shared one", body="Hi", actions={})


@pytest.fixture
def own_macro(agent):
    return Macro.objects.create(name="Agent own", body="Mine", actions={}, owner=agent)


@pytest.fixture
def foreign_macro(db):
    return Macro.objects.create(name="Someone else's", body="Theirs", actions={}, owner=AgentFactory())


def _post(client, user, url, data):
    client.force_login(user)
    return client.post(url, data)


VALID = {"name": "Refund sent", "body": "Hello {{ requester.first_name }}", "visibility": "public", "is_active": "on"}


def test_manager_creates_shared_macro_with_actions(client, manager, queue, service_queue):
    data = {
        **VALID,
        "set_status": "pending",
        "set_priority": "high",
        "add_tags": "refund, Billing",
        "set_assignee": "me",
        "set_queue": service_queue.pk,
    }
    r = _post(client, manager, reverse("automation:macro-create"), data)
    assert r.status_code == 302, r.content.decode()[:2000]
    macro = Macro.objects.get(name="Refund sent")
    assert macro.owner_id is None
    assert macro.actions == {
        "status": "pending",
        "priority": "high",
        "add_tags": ["billing", "refund"],
        "assignee": "me",
        "queue": service_queue.pk,
    }


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"body": "Hi {% if %}"}, "body", "template error"),
        ({"set_status": "bogus"}, "set_status", "Select a valid choice"),
        ({"add_tags": "ok, bad tag!"}, "add_tags", "Not a valid tag: bad tag!"),
        ({"set_queue": "999999"}, "set_queue", "Select a valid choice"),
    ],
)
def test_invalid_macro_field_errors_on_page_and_api(client, manager, queue, data, field, message):
    r = _post(client, manager, reverse("automation:macro-create"), {**VALID, **data})
    assert r.status_code == 400
    assert message in " ".join(r.context["form"].errors[field])
    assert f'id="id_{field}-errors"' in r.content.decode()
    r = client.post("/api/v1/macros/", {**VALID, **data}, content_type="application/json")
    assert r.status_code == 400
    assert message in " ".join(r.json()["details"][field])
    assert not Macro.objects.filter(name="Refund sent").exists()


def test_duplicate_name_and_empty_macro_refused(client, manager, shared_macro):
    r = _post(client, manager, reverse("automation:macro-create"), {**VALID, "name": "shared ONE"})
    assert "already exists" in r.context["form"].errors["name"][0]
    r = _post(client, manager, reverse("automation:macro-create"), {**VALID, "body": ""})
    assert "reply text or at least one action" in r.context["form"].non_field_errors()[0]


def test_agent_keeps_personal_macros_only(client, agent):
    r = _post(client, agent, reverse("automation:macro-create"), VALID)  # personal not ticked
    assert r.status_code == 400
    assert "Only a manager" in r.context["form"].errors["personal"][0]
    r = client.post("/api/v1/macros/", VALID, content_type="application/json")
    assert r.status_code == 400 and "personal" in r.json()["details"]
    r = client.post("/api/v1/macros/", {**VALID, "personal": True}, content_type="application/json")
    assert r.status_code == 201, r.json()
    assert Macro.objects.get(name="Refund sent").owner == agent


# (role, macro fixture) → expected status of: edit page GET, edit POST, API GET, API PATCH
MATRIX = [
    ("agent", "own_macro", 200, 302, 200, 200),
    ("agent", "shared_macro", 403, 403, 403, 403),
    ("agent", "foreign_macro", 404, 404, 404, 404),
    ("manager", "shared_macro", 200, 302, 200, 200),
    ("manager", "foreign_macro", 404, 404, 404, 404),
    ("admin", "shared_macro", 200, 302, 200, 200),
    ("admin", "foreign_macro", 404, 404, 404, 404),
    ("customer", "shared_macro", 404, 404, 403, 403),
    ("customer", "foreign_macro", 404, 404, 403, 403),
]


@pytest.mark.parametrize(("role", "which", "get", "post", "api_get", "api_patch"), MATRIX)
def test_macro_permission_matrix(client, request, role, which, get, post, api_get, api_patch):
    user = request.getfixturevalue(role)
    macro = request.getfixturevalue(which)
    client.force_login(user)
    url = reverse("automation:macro-edit", args=[macro.pk])
    assert client.get(url).status_code == get
    personal = "on" if macro.owner_id else ""
    data = {**VALID, "name": "Renamed", "personal": personal}
    assert client.post(url, data).status_code == post
    assert client.get(f"/api/v1/macros/{macro.pk}/").status_code == api_get
    r = client.patch(f"/api/v1/macros/{macro.pk}/", {"name": "Renamed twice"}, content_type="application/json")
    assert r.status_code == api_patch
    macro.refresh_from_db()
    assert (macro.name == "Renamed twice") == (api_patch == 200)


@pytest.mark.parametrize("role", ["agent", "manager", "admin"])
def test_macro_list_shows_shared_and_own_only(client, request, role, shared_macro, own_macro, foreign_macro):
    client.force_login(request.getfixturevalue(role))
    body = client.get(reverse("automation:macro-list")).content.decode()
    assert "Shared one" in body
    assert ("Agent own" in body) == (role == "agent")
    assert "Someone else" not in body
    names = {m["name"] for m in client.get("/api/v1/macros/").json()}
    assert "Someone else's" not in names and "Shared one" in names


def test_customer_gets_no_macro_pages(client, customer):
    client.force_login(customer)
    assert client.get(reverse("automation:macro-list")).status_code == 404
    assert client.get("/api/v1/macros/").status_code == 403
    assert client.post("/api/v1/macros/", VALID, content_type="application/json").status_code == 403


def test_preview_sanitises_customer_name_and_subject_as_the_posted_reply(client, agent, queue):
    evil = CustomerFactory(name=XSS, first_name=XSS)
    ticket = ticket_make(queue=queue, requester=evil, subject=XSS)
    client.force_login(agent)
    body = "Hello {{ requester.first_name }}, about {{ ticket.subject }} <b>bold</b> <script>x()</script>"
    r = client.post(reverse("automation:macro-preview"), {"preview-body": body, "preview-ticket": ticket.pk})
    assert r.status_code == 200
    html_out = r.content.decode()
    preview = html_out.split('data-preview="ok">', 1)[1].rsplit("</div>", 1)[0].strip()
    for bad in ("<script", "onerror", "alert(", "x()"):
        assert bad not in preview, (bad, preview)
    assert "Hello " in preview and "<b>bold</b>" in preview
    # The ticket page's way: the rendered text goes into the reply box (the
    # browser decodes it), the agent sends it; the page shows the same HTML.
    reply_box = client.get(f"/agent/tickets/{ticket.pk}/", {"macro": _greet(body).pk})
    sent = reply_box.context["reply_form"].initial["body"]
    macros.macro_apply(macro=_greet(body), ticket_id=ticket.pk, agent=agent, body=html.unescape(sent))
    page = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert preview in page


def _greet(body):
    return Macro.objects.get_or_create(name="Greet", defaults={"body": body, "actions": {}})[0]


def test_preview_of_unseen_ticket_is_a_field_error(client, agent, service_queue):
    hidden = ticket_make(queue=service_queue)  # agent is not a member of service_queue
    client.force_login(agent)
    r = client.post(reverse("automation:macro-preview"), {"preview-body": "x", "preview-ticket": hidden.pk})
    assert r.status_code == 400
    assert f"No ticket #{hidden.pk} you can see" in r.content.decode()
    assert hidden.subject not in r.content.decode()


def test_personal_macro_offered_to_its_owner_only_and_queue_action(client, agent, queue, service_queue):
    ticket = ticket_make(queue=queue)
    mine = Macro.objects.create(name="Mine", body="ok", owner=agent, actions={"queue": service_queue.pk})
    other = Macro.objects.create(name="Other's", body="no", owner=AgentFactory(), actions={})
    offered = set(macros.macro_list_for_ticket(ticket=ticket, agent=agent))
    assert mine in offered and other not in offered
    macros.macro_apply(macro=mine, ticket_id=ticket.pk, agent=agent)
    assert Ticket.objects.get(pk=ticket.pk).queue_id == service_queue.pk


def test_macro_change_writes_audit_entry(client, manager, shared_macro):
    _post(client, manager, reverse("automation:macro-edit", args=[shared_macro.pk]), {**VALID, "name": "Audited"})
    entry = LogEntry.objects.get_for_object(shared_macro).latest("timestamp")
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.changes_dict["name"] == ["Shared one", "Audited"]


def test_disable_macro(client, manager, shared_macro):
    client.force_login(manager)
    client.post(reverse("automation:macro-toggle", args=[shared_macro.pk]))
    shared_macro.refresh_from_db()
    assert not shared_macro.is_active


@pytest.mark.parametrize(
    ("role", "create", "toggle_shared", "toggle_own", "preview"),
    [
        ("agent", 200, 403, 302, 200),
        ("manager", 200, 302, 404, 200),
        ("admin", 200, 302, 404, 200),
        ("customer", 404, 404, 404, 404),
    ],
)
def test_macro_pages_matrix(client, request, queue, role, create, toggle_shared, toggle_own, preview):
    user = request.getfixturevalue(role)
    shared = Macro.objects.create(name="S", body="x", actions={})
    own = Macro.objects.create(name="O", body="x", actions={}, owner=request.getfixturevalue("agent"))
    ticket = ticket_make(queue=queue)
    client.force_login(user)
    assert client.get(reverse("automation:macro-list")).status_code == (404 if role == "customer" else 200)
    assert client.get(reverse("automation:macro-create")).status_code == create
    assert client.post(reverse("automation:macro-toggle", args=[shared.pk])).status_code == toggle_shared
    assert client.post(reverse("automation:macro-toggle", args=[own.pk])).status_code == toggle_own
    r = client.post(
        reverse("automation:macro-preview"), {"preview-body": "{{ ticket.subject }}", "preview-ticket": ticket.pk}
    )
    assert r.status_code == preview
    shared.refresh_from_db()
    own.refresh_from_db()
    assert shared.is_active == (toggle_shared != 302) and own.is_active == (toggle_own != 302)
