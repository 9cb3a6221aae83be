"""Every /api/v1/ endpoint × role, generated from the URL conf.

The endpoints are discovered by walking django.urls.get_resolver(), so a new
endpoint fails `test_every_endpoint_is_in_the_matrix` until its expected
answers are written into EXPECT. Objects belong to `customer` (requester)
in `agent`'s queue: for other_customer and other_agent they are foreign,
for the owner and the queue's agent their own; managers see every queue.
"""

import re
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from apikeys import services as token_services
from tests.factories import ticket_make

ROLES = ("anonymous", "customer", "other_customer", "agent", "other_agent", "manager")


@dataclass(frozen=True)
class Endpoint:
    name: str  # namespaced URL name
    method: str
    has_pk: bool


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}{p.namespace}:"
            yield from _walk(p.url_patterns, route, ns)
        elif isinstance(p, URLPattern) and route.startswith("api/v1/"):
            yield route, f"{namespace}{p.name}", p.callback


def discover() -> list[Endpoint]:
    found = set()
    for route, name, callback in _walk(get_resolver().url_patterns):
        has_pk = bool(re.search(r"<(\w+:)?pk>|\(\?P<pk>", route))
        actions = getattr(callback, "actions", None)
        if actions:
            methods = [m.upper() for m in actions]
        else:
            view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
            verbs = ("get", "post", "put", "patch", "delete")
            methods = [m.upper() for m in getattr(view_class, "http_method_names", ["get"]) if m in verbs]
            methods = [m for m in methods if hasattr(view_class, m.lower())]
        for method in methods:
            found.add(Endpoint(name=name, method=method, has_pk=has_pk))
    return sorted(found, key=lambda e: (e.name, e.method))


ENDPOINTS = discover()

