"""Settings → Routing rules: form controls, validation shared with the API,
ordering, enable/disable, test against a ticket, and the permission matrix."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from tests.factories import CustomerFactory, UserFactory, ticket_make
from tickets.models import RoutingRule, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return UserFactory(role="admin", email="root@acme.test")


def _rule(name, position, **kw):
    return RoutingRule.objects.create(name=name, position=position, **kw)


def test_manager_creates_rule_with_form_controls(client, manager, service_queue):
    client.force_login(manager)
    r = client.post(
        reverse("automation:rule-create"),
        {
            "name": "Invoices to billing",
            "is_active": "on",
            "channels": ["portal", "email"],
            "requester_domains": "Acme.com, @acme.org",
            "keywords": "invoice, refund",
            "set_queue": service_queue.pk,
            "set_priority": "high",
            "add_tags": "billing",
        },
    )
    assert r.status_code == 302
    rule = RoutingRule.objects.get()
    assert rule.channels == ["portal", "email"]
    assert rule.requester_domains == ["acme.com", "acme.org"]
    assert rule.keywords == ["invoice", "refund"]
    assert (rule.set_queue, rule.set_priority, rule.add_tags) == (service_queue, "high", ["billing"])
    assert LogEntry.objects.get_for_object(rule).filter(action=LogEntry.Action.CREATE).exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"requester_domains": "acme"}, "requester_domains", "Not a domain name: acme"),
        ({"channels": ["fax"]}, "channels", "Select a valid choice"),
        ({"set_priority": "asap"}, "set_priority", "Select a valid choice"),
        ({"set_queue": ""}, "__all__", "Choose at least one action"),
    ],
)
def test_invalid_rule_refused_on_page_and_api(client, manager, queue, data, field, message):
    base = {"name": "R", "is_active": "on", "set_queue": queue.pk}
    client.force_login(manager)
    r = client.post(reverse("automation:rule-create"), {**base, **data})
    assert r.status_code == 400
    assert message in " ".join(r.context["form"].errors[field])
    r = client.post("/api/v1/routing-rules/", {**base, **data}, content_type="application/json")
    assert r.status_code == 400
    assert message in " ".join(r.json()["details"][field])
    assert not RoutingRule.objects.exists()


def test_api_accepts_lists_and_patch(client, manager, queue):
    client.force_login(manager)
    r = client.post(
        "/api/v1/routing-rules/",
        {"name": "Acme", "requester_domains": ["acme.com"], "set_queue": queue.pk},
        content_type="application/json",
    )
    assert r.status_code == 201, r.json()
    assert r.json()["requester_domains"] == ["acme.com"] and r.json()["is_active"] is True
    rid = r.json()["id"]
    r = client.patch(f"/api/v1/routing-rules/{rid}/", {"keywords": ["vip"]}, content_type="application/json")
    assert r.status_code == 200
    assert r.json()["keywords"] == ["vip"] and r.json()["requester_domains"] == ["acme.com"]


def test_arrows_reorder_and_toggle(client, manager, queue):
    a, b, c = _rule("A", 1, set_queue=queue), _rule("B", 1, set_queue=queue), _rule("C", 5, set_queue=queue)
    client.force_login(manager)
    client.post(reverse("automation:rule-move", args=[c.pk, "up"]))
    assert list(RoutingRule.objects.order_by("position", "id").values_list("name", flat=True)) == ["A", "C", "B"]
    client.post(reverse("automation:rule-move", args=[a.pk, "down"]))
    assert list(RoutingRule.objects.order_by("position", "id").values_list("name", flat=True)) == ["C", "A", "B"]
    client.post(reverse("automation:rule-toggle", args=[b.pk]))
    b.refresh_from_db()
    assert not b.is_active


def test_test_against_ticket_shows_each_condition(client, manager, queue, service_queue):
    requester = CustomerFactory(email="ann@acme.com")
    ticket = ticket_make(queue=queue, requester=requester, subject="Invoice missing", body="Where is it?")
    _rule("Other domain", 1, requester_domains=["other.com"], set_queue=service_queue)
    _rule(
        "Acme invoices",
        2,
        requester_domains=["acme.com"],
        keywords=["invoice"],
        set_priority="high",
        stop_processing=True,
    )
    _rule("Everything", 3, add_tags=["seen"])
    _rule("Disabled", 4, is_active=False, add_tags=["x"])
    client.force_login(manager)
    r = client.get(reverse("automation:rule-list"), {"ticket": ticket.pk})
    assert r.status_code == 200
    result = r.context["result"]
    assert result["first_match"] == "Acme invoices"
    rows = {row["name"]: row for row in result["rules"]}
    assert "Disabled" not in rows
    assert rows["Other domain"]["matches"] is False
    assert rows["Other domain"]["conditions"] == [
        {"condition": "requester domain is one of other.com (is acme.com)", "holds": False}
    ]
    assert [c["holds"] for c in rows["Acme invoices"]["conditions"]] == [True, True]
    assert "found invoice" in rows["Acme invoices"]["conditions"][1]["condition"]
    assert rows["Acme invoices"]["applies"] is True
    # Matches, but the earlier rule stops processing.
    assert rows["Everything"]["matches"] is True and rows["Everything"]["applies"] is False
    html = r.content.decode()
    assert "rule <strong>Acme invoices</strong> would match first" in html
    assert "matches, but an earlier rule stops processing" in html
    api = client.get("/api/v1/routing-rules/test/", {"ticket": ticket.pk}).json()
    assert api["first_match"] == "Acme invoices"
    assert [r["applies"] for r in api["rules"]] == [False, True, False]
    # What the test says is what routing does on a new ticket.
    routed = ticket_make(
        queue=queue, requester=requester, subject="Invoice missing", body="Where is it?", channel="portal"
    )
    assert Ticket.objects.get(pk=routed.pk).priority == "high"
    assert not Ticket.objects.get(pk=routed.pk).tags.filter(name="seen").exists()


def test_test_against_missing_ticket_is_a_field_error(client, manager):
    client.force_login(manager)
    r = client.get(reverse("automation:rule-list"), {"ticket": 999999})
    assert r.status_code == 400
    assert "No ticket #999999" in r.context["test_form"].errors["ticket"][0]


@pytest.mark.parametrize(
    ("role", "page", "api"),
    [("agent", 403, 403), ("customer", 404, 403), ("manager", 200, 200), ("admin", 200, 200)],
)
def test_rule_permission_matrix(client, request, queue, role, page, api):
    rule = _rule("R", 1, set_queue=queue)
    client.force_login(request.getfixturevalue(role))
    for url in (
        reverse("automation:rule-list"),
        reverse("automation:rule-create"),
        reverse("automation:rule-edit", args=[rule.pk]),
    ):
        assert client.get(url).status_code == page, url
    post_expect = 302 if page == 200 else page
    assert client.post(reverse("automation:rule-toggle", args=[rule.pk])).status_code == post_expect
    assert client.post(reverse("automation:rule-move", args=[rule.pk, "up"])).status_code == post_expect
    r = client.post(reverse("automation:rule-edit", args=[rule.pk]), {"name": "Hacked", "add_tags": "x"})
    assert r.status_code == post_expect
    assert client.get("/api/v1/routing-rules/").status_code == api
    assert client.get(f"/api/v1/routing-rules/{rule.pk}/").status_code == api
    r = client.patch(f"/api/v1/routing-rules/{rule.pk}/", {"name": "Hacked2"}, content_type="application/json")
    assert r.status_code == api
    assert client.get("/api/v1/routing-rules/test/", {"ticket": 1}).status_code in ((403,) if api == 403 else (404,))
    rule.refresh_from_db()
    assert (rule.name == "Hacked2") == (api == 200)
