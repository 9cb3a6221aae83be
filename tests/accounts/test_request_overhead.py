"""The fixed cost of a request (issue #22, mixed load; docs/accounts.md,
"Per-request cost"): the session row and the API token are read as written
SQL, not compiled by the ORM on every request, with the same outcomes:
nothing is cached, so a session or token removed anywhere is refused at once."""

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.backends import SESSION_BACKEND, user_by_pk
from apikeys import selectors
from apikeys.models import ApiToken
from apikeys.services import api_token_create
from tests.workspace.costs import compiled_statements

PROFILE = "/accounts/profile/"
API = "/api/v1/request-types/"


def _queries(client, path: str, **extra) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, **extra)
    return response.status_code, [q["sql"] for q in ctx.captured_queries]


@pytest.mark.django_db
def test_signed_in_page_compiles_no_session_statement(client, agent, monkeypatch):
    client.force_login(agent)
    client.get(PROFILE)
    compiled = compiled_statements(monkeypatch)
    status, sql = _queries(client, PROFILE)
    assert status == 200
    assert not [s for s in compiled if "django_session" in s], compiled
    # Still one read of the session row per request (nothing cached).
    assert len([s for s in sql if "django_session" in s]) == 1, sql


@pytest.mark.django_db
def test_query_counts_per_request_kind(client, agent, customer):
    """The statements each kind of request makes before its view's own:
    a staff page 5 (session, user, two-factor device, sign-in policy, the
    menu's customer-success check), an anonymous sign-in page none."""
    client.force_login(agent)
    client.get(PROFILE)
    status, sql = _queries(client, PROFILE)
    assert status == 200 and len(sql) == 5, sql
    client.logout()
    status, sql = _queries(client, "/accounts/login/")
    assert status == 200 and sql == []
    key = api_token_create(user=customer, name="t").key
    client.get(API, HTTP_AUTHORIZATION=f"Bearer {key}")  # the first use records last_used_at
    status, sql = _queries(client, API, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert status == 200 and len(sql) == 2, sql  # the token with its user, the request types


@pytest.mark.django_db
def test_deleted_session_signs_out_at_once(client, agent):
    """A row deleted elsewhere (the privacy erase, another process) is
    not remembered: the next request is signed out."""
    client.force_login(agent)
    assert client.get(PROFILE).status_code == 200
    Session.objects.filter(session_key=client.session.session_key).delete()
    response = client.get(PROFILE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_expired_or_unknown_session_is_signed_out(client, agent):
    client.force_login(agent)
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get(PROFILE).status_code == 302
    client.cookies["sessionid"] = "x" * 32  # well-formed, never issued
    assert client.get(PROFILE).status_code == 302
    # The login page gets a new key, never the one the client made up.
    client.get("/accounts/login/")
    assert not Session.objects.filter(session_key="x" * 32).exists()


@pytest.mark.django_db
def test_api_token_read_compiles_nothing_and_matches_the_orm(client, customer, monkeypatch):
    key = api_token_create(user=customer, name="t").key
    token = ApiToken.objects.get(user=customer)
    got = selectors.api_token_get_active(token_hash=token.token_hash)
    orm = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token.token_hash, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    assert got is not None and orm is not None
    fields = [f.attname for f in ApiToken._meta.concrete_fields]
    user_fields = [f.attname for f in type(customer)._meta.concrete_fields]
    assert [getattr(got, f) for f in fields] == [getattr(orm, f) for f in fields]
    assert [getattr(got.user, f) for f in user_fields] == [getattr(orm.user, f) for f in user_fields]
    assert got.user._state.db == "default" and not got._state.adding
    client.get(API, HTTP_AUTHORIZATION=f"Bearer {key}")
    compiled = compiled_statements(monkeypatch)
    assert client.get(API, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    assert not [s for s in compiled if "api_tokens" in s], compiled


@pytest.mark.django_db
def test_revoked_token_or_inactive_owner_is_refused_at_once(client, customer):
    key = api_token_create(user=customer, name="t").key
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get(API, **auth).status_code == 200
    type(customer).objects.filter(pk=customer.pk).update(is_active=False)  # as another process would
    assert client.get(API, **auth).status_code == 401
    type(customer).objects.filter(pk=customer.pk).update(is_active=True)
    assert client.get(API, **auth).status_code == 200
    ApiToken.objects.filter(user=customer).update(revoked_at=timezone.now())
    assert client.get(API, **auth).status_code == 401
    assert client.get(API, HTTP_AUTHORIZATION="Bearer nope").status_code == 401


@pytest.mark.django_db
def test_signed_in_page_compiles_no_user_statement(client, agent, monkeypatch):
    client.force_login(agent)
    client.get(PROFILE)
    compiled = compiled_statements(monkeypatch)
    assert client.get(PROFILE).status_code == 200
    assert not [s for s in compiled if 'FROM "accounts_user"' in s], compiled


@pytest.mark.django_db
def test_password_sign_in_stores_the_session_user_backend(client, agent):
    agent.set_password("a-long-pass-phrase-1")
    agent.save()
    response = client.post("/accounts/login/", {"email": agent.email, "password": "a-long-pass-phrase-1"})
    assert response.status_code == 302
    assert client.session["_auth_user_backend"] == SESSION_BACKEND
    assert client.get(PROFILE).status_code == 200
    # A wrong password is still refused (this backend checks none, ModelBackend does).
    client.logout()
    response = client.post("/accounts/login/", {"email": agent.email, "password": "wrong-pass-phrase-2"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_session_user_matches_the_orm_and_changes_apply_at_once(client, agent):
    """Deactivation, a password change and a role change made elsewhere (another
    process: a plain UPDATE) apply on the next request; nothing is remembered."""
    loaded = user_by_pk(agent.pk)
    orm = type(agent).objects.get(pk=agent.pk)
    fields = [f.attname for f in type(agent)._meta.concrete_fields]
    assert loaded is not None and [getattr(loaded, f) for f in fields] == [getattr(orm, f) for f in fields]
    assert user_by_pk(10**12) is None
    client.force_login(agent)
    assert client.get(PROFILE).status_code == 200
    type(agent).objects.filter(pk=agent.pk).update(role="customer")
    assert client.get(PROFILE).context["user"].role == "customer"
    type(agent).objects.filter(pk=agent.pk).update(is_active=False)
    assert client.get(PROFILE).status_code == 302
    type(agent).objects.filter(pk=agent.pk).update(is_active=True)
    assert client.get(PROFILE).status_code == 200
    type(agent).objects.filter(pk=agent.pk).update(password="pbkdf2_sha256$1$x$changed")
    assert client.get(PROFILE).status_code == 302  # the session's password hash no longer matches


@pytest.mark.django_db
def test_sessions_of_the_old_backend_still_load(client, agent):
    """Sessions signed in before this change name ModelBackend: still signed in."""
    client.force_login(agent, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(PROFILE).status_code == 200