#            anonymous, customer, other_customer, agent, other_agent, manager
OPEN = (200, 200, 200, 200, 200, 200)
AUTHED = (401, 200, 200, 200, 200, 200)
OWN_TICKET_READ = (401, 200, 404, 200, 404, 200)
STAFF_COMMAND = (401, 403, 404, 200, 404, 200)
MANAGER_ONLY = (401, 403, 403, 403, 403, 200)
EXPECT: dict[tuple[str, str], tuple[int, ...]] = {
    ("api:ticket-list", "GET"): AUTHED,
    ("api:ticket-list", "POST"): (401, 201, 201, 201, 201, 201),
    ("api:ticket-create-many", "POST"): (401, 201, 201, 201, 201, 201),
    ("api:ticket-detail", "GET"): OWN_TICKET_READ,
    ("api:ticket-messages", "GET"): OWN_TICKET_READ,
    ("api:ticket-reply", "POST"): (401, 201, 404, 201, 404, 201),
    ("api:ticket-note", "POST"): (401, 403, 404, 201, 404, 201),
    ("api:ticket-attachments", "POST"): (401, 201, 404, 201, 404, 201),
    ("api:ticket-transition", "POST"): OWN_TICKET_READ,  # to solved: the owner may
    ("api:ticket-assign", "POST"): STAFF_COMMAND,
    ("api:ticket-escalate", "POST"): STAFF_COMMAND,
    ("api:ticket-merge", "POST"): STAFF_COMMAND,
    ("api:ticket-tag", "POST"): STAFF_COMMAND,
    ("api:ticket-priority", "POST"): STAFF_COMMAND,
    # Ticket operations (issue #14): staff who see the ticket; delete and
    # restore-from-trash are for managers and admins.
    ("api:ticket-properties", "POST"): STAFF_COMMAND,
    ("api:ticket-link", "POST"): STAFF_COMMAND,
    ("api:ticket-unlink", "POST"): STAFF_COMMAND,
    ("api:ticket-ccs", "POST"): STAFF_COMMAND,
    ("api:ticket-spam", "POST"): STAFF_COMMAND,
    # from spam: a spam ticket is hidden from its requester too (404)
    ("api:ticket-restore", "POST"): (401, 404, 404, 200, 404, 200),
    ("api:ticket-delete", "POST"): (401, 403, 404, 403, 404, 200),
    ("api:ticket-split", "POST"): (401, 403, 404, 201, 404, 201),
    ("api:attachment-download", "GET"): OWN_TICKET_READ,
    ("api:event-list", "GET"): AUTHED,
    ("api:queue-list", "GET"): AUTHED,
    ("api:request-type-list", "GET"): AUTHED,
    ("api:me", "GET"): AUTHED,
    ("api:not-found", "GET"): (404,) * 6,
    ("api:not-found", "POST"): (404,) * 6,
    ("api:token-list", "GET"): AUTHED,
    ("api:token-list", "POST"): (401, 201, 201, 201, 201, 201),
    ("api:token-revoke", "POST"): (401, 200, 404, 404, 404, 404),  # the customer's token
    # metrics (issue: metrics API): staff only; the ticket's own requester gets 403.
    ("metrics-api:ticket", "GET"): (401, 403, 404, 200, 404, 200),
    ("metrics-api:summary", "GET"): (401, 403, 403, 200, 200, 200),
    ("metrics-api:surveys", "GET"): MANAGER_ONLY,  # issue 15: survey results
    ("metrics-api:nps-responses", "GET"): MANAGER_ONLY,  # issue 15: NPS answers
    ("api:not-found", "PUT"): (404,) * 6,
    ("api:not-found", "PATCH"): (404,) * 6,
    ("api:not-found", "DELETE"): (404,) * 6,
    # CSAT: the requester of the (solved) ticket only.
    ("api:ticket-csat", "POST"): (401, 201, 404, 403, 404, 403),
    # Webhooks and the configuration document: managers and admins.
    ("api:webhook-list", "GET"): MANAGER_ONLY,
    ("api:webhook-list", "POST"): (401, 403, 403, 403, 403, 201),
    ("api:webhook-detail", "GET"): MANAGER_ONLY,
    ("api:webhook-detail", "DELETE"): MANAGER_ONLY,
    ("api:webhook-update", "POST"): MANAGER_ONLY,
    ("api:webhook-deliveries", "GET"): MANAGER_ONLY,
    ("api:webhook-delivery-replay", "POST"): (401, 403, 403, 403, 403, 202),
    ("api:config", "GET"): MANAGER_ONLY,
    ("api:config", "PUT"): MANAGER_ONLY,
    ("api:config-history", "GET"): MANAGER_ONLY,
    # Staff sign-in policy (docs/sign-in.md): managers read, only admins change
    # (the matrix has no admin: tests/accounts/test_two_factor.py covers them).
    ("api:config-sign-in", "GET"): MANAGER_ONLY,
    ("api:config-sign-in", "PUT"): (401, 403, 403, 403, 403, 403),
    # KB: public published articles for everyone; feedback needs a login.
    ("api:kb-search", "GET"): OPEN,
    ("api:kb-article", "GET"): OPEN,
    ("api:kb-article-feedback", "POST"): AUTHED,
    # KB translations (docs/languages.md): read with the article; the article
    # is published, so only managers change or remove its translations.
    ("api:kb-article-translations", "GET"): OPEN,
    ("api:kb-article-translation", "GET"): OPEN,
    ("api:kb-article-translation", "PUT"): MANAGER_ONLY,
    ("api:kb-article-translation", "DELETE"): (401, 403, 403, 403, 403, 204),
    # Privacy (export / erasure of a person): admins only, and the matrix
    # has no admin role (tests/privacy cover admins).
    ("api:person-export", "GET"): (401, 403, 403, 403, 403, 403),
    ("api:person-erase", "POST"): (401, 403, 403, 403, 403, 403),
    # Settings part B (automation/api.py, docs/automation.md): macros for
    # staff (the one used here is shared: only managers change it; agents
    # create personal ones), routing rules for managers.
    ("automation-api:macro-list", "GET"): (401, 403, 403, 200, 200, 200),
    ("automation-api:macro-list", "POST"): (401, 403, 403, 201, 201, 201),
    ("automation-api:macro-detail", "GET"): MANAGER_ONLY,
    ("automation-api:macro-detail", "PUT"): MANAGER_ONLY,
    ("automation-api:macro-detail", "PATCH"): MANAGER_ONLY,
    ("automation-api:rule-list", "GET"): MANAGER_ONLY,
    ("automation-api:rule-list", "POST"): (401, 403, 403, 403, 403, 201),
    ("automation-api:rule-detail", "GET"): MANAGER_ONLY,
    ("automation-api:rule-detail", "PUT"): MANAGER_ONLY,
    ("automation-api:rule-detail", "PATCH"): MANAGER_ONLY,
    ("automation-api:rule-test", "GET"): MANAGER_ONLY,
    # Customer success (docs/customer-success.md): managers and agents of a
    # service queue (other_agent works in "billing", a service queue).
    ("api:success-accounts", "GET"): (401, 403, 403, 403, 200, 200),
    ("api:success-account", "GET"): (401, 403, 403, 403, 200, 200),
    ("api:schema", "GET"): OPEN,
    ("api:docs", "GET"): OPEN,
    ("api:redoc", "GET"): OPEN,
}


