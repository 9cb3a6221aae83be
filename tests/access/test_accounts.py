"""Roles and the active flag (issue #13): only admins grant or revoke the
manager/admin role or (de)activate staff; the last active admin stays; the
Django admin's login has the app's lock-out."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import User
from tests.factories import AgentFactory, ManagerFactory, UserFactory

CONFIG = "/api/v1/config/"


def _admin(**extra):
    return UserFactory(role=User.Role.ADMIN, email=extra.pop("email", None) or f"admin{User.objects.count()}@acme.test")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(email="root@acme.test", password="root-pass-123")


def _put(client, agents):
    return client.put(CONFIG, {"agents": agents}, format="json")


def _paths(response):
    return {p["path"]: p["message"] for p in response.json()["details"]["problems"]}


# --- the configuration API ------------------------------------------------------------


@pytest.mark.django_db
def test_manager_cannot_demote_a_superuser(manager, superuser, api_client_for):
    """#13: a manager demoted a superuser through PUT /api/v1/config/."""
    response = _put(api_client_for(manager), [{"email": superuser.email, "role": "agent"}])
    assert response.status_code == 400, response.json()
    assert _paths(response) == {"agents[0].role": "Only an admin can grant or revoke the manager or admin role."}
    superuser.refresh_from_db()
    assert superuser.role == User.Role.ADMIN


@pytest.mark.django_db
def test_manager_cannot_promote_a_customer_to_admin(manager, customer, api_client_for):
    response = _put(api_client_for(manager), [{"email": customer.email, "role": "admin"}])
    assert response.status_code == 400
    assert "agents[0].role" in _paths(response)
    customer.refresh_from_db()
    assert customer.role == User.Role.CUSTOMER


@pytest.mark.django_db
def test_manager_cannot_deactivate_staff_and_nothing_is_written(manager, agent, queue, api_client_for):
    """A refused line refuses the whole document: the other lines are not
    applied either."""
    newcomer = "new-agent@acme.test"
    agents = [
        {"email": newcomer, "role": "agent", "queues": [queue.slug]},
        {"email": agent.email, "role": "agent", "active": False, "queues": [queue.slug]},
    ]
    response = _put(api_client_for(manager), agents)
    assert response.status_code == 400
    assert _paths(response) == {"agents[1].active": "Only an admin can deactivate or reactivate a staff account."}
    agent.refresh_from_db()
    assert agent.is_active and not User.objects.filter(email=newcomer).exists()


@pytest.mark.django_db
def test_manager_still_adds_agents_and_edits_queues(manager, agent, queue, service_queue, api_client_for):
    agents = [
        {"email": "new-agent@acme.test", "role": "agent", "queues": [queue.slug]},
        {"email": agent.email, "role": "agent", "queues": [queue.slug, service_queue.slug]},
    ]
    response = _put(api_client_for(manager), agents)
    assert response.status_code == 200, response.json()
    assert User.objects.get(email="new-agent@acme.test").role == User.Role.AGENT
    assert set(agent.queues.values_list("slug", flat=True)) == {queue.slug, service_queue.slug}


@pytest.mark.django_db
def test_manager_cannot_create_a_manager(manager, api_client_for):
    response = _put(api_client_for(manager), [{"email": "boss@acme.test", "role": "manager"}])
    assert response.status_code == 400 and "agents[0].role" in _paths(response)


@pytest.mark.django_db
def test_admin_grants_and_revokes_roles(superuser, api_client_for):
    admin = _admin()
    other = ManagerFactory()
    agent = AgentFactory()
    agents = [
        {"email": other.email, "role": "agent"},
        {"email": agent.email, "role": "manager"},
        {"email": superuser.email, "role": "admin", "active": False},
    ]
    response = _put(api_client_for(admin), agents)
    assert response.status_code == 200, response.json()
    other.refresh_from_db(), agent.refresh_from_db(), superuser.refresh_from_db()
    assert (other.role, agent.role, superuser.is_active) == ("agent", "manager", False)


@pytest.mark.django_db
def test_nobody_removes_the_last_active_admin(api_client_for):
    """The only admin cannot demote or deactivate themselves."""
    admin = _admin()
    for change, field in (({"role": "manager"}, "agents[0].role"), ({"active": False}, "agents[0].active")):
        response = _put(api_client_for(admin), [{"email": admin.email, "role": "admin", **change}])
        assert response.status_code == 400, response.json()
        assert _paths(response) == {field: "This is the last active admin: make another account an admin first."}
        admin.refresh_from_db()
        assert admin.role == User.Role.ADMIN and admin.is_active


@pytest.mark.django_db
def test_handing_over_admin_in_one_document_is_fine(api_client_for):
    """The rule is judged on the whole document."""
    admin = _admin()
    heir = ManagerFactory()
    agents = [{"email": admin.email, "role": "manager"}, {"email": heir.email, "role": "admin"}]
    response = _put(api_client_for(admin), agents)
    assert response.status_code == 200, response.json()
    assert User.objects.get(pk=heir.pk).role == "admin" and User.objects.get(pk=admin.pk).role == "manager"


@pytest.mark.django_db
def test_dry_run_reports_the_same_refusal(manager, superuser, api_client_for):
    response = api_client_for(manager).put(
        CONFIG + "?dry_run=true", {"agents": [{"email": superuser.email, "role": "agent"}]}, format="json"
    )
    assert response.status_code == 400 and "agents[0].role" in _paths(response)


