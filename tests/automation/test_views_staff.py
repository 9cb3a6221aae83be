"""Settings → Shared views, Agents, Organisations; the away switch and
auto-assignment."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from accounts.models import Organisation, User
from accounts.policy import LAST_ADMIN, ONLY_ADMIN_ACTIVE, ONLY_ADMIN_ROLE
from tests.factories import AgentFactory, CustomerFactory, ManagerFactory, QueueFactory, UserFactory, ticket_make
from tickets import workspace
from tickets.models import SavedView, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return UserFactory(role="admin", email="root@acme.test")


# --- Shared views ----------------------------------------------------------------


def test_manager_creates_shared_view_with_workspace_filters(client, manager, agent, queue):
    client.force_login(manager)
    r = client.post(
        reverse("automation:view-create"),
        {"name": "Urgent tech", "is_active": "on", "queue": queue.pk, "priority": "urgent", "sort": "sla"},
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    view = SavedView.objects.get(name="Urgent tech")
    assert view.is_shared and view.filters == {"queue": str(queue.pk), "priority": "urgent"} and view.sort == "sla"
    assert view in workspace.saved_view_list_for_user(user=agent)
    client.post(reverse("automation:view-toggle", args=[view.pk]))
    assert view not in workspace.saved_view_list_for_user(user=agent)


def test_shared_view_invalid_filters_are_field_errors(client, manager, queue):
    client.force_login(manager)
    r = client.post(reverse("automation:view-create"), {"name": "", "priority": "asap", "created_from": "yesterday"})
    assert r.status_code == 400
    html = r.content.decode()
    assert 'id="id_name-errors"' in html and 'id="id_priority-errors"' in html and 'id="id_created_from-errors"' in html
    assert not SavedView.objects.exists()


def test_shared_views_ordered_by_arrows(client, manager, agent):
    a = SavedView.objects.create(owner=manager, name="A", is_shared=True, position=1)
    b = SavedView.objects.create(owner=manager, name="B", is_shared=True, position=2)
    client.force_login(manager)
    client.post(reverse("automation:view-move", args=[b.pk, "up"]))
    assert [v.name for v in workspace.saved_view_list_for_user(user=agent)] == ["B", "A"]
    assert LogEntry.objects.get_for_object(a).filter(action=LogEntry.Action.UPDATE).exists()


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("customer", 404), ("manager", 200), ("admin", 200)])
def test_shared_view_permission_matrix(client, request, manager, role, status):
    view = SavedView.objects.create(owner=manager, name="Team", is_shared=True)
    personal = SavedView.objects.create(owner=AgentFactory(), name="Mine", is_shared=False)
    client.force_login(request.getfixturevalue(role))
    for url in (
        reverse("automation:view-list"),
        reverse("automation:view-create"),
        reverse("automation:view-edit", args=[view.pk]),
    ):
        assert client.get(url).status_code == status
    expect_post = 302 if status == 200 else status
    assert client.post(reverse("automation:view-toggle", args=[view.pk])).status_code == expect_post
    # A personal view is not a shared view: not editable here by anyone.
    assert client.get(reverse("automation:view-edit", args=[personal.pk])).status_code == (
        404 if status == 200 else status
    )


# --- Agents ----------------------------------------------------------------------------


def _staff_data(user, **over):
    data = {"name": user.name, "role": user.role, "is_active": "on" if user.is_active else "", "capacity": ""}
    data.update(over)
    return {k: v for k, v in data.items() if v != ""}


def test_manager_edits_agent_queues_capacity_away(client, manager, agent, queue, service_queue):
    client.force_login(manager)
    r = client.post(
        reverse("staff:agent-edit", args=[agent.pk]),
        _staff_data(agent, queues=[service_queue.pk], capacity="3", is_away="on"),
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    agent.refresh_from_db()
    assert (agent.capacity, agent.is_away) == (3, True)
    assert list(agent.queues.all()) == [service_queue]
    entry = LogEntry.objects.get_for_object(agent).latest("timestamp")
    assert entry.changes_dict["is_away"] == [False, True]  # AUDITLOG_STORE_JSON_CHANGES keeps types


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"role": "manager"}, "role", ONLY_ADMIN_ROLE),
        ({"role": "admin"}, "role", ONLY_ADMIN_ROLE),
        ({"is_active": ""}, "is_active", ONLY_ADMIN_ACTIVE),
        ({"capacity": "0"}, "capacity", "greater than or equal to 1"),
    ],
)
def test_manager_cannot_grant_roles_or_deactivate(client, manager, agent, change, field, message):
    client.force_login(manager)
    r = client.post(reverse("staff:agent-edit", args=[agent.pk]), {**_staff_data(agent), **change})
    assert r.status_code == 400
    assert message in " ".join(r.context["form"].errors[field])
    assert f'id="id_{field}-errors"' in r.content.decode()
    agent.refresh_from_db()
    assert agent.role == "agent" and agent.is_active


def test_manager_cannot_demote_another_manager(client, manager):
    other = ManagerFactory()
    client.force_login(manager)
    r = client.post(reverse("staff:agent-edit", args=[other.pk]), _staff_data(other, role="agent"))
    assert r.status_code == 400 and ONLY_ADMIN_ROLE in r.context["form"].errors["role"]
    assert User.objects.get(pk=other.pk).role == "manager"


def test_admin_grants_manager_and_deactivates(client, admin, agent):
    client.force_login(admin)
    r = client.post(reverse("staff:agent-edit", args=[agent.pk]), _staff_data(agent, role="manager", is_active=""))
    assert r.status_code == 302
    agent.refresh_from_db()
    assert agent.role == "manager" and not agent.is_active


def test_last_active_admin_cannot_demote_or_deactivate_self(client, admin):
    client.force_login(admin)
    for change, field in (({"role": "manager"}, "role"), ({"is_active": ""}, "is_active")):
        r = client.post(reverse("staff:agent-edit", args=[admin.pk]), {**_staff_data(admin), **change})
        assert r.status_code == 400
        assert LAST_ADMIN in r.context["form"].errors[field]
    admin.refresh_from_db()
    assert admin.role == "admin" and admin.is_active
    # With a second admin the demotion goes through.
    UserFactory(role="admin")
    r = client.post(reverse("staff:agent-edit", args=[admin.pk]), _staff_data(admin, role="manager"))
    assert r.status_code == 302


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("customer", 404), ("manager", 200), ("admin", 200)])
def test_agents_and_organisations_permission_matrix(client, request, agent, role, status):
    org = Organisation.objects.create(name="Acme", domain="acme.com")
    client.force_login(request.getfixturevalue(role))
    for url in (
        reverse("staff:agent-list"),
        reverse("staff:agent-edit", args=[agent.pk]),
        reverse("staff:organisation-list"),
        reverse("staff:organisation-create"),
        reverse("staff:organisation-edit", args=[org.pk]),
    ):
        assert client.get(url).status_code == status, url
    r = client.post(reverse("staff:organisation-edit", args=[org.pk]), {"name": "Pwned", "domain": "acme.com"})
    assert r.status_code == (302 if status == 200 else status)
    org.refresh_from_db()
    assert (org.name == "Pwned") == (status == 200)


def test_customer_is_not_an_editable_agent(client, manager, customer):
    client.force_login(manager)
    assert client.get(reverse("staff:agent-edit", args=[customer.pk])).status_code == 404


# --- Away switch and auto-assignment ----------------------------------------------------


def test_agent_flips_own_away_switch_from_workspace(client, agent):
    client.force_login(agent)
    page = client.get("/agent/tickets/").content.decode()
    assert 'id="away-toggle"' in page
    r = client.post(reverse("staff:away-toggle"), {"away": "1", "next": "/agent/tickets/"})
    assert r.status_code == 302 and r["Location"] == "/agent/tickets/"
    agent.refresh_from_db()
    assert agent.is_away
    r = client.post(reverse("staff:away-toggle"), {"away": "0", "next": "https://evil.example/"})
    assert r["Location"] == "/agent/tickets/"
    agent.refresh_from_db()
    assert not agent.is_away


def test_customer_has_no_away_switch(client, customer):
    client.force_login(customer)
    assert client.post(reverse("staff:away-toggle"), {"away": "1"}).status_code == 404


@pytest.mark.parametrize("mode", ["round_robin", "least_loaded"])
def test_away_agents_get_no_auto_assignment(mode):
    queue = QueueFactory(auto_assign=mode)
    away, present = AgentFactory(is_away=True), AgentFactory()
    queue.members.add(away, present)
    # `away` has the lower id and no load: without the switch both modes would pick it first.
    assert away.pk < present.pk
    tickets = [ticket_make(queue=queue, channel="portal") for _ in range(3)]
    assert {Ticket.objects.get(pk=t.pk).assignee_id for t in tickets} == {present.pk}
    present.is_away = True
    present.save(update_fields=["is_away"])
    assert ticket_make(queue=queue, channel="portal").assignee_id is None


# --- Organisations ------------------------------------------------------------------------


def test_organisation_create_validation_and_members(client, manager):
    Organisation.objects.create(name="Taken", domain="taken.com")
    client.force_login(manager)
    r = client.post(reverse("staff:organisation-create"), {"name": "taken", "domain": "not a domain"})
    assert r.status_code == 400
    errors = r.context["form"].errors
    assert "already exists" in errors["name"][0] and "Not a domain name" in errors["domain"][0]
    r = client.post(reverse("staff:organisation-create"), {"name": "Globex", "domain": "taken.com"})
    assert "already belongs to Taken" in r.context["form"].errors["domain"][0]
    r = client.post(
        reverse("staff:organisation-create"), {"name": "Globex", "domain": "@Globex.com", "shares_tickets": "on"}
    )
    assert r.status_code == 302
    org = Organisation.objects.get(name="Globex")
    assert (org.domain, org.shares_tickets) == ("globex.com", True)
    CustomerFactory(name="Gina Globex", organisation=org)
    page = client.get(reverse("staff:organisation-edit", args=[org.pk])).content.decode()
    assert "Gina Globex" in page
    assert LogEntry.objects.get_for_object(org).filter(action=LogEntry.Action.CREATE).exists()


def test_role_choices_are_what_the_editor_may_grant(client, manager, admin, agent):
    other_manager = ManagerFactory()
    client.force_login(manager)
    r = client.get(reverse("staff:agent-edit", args=[agent.pk]))
    assert [v for v, _ in r.context["form"].fields["role"].choices] == ["customer", "agent"]
    r = client.get(reverse("staff:agent-edit", args=[other_manager.pk]))
    assert [v for v, _ in r.context["form"].fields["role"].choices] == ["manager"]
    client.force_login(admin)
    r = client.get(reverse("staff:agent-edit", args=[agent.pk]))
    assert [v for v, _ in r.context["form"].fields["role"].choices] == ["customer", "agent", "manager", "admin"]