def test_endpoints_are_discovered():
    """The walk finds the API (guards against a silently empty matrix)."""
    names = {e.name for e in ENDPOINTS}
    assert {"api:ticket-list", "api:ticket-detail", "api:event-list", "api:schema"} <= names
    assert len(ENDPOINTS) >= 20


def test_every_endpoint_is_in_the_matrix():
    """A new endpoint must be given its expected answers per role here."""
    discovered = {(e.name, e.method) for e in ENDPOINTS}
    missing = discovered - set(EXPECT)
    # Entries of other apps' namespaces may wait for their code to land.
    stale = {key for key in set(EXPECT) - discovered if key[0].startswith("api:")}
    assert not missing, f"add these endpoints to EXPECT: {sorted(missing)}"
    assert not stale, f"EXPECT lists endpoints that no longer exist: {sorted(stale)}"


def _request(endpoint, world, user, client):
    own = world["own"]
    pk = None
    name = endpoint.name
    payload: dict = {}
    fmt = "json"
    kwargs: dict = {}
    if name.startswith("api:webhook-"):
        sub = world["webhook"]
        pk = sub.pk
        if name == "api:webhook-delivery-replay":
            kwargs["delivery_id"] = world["webhook_delivery"].pk
        elif name == "api:webhook-update":
            payload = {"events": ["status.changed"], "active": True}
    if name == "api:webhook-list" and endpoint.method == "POST":
        payload = {"url": "https://example.com/hook", "events": ["*"]}
    if name == "api:config-sign-in" and endpoint.method == "PUT":
        payload = {"required_roles": ["agent"], "oidc_satisfies_2fa": True}
    if name == "api:config" and endpoint.method == "PUT":
        from tickets.config import config_dump

        payload = config_dump()
    if name.startswith("api:kb-article"):
        kwargs["slug"] = world["article"].slug
    if name == "api:kb-article-feedback":
        payload = {"helpful": True, "comment": "Nice"}
    if name == "api:kb-article-translation":
        from knowledge_base import services as kb_services

        kb_services.article_translation_save(
            article_id=world["article"].pk, language="de", title="Drucker", body="Text", actor=world["users"]["manager"]
        )
        kwargs["language"] = "de"
        payload = {"title": "Drucker reparieren", "body": "So geht es."}
    if name == "api:ticket-csat":
        from tickets import services as ticket_services

        ticket_services.ticket_transition(ticket_id=own.pk, target="solved", actor=world["users"]["agent"])
        payload = {"rating": 5, "comment": "Great"}
    if (name.startswith("api:ticket-") or name == "metrics-api:ticket") and endpoint.has_pk:
        pk = own.pk
    if name == "metrics-api:ticket":
        from metrics import services as metrics_services

        metrics_services.tickets_recompute(ticket_ids=[own.pk])
    if name == "api:attachment-download":
        pk = world["public_attachment"].pk
    if name == "api:token-revoke":
        pk = token_services.api_token_create(user=world["users"]["customer"], name="ci").token.pk
    if name == "api:ticket-list" and endpoint.method == "POST":
        payload = {"subject": "New one", "body": "Details", "request_type": "broken"}
    elif name == "api:ticket-create-many":
        payload = {"tickets": [{"subject": "New one", "body": "Details", "request_type": "broken"}]}
    elif name in ("api:ticket-reply", "api:ticket-note"):
        payload = {"body": "Hello"}
    elif name == "api:ticket-transition":
        payload = {"status": "solved"}
    elif name == "api:ticket-assign":
        payload = {"assignee_id": world["users"]["agent"].pk}
    elif name == "api:ticket-escalate":
        payload = {"queue": "billing", "reason": "It is about money"}
    elif name == "api:ticket-merge":
        target = ticket_make(queue=own.queue, requester=own.requester, subject="Duplicate")
        payload = {"target_id": target.pk}
    elif name == "api:ticket-tag":
        payload = {"add": ["vip"]}
    elif name == "api:ticket-properties":
        payload = {"priority": "high", "tags": ["vip"]}
    elif name in ("api:ticket-link", "api:ticket-unlink"):
        other = ticket_make(queue=own.queue, requester=own.requester, subject="Related")
        if name == "api:ticket-unlink":
            from tickets import services as ticket_services

            ticket_services.ticket_link(ticket_id=own.pk, other_id=other.pk, actor=None)
        payload = {"ticket_id": other.pk}
    elif name == "api:ticket-ccs":
        payload = {"emails": [world["users"]["other_customer"].email]}
    elif name == "api:ticket-restore":
        from tickets import services as ticket_services

        ticket_services.ticket_mark_spam(ticket_id=own.pk, actor=None)
    elif name == "api:ticket-split":
        from tickets import services as ticket_services

        message = ticket_services.message_post(ticket_id=own.pk, author=own.requester, body="Also: my printer")
        payload = {"message_id": message.pk}
    elif name == "api:ticket-priority":
        payload = {"priority": "high"}
    elif name == "api:ticket-attachments":
        payload = {"files": [SimpleUploadedFile("log.txt", b"log lines", content_type="text/plain")], "body": "log"}
        fmt = "multipart"
    elif name == "api:token-list" and endpoint.method == "POST":
        payload = {"name": "script"}
    if name.startswith("api:person-"):
        kwargs["user_id"] = world["users"]["customer"].pk
        payload = {"confirm_email": world["users"]["customer"].email}
    if name == "api:success-account":
        kwargs["kind"], pk = "customer", own.requester_id
    if name.startswith("automation-api:"):
        return _automation_request(endpoint, world, client)
    if name == "api:kb-search":
        return client.get(reverse(name), {"q": "printer"})
    if name == "api:not-found":
        url = reverse(name, kwargs={"path": "no/such/thing/"})
    else:
        if endpoint.has_pk:
            kwargs["pk"] = pk
        url = reverse(name, kwargs=kwargs)
    if endpoint.method == "GET":
        return client.get(url)
    return getattr(client, endpoint.method.lower())(url, payload, format=fmt)


