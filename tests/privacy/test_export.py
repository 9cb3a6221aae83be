"""Export: the person's own data, the public conversation of their
tickets, and nothing of other people's tickets or of internal notes."""

import json

import pytest

from privacy import selectors
from privacy.models import PrivacyAuditEvent
from tests.factories import CustomerFactory, ticket_make
from tests.privacy.conftest import EMAIL, MARKER, NAME

pytestmark = pytest.mark.django_db


def test_export_holds_the_persons_data(history):
    data = selectors.person_export(user=history.person)
    text = json.dumps(data)
    assert data["account"]["email"] == EMAIL and data["account"]["name"] == NAME
    assert data["organisation"]["name"] == "Quartermaine Holdings Ltd"
    tickets = {t["id"]: t for t in data["tickets"]}
    assert set(tickets) == {history.portal_ticket.pk, history.email_ticket.pk, history.other_ticket.pk}
    assert tickets[history.other_ticket.pk]["relation"] == "cc"
    portal = tickets[history.portal_ticket.pk]
    bodies = [m["body"] for m in portal["messages"]]
    assert any("my account is broken" in b for b in bodies)
    assert any(b.startswith("Hi Zelda, we are on it") for b in bodies)  # the agent's public reply
    files = sorted(a["filename"] for m in portal["messages"] for a in m["attachments"])
    assert files == ["log.txt", "zelda-passport.txt"]
    assert [s["comment"] for s in data["survey_responses"]] == [f"Great help for Zelda {MARKER}"]
    assert data["kb_feedback"][0]["comment"] == f"Zelda says no {MARKER}"
    assert data["kb_searches"][0]["query"].startswith("zelda")
    assert data["notification_preferences"] == [
        {"kind": "agent_reply", "enabled": False, "updated_at": data["notification_preferences"][0]["updated_at"]}
    ]
    assert data["api_tokens"][0]["name"] == f"{NAME}'s laptop" and "token_hash" not in text
    assert len(data["emails_sent"]) == 1 and MARKER in data["emails_sent"][0]["raw"]
    assert {e["kind"] for e in data["events_as_actor"]} >= {"ticket.created", "message.created", "csat.responded"}


def test_export_leaves_out_internal_notes_and_other_customers(history):
    stranger = CustomerFactory(email="carl.stranger@else.example", name="Carl Stranger")
    ticket_make(queue=history.portal_ticket.queue, requester=stranger, subject="Carl's own", body="Carlsecret9")
    text = json.dumps(selectors.person_export(user=history.person))
    assert "Internal:" not in text and "she seems upset" not in text  # a note on her own ticket
    assert "Otherperson5521 secret" not in text  # a note on the ticket she is CC'd on
    assert f"Check with {EMAIL}" not in text  # a note elsewhere mentioning her
    assert "Carlsecret9" not in text and "carl.stranger" not in text
    assert history.unrelated_ticket.subject not in text
    assert "olga.other@elsewhere.example" not in text
    assert "VIP" not in text  # the assignment reason is staff work


def test_admin_export_is_audited(history, client):
    client.force_login(history.admin)
    response = client.get(f"/api/v1/people/{history.person.pk}/export/")
    assert response.status_code == 200
    assert response.json()["account"]["email"] == EMAIL
    audit = PrivacyAuditEvent.objects.get(kind=PrivacyAuditEvent.Kind.EXPORTED)
    assert (audit.subject_id, audit.actor_id, audit.via) == (history.person.pk, history.admin.pk, "api")
    assert EMAIL not in json.dumps(audit.data)


def test_customer_downloads_own_data_from_the_portal(history, client):
    client.force_login(history.person)
    page = client.get("/privacy/my-data/")
    assert page.status_code == 200 and b"/privacy/my-data/export/" in page.content
    assert b"My data" in client.get("/portal/").content  # linked from the portal navigation
    response = client.get("/privacy/my-data/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["account"]["email"] == EMAIL
    assert PrivacyAuditEvent.objects.filter(subject=history.person, actor=history.person, via="portal").exists()


def test_portal_export_is_only_ever_ones_own(history, client):
    """The portal download has no id to tamper with: Olga gets Olga."""
    client.force_login(history.other)
    data = json.loads(client.get("/privacy/my-data/export/").content)
    assert data["account"]["email"] == "olga.other@elsewhere.example"
    assert EMAIL not in json.dumps(data["account"])


def test_anonymous_portal_export_redirects_to_login(client, db):
    response = client.get("/privacy/my-data/export/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_portal_export_is_throttled(history, client):
    client.force_login(history.person)
    for _ in range(10):
        assert client.get("/privacy/my-data/export/").status_code == 200
    refused = client.get("/privacy/my-data/export/")
    assert refused.status_code == 429 and b"try again later" in refused.content
