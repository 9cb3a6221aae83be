"""/api/v1/metrics/: per-ticket metrics and summaries, with access control."""

import io
import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import AgentFactory, CustomerFactory, ManagerFactory
from tests.metrics.jsonl_events import FIXTURES
from tickets.models import Ticket

EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


@pytest.fixture
def world(db):
    call_command("helpdesk_config", "apply", str(FIXTURES / "config.json"), stdout=io.StringIO())
    call_command("import_tickets", str(FIXTURES / "examples.jsonl"), stdout=io.StringIO(), stderr=io.StringIO())
    call_command("metrics_rebuild", "--as-of", EXPECTED["as_of"], stdout=io.StringIO(), stderr=io.StringIO())
    return {
        "numbers": dict(Ticket.objects.values_list("external_id", "pk")),
        "alice": User.objects.get(email="alice@acme.test"),
        "carol": User.objects.get(email="carol@acme.test"),
    }


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_ticket_metrics_for_manager_and_queue_agent(world):
    pk = world["numbers"]["T-105"]
    for user in (ManagerFactory(), world["alice"]):
        response = client_for(user).get(f"/api/v1/metrics/tickets/{pk}/")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["external_id"] == "T-105"
        assert body["frt_bus_s"] == 19800
        assert body["sla_first_reply_outcome"] == "breached"
        assert body["resolver"] == "bob@acme.test"


def test_ticket_metrics_hidden_from_other_queue_agent_and_customers(world):
    pk = world["numbers"]["T-105"]  # tier1; carol is tier2 only
    assert client_for(world["carol"]).get(f"/api/v1/metrics/tickets/{pk}/").status_code == 404
    assert client_for(AgentFactory()).get(f"/api/v1/metrics/tickets/{pk}/").status_code == 404
    requester = Ticket.objects.get(pk=pk).requester
    requester.is_active = True  # imported requesters have no login until they sign up
    requester.save(update_fields=["is_active"])
    assert client_for(requester).get(f"/api/v1/metrics/tickets/{pk}/").status_code == 403
    assert client_for(CustomerFactory()).get(f"/api/v1/metrics/tickets/{pk}/").status_code == 404
    assert APIClient().get(f"/api/v1/metrics/tickets/{pk}/").status_code in (401, 403)


def test_summary_for_manager_is_e10b(world):
    response = client_for(ManagerFactory()).get(
        "/api/v1/metrics/summary/", {"start": "2025-11-04", "end": "2025-11-04"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    frt = body["durations"]["frt_cal_s"]
    assert (frt["n"], frt["median_s"]) == (3, 1560)
    assert frt["p90_s"] == pytest.approx(62232)
    assert body["tickets_created"] == 2
    assert body["tickets_resolved"] == 3
    assert (body["sla"]["breached"], body["sla"]["with_outcome"]) == (1, 2)
    assert (body["fcr"]["fcr"], body["fcr"]["eligible"]) == (1, 3)


def test_summary_for_agent_is_only_their_own(world):
    alice = world["alice"]
    body = (
        client_for(alice)
        .get("/api/v1/metrics/summary/", {"start": "2025-11-04", "end": "2025-11-04", "agent": 999})
        .json()
    )
    assert body["filters"]["agent_id"] == alice.pk
    # Tue 11-04 first replies: T-105 bob, T-110 alice, T-111 alice
    assert body["durations"]["frt_cal_s"]["n"] == 2
    assert body["tickets_resolved"] == 1  # T-111 (resolver alice); T-105 and T-110 are bob's


def test_summary_refuses_customers_and_bad_input(world):
    assert client_for(CustomerFactory()).get("/api/v1/metrics/summary/").status_code == 403
    bad = client_for(ManagerFactory()).get("/api/v1/metrics/summary/", {"start": "2025-11-05", "end": "2025-11-04"})
    assert bad.status_code == 400