def _automation_request(endpoint, world, client):
    from tickets.models import Macro, RoutingRule

    name, method = endpoint.name, endpoint.method
    queue_id = world["own"].queue_id
    macro = {"name": "Thanks", "body": "Thanks {{ requester.first_name }}", "personal": True, "set_priority": "low"}
    rule = {"name": "VIP", "requester_domains": ["vip.example"], "set_queue": queue_id}
    if name.endswith("-detail"):
        if "macro" in name:
            obj_id = Macro.objects.create(name="Shared", body="Hi", actions={}).pk
            url = reverse(name, kwargs={"macro_id": obj_id})
            payload = {**macro, "personal": False} if method == "PUT" else {"name": "Renamed"}
        else:
            obj_id = RoutingRule.objects.create(name="R", set_priority="high").pk
            url = reverse(name, kwargs={"rule_id": obj_id})
            payload = rule if method == "PUT" else {"name": "Renamed"}
    else:
        url = reverse(name)
        payload = macro if "macro" in name else rule
    if name == "automation-api:rule-test":
        return client.get(url, {"ticket": world["own"].pk})
    if method == "GET":
        return client.get(url)
    return getattr(client, method.lower())(url, payload, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.name}")
def test_permission_matrix(endpoint, role, world, api_client_for):
    """Each role gets exactly the status the matrix expects; denials are
    JSON errors with a code, and a foreign object is a 404, never a 403."""
    expected_row = EXPECT.get((endpoint.name, endpoint.method))
    assert expected_row is not None, f"{endpoint} is not in EXPECT"
    expected = expected_row[ROLES.index(role)]
    user = world["users"][role]
    response = _request(endpoint, world, user, api_client_for(user))
    assert response.status_code == expected, (role, endpoint, getattr(response, "data", None))
    if expected >= 400:
        body = response.json()
        assert set(body) == {"code", "message", "details"}
        assert body["code"]


