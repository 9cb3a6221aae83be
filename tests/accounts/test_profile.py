"""The customer's own account page: name, language, e-mail (confirmed by
a link to the new address, old address told), password, and the way to
the e-mail notification settings."""

import pytest
from django.contrib.auth import SESSION_KEY

from accounts.models import User
from tests.accounts.conftest import links_in, only_mail_to, outbox, path_of
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pw-Secret-123"  # tests/factories.py


@pytest.fixture
def me(client):
    user = CustomerFactory(email="me@example.com", name="Old Name")
    client.force_login(user)
    return user


def test_profile_page_is_reachable_from_the_portal(client, me):
    portal = client.get("/portal/").content.decode()
    assert 'href="/accounts/profile/"' in portal
    page = client.get("/accounts/profile/").content.decode()
    assert 'href="/mail/preferences/"' in page  # notifications: the existing page
    assert 'name="language"' in page and 'name="old_password"' in page


def test_name_and_language_are_saved(client, me):
    response = client.post("/accounts/profile/", {"name": "New Name", "language": "de"})
    assert response.status_code == 302
    me.refresh_from_db()
    assert (me.name, me.language) == ("New Name", "de")
    bad = client.post("/accounts/profile/", {"name": "X", "language": "xx-nope"})
    assert bad.status_code == 400 and "language" in bad.context["profile_form"].errors
    assert User.objects.get(pk=me.pk).language == "de"


def test_email_changes_only_after_the_new_address_confirms(client, me):
    response = client.post("/accounts/profile/email/", {"email": "new@example.com"})
    assert response.status_code == 302
    me.refresh_from_db()
    assert me.email == "me@example.com"  # not yet
    message = only_mail_to("new@example.com")
    [url] = [u for u in links_in(message) if "/accounts/profile/email/confirm/" in u]
    link = path_of(url)
    assert client.get(link).status_code == 200
    assert User.objects.get(pk=me.pk).email == "me@example.com"  # GET changes nothing

    outbox().clear()
    assert client.post(link).status_code == 302
    me.refresh_from_db()
    assert me.email == me.username == "new@example.com"
    notice = only_mail_to("me@example.com")
    assert "new@example.com" in notice.body
    assert client.post(link).status_code == 400  # single use

    client.logout()
    login = client.post("/accounts/login/", {"email": "new@example.com", "password": PASSWORD})
    assert login.status_code == 302


def test_email_change_to_a_taken_address_sends_nothing_and_says_the_same(client, me):
    CustomerFactory(email="taken@example.com")
    taken = client.post("/accounts/profile/email/", {"email": "taken@example.com"}, follow=True)
    free = client.post("/accounts/profile/email/", {"email": "free@example.com"}, follow=True)
    assert [m.to for m in outbox()] == [["free@example.com"]]
    assert "We sent a link to taken@example.com" in taken.content.decode()
    assert "We sent a link to free@example.com" in free.content.decode()
    same = client.post("/accounts/profile/email/", {"email": "ME@example.com"})
    assert same.status_code == 400 and "already your address" in same.content.decode()


def test_password_change_checks_the_old_one_and_keeps_the_session(client, me):
    wrong = client.post(
        "/accounts/profile/password/",
        {"old_password": "nope", "new_password1": "brand-new-pass-1", "new_password2": "brand-new-pass-1"},
    )
    assert wrong.status_code == 400 and "old_password" in wrong.context["password_form"].errors
    ok = client.post(
        "/accounts/profile/password/",
        {"old_password": PASSWORD, "new_password1": "brand-new-pass-1", "new_password2": "brand-new-pass-1"},
    )
    assert ok.status_code == 302 and client.session[SESSION_KEY] == str(me.pk)
    assert client.get("/portal/").status_code == 200
    me.refresh_from_db()
    assert me.check_password("brand-new-pass-1")
    assert only_mail_to("me@example.com").subject == "Your password was changed"


def test_profile_needs_a_login(client):
    assert client.get("/accounts/profile/")["Location"].startswith("/accounts/login/")
    assert client.post("/accounts/profile/email/", {"email": "x@example.com"}).status_code == 302
    assert outbox() == []