# --- the command: the operator acts as a superuser, the last-admin rule holds ---------------------


def _apply_file(tmp_path, agents):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"agents": agents}))
    call_command("helpdesk_config", "apply", str(path))


@pytest.mark.django_db
def test_command_grants_roles_but_keeps_the_last_admin(tmp_path, capsys):
    admin = _admin()
    manager = ManagerFactory()
    _apply_file(tmp_path, [{"email": manager.email, "role": "admin"}])
    assert User.objects.get(pk=manager.pk).role == "admin"
    _apply_file(tmp_path, [{"email": manager.email, "role": "manager"}])
    assert User.objects.get(pk=manager.pk).role == "manager"
    with pytest.raises(CommandError):
        _apply_file(tmp_path, [{"email": admin.email, "role": "admin", "active": False}])
    assert "agents[0].active: This is the last active admin" in capsys.readouterr().err
    assert User.objects.get(pk=admin.pk).is_active


# --- the Django admin's user form ------------------------------------------------------------------


def _change_form_data(user, **changes):
    data = {
        "email": user.email,
        "name": user.name,
        "first_name": "",
        "last_name": "",
        "role": user.role,
        "organisation": "",
        "capacity": "",
        "timezone": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
    }
    flags = {"is_active": user.is_active, "is_staff": user.is_staff, "is_superuser": user.is_superuser}
    flags.update({k: changes.pop(k) for k in list(changes) if k in flags})
    data.update({k: "on" for k, v in flags.items() if v})
    data.update(changes)
    return data


@pytest.mark.django_db
def test_admin_form_refuses_removing_the_last_admin(superuser, client):
    """The only admin (a superuser) cannot drop their own superuser flag and
    admin role, nor deactivate themselves, in the Django admin."""
    client.force_login(superuser)
    url = reverse("admin:accounts_user_change", args=[superuser.pk])
    for changes in ({"role": "agent", "is_superuser": False}, {"is_active": False}):
        response = client.post(url, _change_form_data(superuser, **changes))
        assert response.status_code == 200, changes  # the form again, not a redirect
        assert "This is the last active admin" in response.content.decode()
        superuser.refresh_from_db()
        assert superuser.is_superuser and superuser.role == "admin" and superuser.is_active


@pytest.mark.django_db
def test_admin_form_lets_a_manager_with_admin_access_grant_nothing(superuser, client):
    """A manager given admin access (is_staff + change_user) still cannot
    make someone an admin or a superuser."""
    from django.contrib.auth.models import Permission

    manager = ManagerFactory(is_staff=True)
    manager.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_user", "view_user"], content_type__app_label="accounts")
    )
    target = AgentFactory()
    client.force_login(manager)
    url = reverse("admin:accounts_user_change", args=[target.pk])
    response = client.post(url, _change_form_data(target, role="admin"))
    assert response.status_code == 200
    assert "Only an admin can grant or revoke the manager or admin role." in response.content.decode()
    response = client.post(url, _change_form_data(target, is_active=False))
    assert "Only an admin can deactivate or reactivate a staff account." in response.content.decode()
    target.refresh_from_db()
    assert target.role == "agent" and target.is_active
    ok = client.post(url, _change_form_data(target, name="Renamed"))
    assert ok.status_code == 302 and User.objects.get(pk=target.pk).name == "Renamed"


@pytest.mark.django_db
def test_admin_form_lets_an_admin_change_roles(superuser, client):
    target = AgentFactory()
    client.force_login(superuser)
    response = client.post(
        reverse("admin:accounts_user_change", args=[target.pk]), _change_form_data(target, role="manager")
    )
    assert response.status_code == 302
    assert User.objects.get(pk=target.pk).role == "manager"


@pytest.mark.django_db
def test_admin_cannot_delete_the_last_admin(superuser, client):
    client.force_login(superuser)
    response = client.post(reverse("admin:accounts_user_delete", args=[superuser.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=superuser.pk).exists()


# --- 5. the Django admin's login lock-out -------------------------------------------------------------


@pytest.mark.django_db
def test_admin_login_locks_out_after_failures(superuser, client):
    """#13: 30 wrong passwords then the right one logged in at /admin/login/.
    Now the right password is refused once the lock-out applies."""
    from accounts.forms import THROTTLED_MESSAGE
    from helpdesk.lib import throttle

    for _ in range(throttle.LOGIN_PER_ACCOUNT.limit):
        response = client.post("/admin/login/", {"username": superuser.email, "password": "wrong"})
        assert response.status_code == 200
    response = client.post("/admin/login/?next=/admin/", {"username": superuser.email, "password": "root-pass-123"})
    assert response.status_code == 200
    assert str(THROTTLED_MESSAGE) in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_admin_and_app_logins_share_the_counter(superuser, client):
    """Failures at the app's login count at the admin's login too."""
    from helpdesk.lib import throttle

    for _ in range(throttle.LOGIN_PER_ACCOUNT.limit):
        client.post("/accounts/login/", {"email": superuser.email, "password": "wrong"})
    response = client.post("/admin/login/", {"username": superuser.email, "password": "root-pass-123"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_admin_login_still_works(superuser, client):
    response = client.post("/admin/login/?next=/admin/", {"username": superuser.email, "password": "root-pass-123"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
