"""Who may erase and export: admins only (the last active admin is
never erased), through the page, the API and the command."""

import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from privacy.models import PrivacyAuditEvent
from tests.factories import AgentFactory, CustomerFactory, ManagerFactory, UserFactory
from tests.privacy.conftest import EMAIL

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(db):
    return CustomerFactory(email="target.person@example.org", name="Tara Target")


def _erase_api(client, user, person_id, confirm):
    if user is not None:
        client.force_login(user)
    return client.post(
        f"/api/v1/people/{person_id}/erase/", {"confirm_email": confirm}, content_type="application/json"
    )


@pytest.mark.parametrize("role", ["customer", "agent", "manager", "self"])
def test_non_admins_cannot_erase_or_export(client, target, role):
    user = {"customer": CustomerFactory, "agent": AgentFactory, "manager": ManagerFactory}.get(role)
    actor = target if role == "self" else user()
    response = _erase_api(client, actor, target.pk, target.email)
    assert response.status_code == 403
    assert client.get(f"/api/v1/people/{target.pk}/export/").status_code == 403
    assert client.get("/privacy/people/").status_code == 404
    assert client.post(f"/privacy/people/{target.pk}/", {"confirm_email": target.email}).status_code == 404
    assert client.get(f"/privacy/people/{target.pk}/export/").status_code == 404
    target.refresh_from_db()
    assert target.email == "target.person@example.org" and target.is_active
    assert not PrivacyAuditEvent.objects.exists()


def test_anonymous_api_is_refused(client, target):
    assert _erase_api(client, None, target.pk, target.email).status_code in (401, 403)


def test_admin_erases_through_the_api(client, admin_user, target):
    assert _erase_api(client, admin_user, target.pk, "wrong@example.org").status_code == 400
    target.refresh_from_db()
    assert target.email == "target.person@example.org"
    response = _erase_api(client, admin_user, target.pk, "TARGET.person@example.org")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["email"] == f"erased-{target.pk}@invalid" and body["name"] == f"Erased user #{target.pk}"
    assert PrivacyAuditEvent.objects.get(kind="person.erased").actor == admin_user
    assert _erase_api(client, admin_user, target.pk, body["email"]).status_code == 409  # already erased
    assert _erase_api(client, admin_user, 999999, "x@example.org").status_code == 404


def test_last_active_admin_is_never_erased(client, admin_user):
    inactive_admin = UserFactory(role=User.Role.ADMIN, is_active=False)
    response = _erase_api(client, admin_user, admin_user.pk, admin_user.email)
    assert response.status_code == 409 and response.json()["code"] == "last_admin"
    assert User.objects.get(pk=admin_user.pk).is_active
    # With a second active admin the first may go (even by their own hand).
    UserFactory(role=User.Role.ADMIN)
    assert _erase_api(client, admin_user, admin_user.pk, admin_user.email).status_code == 200
    assert User.objects.get(pk=inactive_admin.pk).role == User.Role.ADMIN


def test_admin_page_finds_exports_and_erases(client, admin_user, target):
    client.force_login(admin_user)
    listing = client.get("/privacy/people/", {"q": "tara"})
    assert listing.status_code == 200 and f"/privacy/people/{target.pk}/".encode() in listing.content
    assert b"/privacy/people/" in client.get("/agent/tickets/").content  # linked for admins
    page = client.get(f"/privacy/people/{target.pk}/")
    assert page.status_code == 200 and b"Erase this person" in page.content
    download = client.get(f"/privacy/people/{target.pk}/export/")
    assert json.loads(download.content)["account"]["email"] == target.email
    refused = client.post(f"/privacy/people/{target.pk}/", {"confirm_email": "nope@example.org"})
    assert refused.status_code == 400 and b"exactly" in refused.content
    done = client.post(f"/privacy/people/{target.pk}/", {"confirm_email": target.email}, follow=True)
    assert done.status_code == 200 and b"has been erased" in done.content
    assert User.objects.get(pk=target.pk).email == f"erased-{target.pk}@invalid"


def test_privacy_link_is_for_admins_only(client, manager):
    client.force_login(manager)
    assert b"/privacy/people/" not in client.get("/agent/tickets/").content


def test_command_exports_and_erases(history, tmp_path, capsys):
    out = tmp_path / "export.json"
    call_command("privacy_person", "export", EMAIL, "--output", str(out))
    assert json.loads(out.read_text())["account"]["email"] == EMAIL
    with pytest.raises(CommandError, match="--confirm"):
        call_command("privacy_person", "erase", str(history.person.pk))
    with pytest.raises(CommandError, match="exactly"):
        call_command("privacy_person", "erase", str(history.person.pk), "--confirm", "x@example.org")
    call_command("privacy_person", "erase", str(history.person.pk), "--confirm", EMAIL, "--actor", history.admin.email)
    assert User.objects.get(pk=history.person.pk).email.startswith("erased-")
    audit = PrivacyAuditEvent.objects.get(kind="person.erased")
    assert (audit.via, audit.actor_id) == ("command", history.admin.pk)
    call_command("privacy_person", "sweep", str(history.person.pk))
    assert "Swept user" in capsys.readouterr().out


def test_command_sweep_refuses_a_person_not_erased(target):
    with pytest.raises(CommandError, match="not erased"):
        call_command("privacy_person", "sweep", str(target.pk))


def test_command_refuses_a_non_admin_actor(target, manager):
    with pytest.raises(CommandError, match="Only admins"):
        call_command("privacy_person", "erase", str(target.pk), "--confirm", target.email, "--actor", manager.email)
