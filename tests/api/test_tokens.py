"""Personal API tokens: shown once, hashed at rest, revocable, throttled."""

import hashlib

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from apikeys.models import ApiToken

pytestmark = pytest.mark.django_db


def _create(api_client_for, user, name="ci"):
    response = api_client_for(user).post(reverse("api:token-list"), {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_token_is_shown_once_and_stored_hashed(api_client_for, customer):
    body = _create(api_client_for, customer)
    key = body["key"]
    assert key.startswith("hdk_") and len(key) > 40
    row = ApiToken.objects.get(pk=body["id"])
    assert row.token_hash == hashlib.sha256(key.encode()).hexdigest()
    assert row.prefix == key[:12] == body["prefix"]
    # The clear key is in no column of the table.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_tokens WHERE id = %s", [row.pk])
        assert all(key not in str(value) for value in cursor.fetchone())
    listed = api_client_for(customer).get(reverse("api:token-list")).json()
    assert [t["id"] for t in listed] == [row.pk]
    assert "key" not in listed[0]


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "bearer"])
def test_token_authenticates(api_client_for, customer, scheme):
    key = _create(api_client_for, customer)["key"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    response = client.get(reverse("api:me"))
    assert response.status_code == 200
    assert response.json()["email"] == customer.email
    assert ApiToken.objects.get(prefix=key[:12]).last_used_at is not None


def test_revoked_token_is_refused(api_client_for, customer):
    body = _create(api_client_for, customer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['key']}")
    assert client.get(reverse("api:me")).status_code == 200
    revoke = client.post(reverse("api:token-revoke", kwargs={"pk": body["id"]}))
    assert revoke.status_code == 200 and revoke.json()["revoked_at"] is not None
    response = client.get(reverse("api:me"))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("header", ["Bearer hdk_wrong", "Token", "Token a b", "Bearer \u00e9"])
def test_bad_tokens_are_401_json(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(reverse("api:ticket-list"))
    assert response.status_code == 401
    assert response.json()["code"] in ("invalid_token", "authentication_failed")


def test_inactive_users_token_is_refused(api_client_for, customer):
    key = _create(api_client_for, customer)["key"]
    customer.is_active = False
    customer.save(update_fields=["is_active"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(reverse("api:me")).status_code == 401


def test_cannot_revoke_someone_elses_token(api_client_for, customer, other_customer):
    body = _create(api_client_for, customer)
    response = api_client_for(other_customer).post(reverse("api:token-revoke", kwargs={"pk": body["id"]}))
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=body["id"]).revoked_at is None


def test_empty_name_is_400(api_client_for, customer):
    response = api_client_for(customer).post(reverse("api:token-list"), {"name": "  "}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid", "name_required")


def test_throttle_counts_per_token(api_client_for, customer, settings):
    """Past the read budget a token gets 429 JSON; another token of the same
    user has its own budget."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_read": "3/min", "api_write": "100/min", "api_anon": "100/min"},
    }
    first, second = _create(api_client_for, customer, "a")["key"], _create(api_client_for, customer, "b")["key"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    statuses = [client.get(reverse("api:me")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = client.get(reverse("api:me"))
    assert throttled.json()["code"] == "throttled" and "Retry-After" in throttled
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert other.get(reverse("api:me")).status_code == 200