# --- The other objects an action touches (docs/access-control.md) -------------
# Each command on `own` names a second object: a status the role may not ask
# for, an assignee outside the ticket's queue, a same-kind queue the agent
# does not work in, a merge target in a queue the agent cannot see. The
# target is checked like the ticket: 400 on the field (409 for a status).
#                       anonymous, customer, other_customer, agent, other_agent, manager
TARGET_RULES = {
    "reopen-by-status": (401, 409, 404, 200, 404, 200),
    "assign-outside-queue": (401, 403, 404, 400, 404, 400),
    "escalate-same-kind-foreign-queue": (401, 403, 404, 400, 404, 200),
    "merge-into-unseen-ticket": (401, 403, 404, 400, 404, 200),
}


def _target_rule_request(rule, world, client):
    from tests.factories import QueueFactory
    from tickets import services as ticket_services

    own = world["own"]
    if rule == "reopen-by-status":
        ticket_services.ticket_transition(ticket_id=own.pk, target="solved", actor=world["users"]["agent"])
        return client.post(reverse("api:ticket-transition", kwargs={"pk": own.pk}), {"status": "open"}, format="json")
    if rule == "assign-outside-queue":
        payload = {"assignee_id": world["users"]["other_agent"].pk}
        return client.post(reverse("api:ticket-assign", kwargs={"pk": own.pk}), payload, format="json")
    if rule == "escalate-same-kind-foreign-queue":
        QueueFactory(slug="hardware", name="Hardware", kind=own.queue.kind)
        payload = {"queue": "hardware", "reason": "wrong team"}
        return client.post(reverse("api:ticket-escalate", kwargs={"pk": own.pk}), payload, format="json")
    payload = {"target_id": world["foreign"].pk}
    return client.post(reverse("api:ticket-merge", kwargs={"pk": own.pk}), payload, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("rule", sorted(TARGET_RULES))
def test_target_rules_matrix(rule, role, world, api_client_for):
    expected = TARGET_RULES[rule][ROLES.index(role)]
    response = _target_rule_request(rule, world, api_client_for(world["users"][role]))
    assert response.status_code == expected, (rule, role, getattr(response, "data", None))
    if expected == 400:
        assert set(response.json()["details"]) & {"assignee_id", "queue", "target_id"}
