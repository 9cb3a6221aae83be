"""Webhooks, configuration, KB and CSAT through the API (real PostgreSQL)."""

import pytest

from knowledge_base import services as kb_services
from knowledge_base.models import ArticleFeedback
from tests.factories import ticket_make
from tickets import services
from tickets.models import HelpdeskSetting, TicketEvent
from webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db


# --- webhooks ------------------------------------------------------------------


def test_webhook_secret_is_shown_once(api_client_for, manager):
    client = api_client_for(manager)
    created = client.post(
        "/api/v1/webhooks/", {"url": "https://example.com/in", "events": ["status.changed"]}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    sub = WebhookSubscription.objects.get(pk=body["id"])
    assert body["secret"] == sub.secret and body["secret"].startswith("whsec_")
    assert body["events"] == ["status.changed"] and body["active"] is True
    listed = client.get("/api/v1/webhooks/").json()
    assert [r["id"] for r in listed["results"]] == [sub.pk]
    assert "secret" not in listed["results"][0]
    assert sub.secret not in client.get(f"/api/v1/webhooks/{sub.pk}/").content.decode()


def test_webhook_bad_input_is_a_json_400(api_client_for, manager):
    client = api_client_for(manager)
    response = client.post("/api/v1/webhooks/", {"url": "ftp://x", "events": ["nope"]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body["details"]) == {"url", "events"}


def test_webhook_update_delete_deliveries_and_replay(api_client_for, manager, queue, customer, agent):
    client = api_client_for(manager)
    sub_id = client.post("/api/v1/webhooks/", {"url": "https://example.com/in", "events": ["*"]}, format="json").json()[
        "id"
    ]
    changed = client.post(
        f"/api/v1/webhooks/{sub_id}/update/", {"events": ["status.changed"], "include_internal": True}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["events"] == ["status.changed"] and changed.json()["include_internal"] is True
    ticket = ticket_make(queue=queue, requester=customer)
    services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent)
    log = client.get(f"/api/v1/webhooks/{sub_id}/deliveries/").json()["results"]
    assert [(r["event_kind"], r["status"], r["attempts"]) for r in log] == [("status.changed", "pending", 0)]
    assert log[0]["payload"]["ticket_id"] == ticket.pk
    delivery_id = log[0]["id"]
    WebhookDelivery.objects.filter(pk=delivery_id).update(status="failed", attempts=10)
    replayed = client.post(f"/api/v1/webhooks/{sub_id}/deliveries/{delivery_id}/replay/")
    assert replayed.status_code == 202
    assert (replayed.json()["status"], replayed.json()["attempts"], replayed.json()["replays"]) == ("pending", 0, 1)
    # A delivery of another subscription is not found under this one.
    other = client.post("/api/v1/webhooks/", {"url": "https://example.org/x", "events": ["*"]}, format="json").json()
    assert client.post(f"/api/v1/webhooks/{other['id']}/deliveries/{delivery_id}/replay/").status_code == 404
    # DELETE deactivates; replay then answers 409.
    deleted = client.delete(f"/api/v1/webhooks/{sub_id}/")
    assert deleted.status_code == 200 and deleted.json()["active"] is False
    assert WebhookSubscription.objects.filter(pk=sub_id, active=False).exists()
    conflict = client.post(f"/api/v1/webhooks/{sub_id}/deliveries/{delivery_id}/replay/")
    assert conflict.status_code == 409 and conflict.json()["code"] == "subscription_inactive"
    assert client.get("/api/v1/webhooks/999999/").status_code == 404


def test_disabled_notice_is_visible(api_client_for, manager):
    from django.utils import timezone

    sub = WebhookSubscription.objects.create(
        url="https://example.com/x",
        events=["*"],
        secret="whsec_x",
        active=False,
        disabled_at=timezone.now(),
        disabled_reason="Disabled automatically after 20 consecutive failed deliveries",
        failure_count=20,
    )
    body = api_client_for(manager).get(f"/api/v1/webhooks/{sub.pk}/").json()
    assert body["disabled_reason"].startswith("Disabled automatically") and body["disabled_at"]
    again = api_client_for(manager).post(f"/api/v1/webhooks/{sub.pk}/update/", {"active": True}, format="json")
    assert again.json()["active"] is True and again.json()["disabled_at"] is None
    assert again.json()["failure_count"] == 0


# --- configuration -----------------------------------------------------------------


def test_config_get_and_dry_run_put(api_client_for, manager, queue):
    client = api_client_for(manager)
    doc = client.get("/api/v1/config/").json()
    assert [q["slug"] for q in doc["queues"]] == ["tech"]
    doc["reporting"] = {"timezone": "Europe/Paris"}
    dry = client.put("/api/v1/config/?dry_run=true", doc, format="json")
    assert dry.status_code == 200, dry.json()
    assert dry.json()["dry_run"] is True and dry.json()["created"] + dry.json()["updated"] >= 1
    assert not HelpdeskSetting.objects.filter(key="reporting.timezone").exists()
    real = client.put("/api/v1/config/", doc, format="json")
    assert real.status_code == 200 and real.json()["dry_run"] is False
    assert HelpdeskSetting.objects.get(key="reporting.timezone").value == "Europe/Paris"
    again = client.put("/api/v1/config/", doc, format="json").json()
    assert again["created"] == 0 and again["updated"] == 0


def test_config_invalid_document_is_a_400_with_paths(api_client_for, manager):
    response = api_client_for(manager).put(
        "/api/v1/config/", {"queues": [{"slug": "x y", "kind": "nope"}], "bogus": 1}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_config"
    paths = {p["path"] for p in body["details"]["problems"]}
    assert {"$.bogus", "queues[0].kind", "queues[0].slug"} <= paths, paths
    not_object = api_client_for(manager).put("/api/v1/config/", [1, 2], format="json")
    assert not_object.status_code == 400 and not_object.json()["details"]["problems"][0]["path"] == "$"


# --- knowledge base -----------------------------------------------------------------


@pytest.fixture
def articles(manager):
    public = kb_services.article_create(title="Reset your password", body="Click forgot password.", actor=manager)
    kb_services.article_publish(article_id=public.pk, actor=manager)
    internal = kb_services.article_create(
        title="Password reset override", body="Staff password tool.", actor=manager, visibility="internal"
    )
    kb_services.article_publish(article_id=internal.pk, actor=manager)
    draft = kb_services.article_create(title="Password draft", body="Unpublished password notes.", actor=manager)
    return {"public": public, "internal": internal, "draft": draft}


def test_kb_search_by_role(api_client_for, articles, agent):
    anon = api_client_for(None).get("/api/v1/kb/search/", {"q": "password"})
    assert anon.status_code == 200
    assert [r["slug"] for r in anon.json()["results"]] == [articles["public"].slug]
    assert "<mark>" in anon.json()["results"][0]["snippet_html"]
    staff = api_client_for(agent).get("/api/v1/kb/search/", {"q": "password"}).json()
    assert {r["slug"] for r in staff["results"]} == {articles["public"].slug, articles["internal"].slug}
    assert api_client_for(None).get("/api/v1/kb/search/").status_code == 400


def test_kb_article_and_feedback(api_client_for, articles, customer):
    anon = api_client_for(None)
    got = anon.get(f"/api/v1/kb/articles/{articles['public'].slug}/")
    assert got.status_code == 200 and got.json()["title"] == "Reset your password"
    assert anon.get(f"/api/v1/kb/articles/{articles['internal'].slug}/").status_code == 404
    assert anon.get(f"/api/v1/kb/articles/{articles['draft'].slug}/").status_code == 404
    assert api_client_for(customer).get(f"/api/v1/kb/articles/{articles['internal'].slug}/").status_code == 404
    url = f"/api/v1/kb/articles/{articles['public'].slug}/feedback/"
    assert anon.post(url, {"helpful": True}, format="json").status_code == 401
    client = api_client_for(customer)
    assert client.post(url, {"helpful": False, "comment": "unclear"}, format="json").status_code == 200
    assert client.post(url, {"helpful": True}, format="json").json()["helpful"] is True
    fb = ArticleFeedback.objects.get(article=articles["public"])
    assert (fb.user_id, fb.helpful) == (customer.pk, True)
    internal_url = f"/api/v1/kb/articles/{articles['internal'].slug}/feedback/"
    assert client.post(internal_url, {"helpful": True}, format="json").status_code == 404


# --- CSAT -----------------------------------------------------------------------------


def test_csat_by_the_requester_of_a_solved_ticket(api_client_for, queue, customer, agent):
    ticket = ticket_make(queue=queue, requester=customer)
    client = api_client_for(customer)
    url = f"/api/v1/tickets/{ticket.pk}/csat/"
    early = client.post(url, {"rating": 4}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "not_solved"
    services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    assert client.post(url, {"rating": 6}, format="json").status_code == 400
    assert api_client_for(agent).post(url, {"rating": 5}, format="json").status_code == 403
    answer = client.post(url, {"rating": 4, "comment": "Quick, thanks"}, format="json")
    assert answer.status_code == 201
    event = TicketEvent.objects.get(ticket=ticket, kind="csat.responded")
    assert answer.json()["event_id"] == event.pk
    assert event.data["value"] == 4 and event.data["comment"] == "Quick, thanks"
    assert event.actor_id == customer.pk and event.actor_role == "customer"


def test_unknown_paths_with_odd_characters_answer_json(api_client_for, customer):
    response = api_client_for(customer).post("/api/v1/kb/articles/%C2%AA%0A/feedback/", {"helpful": True})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"
