"""Ticket API behaviour: what customers never see, bad input, refused
moves, keyset pagination and bounded queries."""

import json

import pytest
from django.urls import reverse

from tests.api.conftest import SECRET_FILE, SECRET_NOTE
from tests.factories import ticket_make
from tickets.models import Message, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _all_pages(client, url):
    rows, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        url = body["next"]
        pages += 1
    return rows, pages


class TestInternalNotesNeverReachCustomers:
    def test_list_retrieve_messages_events(self, world, api_client_for, customer):
        """The owner's every view of the ticket holds no internal note, no
        internal file and no internal event data (the transition's note)."""
        client = api_client_for(customer)
        own = world["own"]
        answers = [
            client.get(reverse("api:ticket-list")),
            client.get(reverse("api:ticket-detail", kwargs={"pk": own.pk})),
            client.get(reverse("api:ticket-messages", kwargs={"pk": own.pk})),
            client.get(reverse("api:event-list")),
            client.get(reverse("api:event-list"), {"ticket": own.pk}),
        ]
        for response in answers:
            assert response.status_code == 200
            text = response.content.decode()
            assert SECRET_NOTE not in text
            assert SECRET_FILE not in text
            assert '"internal"' not in text
        messages = answers[2].json()["results"]
        assert [m["body"] for m in messages] == ["It broke.", "Public answer"]
        kinds = {e["kind"] for e in answers[3].json()["results"]}
        assert kinds == {TicketEvent.Kind.CREATED, TicketEvent.Kind.STATUS}

    def test_staff_do_see_the_note(self, world, api_client_for, agent):
        """The same reads for the queue's agent include the note (the test
        above is not passing for want of data)."""
        client = api_client_for(agent)
        own = world["own"]
        messages = client.get(reverse("api:ticket-messages", kwargs={"pk": own.pk})).json()["results"]
        assert SECRET_NOTE in [m["body"] for m in messages]
        events = client.get(reverse("api:event-list"), {"ticket": own.pk}).json()["results"]
        assert any(e["data"].get("note") == SECRET_NOTE for e in events)

    def test_internal_attachment_download_is_404_for_the_owner(self, world, api_client_for, customer, agent):
        url = reverse("api:attachment-download", kwargs={"pk": world["internal_attachment"].pk})
        assert api_client_for(customer).get(url).status_code == 404
        response = api_client_for(agent).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"secret bytes"
        assert response["Content-Disposition"].startswith("attachment")
        assert response["Content-Type"] == "application/octet-stream"

    def test_customer_cannot_upload_an_internal_file(self, world, api_client_for, customer):
        from django.core.files.uploadedfile import SimpleUploadedFile

        url = reverse("api:ticket-attachments", kwargs={"pk": world["own"].pk})
        response = api_client_for(customer).post(
            url, {"files": [SimpleUploadedFile("a.txt", b"x")], "visibility": "internal"}, format="multipart"
        )
        assert response.status_code == 403
        assert not Message.objects.filter(ticket=world["own"], body="", visibility="internal").exists()


class TestBadInput:
    @pytest.mark.parametrize(
        ("name", "payload"),
        [
            ("api:ticket-transition", {"status": "flying"}),
            ("api:ticket-transition", {}),
            ("api:ticket-reply", {"body": ""}),
            ("api:ticket-reply", {"body": ["not", "a", "string"]}),
            ("api:ticket-assign", {"assignee_id": "abc"}),
            ("api:ticket-assign", {"assignee_id": 10**30}),
            ("api:ticket-assign", {"assignee_id": 987654}),
            ("api:ticket-escalate", {"queue": "nope", "reason": "x"}),
            ("api:ticket-escalate", {"queue": "billing", "reason": ""}),
            ("api:ticket-merge", {"target_id": 0}),
            ("api:ticket-merge", {"target_id": 99999999}),
            ("api:ticket-tag", {"add": "not-a-list"}),
            ("api:ticket-priority", {"priority": "whenever"}),
            ("api:ticket-attachments", {}),
        ],
    )
    def test_commands_answer_400_with_a_code(self, world, api_client_for, manager, name, payload):
        """Every malformed command is a 400 JSON error naming the field."""
        url = reverse(name, kwargs={"pk": world["own"].pk})
        fmt = "multipart" if name == "api:ticket-attachments" else "json"
        response = api_client_for(manager).post(url, payload, format=fmt)
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["code"] in ("invalid", "reason_required")
        assert body["message"]

    def test_blocked_attachment_type(self, world, api_client_for, customer):
        from django.core.files.uploadedfile import SimpleUploadedFile

        url = reverse("api:ticket-attachments", kwargs={"pk": world["own"].pk})
        response = api_client_for(customer).post(
            url, {"files": [SimpleUploadedFile("evil.exe", b"MZ")]}, format="multipart"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "attachment_rejected"

    def test_malformed_json_body(self, world, api_client_for, manager):
        url = reverse("api:ticket-transition", kwargs={"pk": world["own"].pk})
        response = api_client_for(manager).post(url, data="{not json", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "parse_error"

    @pytest.mark.parametrize(
        "params",
        [
            {"status": "sideways"},
            {"created_after": "yesterday"},
            {"assignee": "someone"},
            {"requester": "not-an-email"},
            {"kind": "both"},
        ],
    )
    def test_list_filters_answer_400(self, world, api_client_for, agent, params):
        response = api_client_for(agent).get(reverse("api:ticket-list"), params)
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert set(response.json()["details"]) == set(params)

    def test_garbled_cursor_is_a_400(self, world, api_client_for, agent):
        response = api_client_for(agent).get(reverse("api:ticket-list"), {"cursor": "garbage!!"})
        assert response.status_code == 400
        assert response.json()["details"] == {"cursor": ["Invalid cursor."]}

    @pytest.mark.parametrize(
        "payload",
        [
            {"subject": "", "request_type": "broken"},
            {"subject": "x" * 501, "request_type": "broken"},
            {"subject": "Hi", "request_type": "no-such-type"},
            {"subject": "Hi"},
            {"subject": "Hi", "request_type": "broken", "requester_email": "boss@example.com"},
        ],
    )
    def test_customer_create_rejections(self, world, api_client_for, customer, payload):
        response = api_client_for(customer).post(reverse("api:ticket-list"), payload, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"


class TestCommands:
    def test_refused_transition_is_409(self, world, api_client_for, agent):
        """A closed ticket cannot move: 409 with the from/to facts."""
        own = world["own"]
        client = api_client_for(agent)
        url = reverse("api:ticket-transition", kwargs={"pk": own.pk})
        assert client.post(url, {"status": "closed"}, format="json").status_code == 200
        response = client.post(url, {"status": "open"}, format="json")
        assert response.status_code == 409
        assert response.json() == {
            "code": "invalid_transition",
            "message": response.json()["message"],
            "details": {"from": "closed", "to": "open"},
        }
        own.refresh_from_db()
        assert own.status == Ticket.Status.CLOSED

    def test_customer_may_only_solve(self, world, api_client_for, customer):
        url = reverse("api:ticket-transition", kwargs={"pk": world["own"].pk})
        response = api_client_for(customer).post(url, {"status": "on_hold"}, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "invalid_transition"

    def test_agent_creates_on_behalf_of_a_customer(self, world, api_client_for, agent, other_customer):
        payload = {
            "subject": "Phoned in",
            "body": "Called about the printer",
            "queue": "tech",
            "requester_email": other_customer.email.upper(),
            "priority": "high",
            "tags": ["Phone"],
        }
        response = api_client_for(agent).post(reverse("api:ticket-list"), payload, format="json")
        assert response.status_code == 201, response.content
        ticket = Ticket.objects.get(pk=response.json()["id"])
        assert (ticket.requester, ticket.channel, ticket.priority) == (other_customer, "api", "high")
        assert response.json()["tags"] == ["phone"]
        created = ticket.events.get(kind=TicketEvent.Kind.CREATED)
        assert created.actor == agent

    def test_agent_cannot_create_in_a_foreign_queue(self, world, api_client_for, agent):
        payload = {"subject": "x", "queue": "billing"}
        response = api_client_for(agent).post(reverse("api:ticket-list"), payload, format="json")
        assert response.status_code == 400
        assert "queue" in response.json()["details"]

    def test_escalation_out_of_own_queue_still_answers(self, world, api_client_for, agent):
        url = reverse("api:ticket-escalate", kwargs={"pk": world["own"].pk})
        response = api_client_for(agent).post(url, {"queue": "billing", "reason": "refund"}, format="json")
        assert response.status_code == 200
        assert (response.json()["queue"]["slug"], response.json()["kind"]) == ("billing", "service")
        event = world["own"].events.get(kind=TicketEvent.Kind.QUEUE)
        assert event.data["escalation"] is True and event.data["reason"] == "refund"

    def test_merge_into_an_invisible_ticket_is_refused(self, world, api_client_for, agent):
        url = reverse("api:ticket-merge", kwargs={"pk": world["own"].pk})
        response = api_client_for(agent).post(url, {"target_id": world["foreign"].pk}, format="json")
        assert response.status_code == 400
        assert world["own"].events.filter(kind=TicketEvent.Kind.MERGED_INTO).count() == 0


class TestLists:
    def test_cursor_pagination_returns_every_row_once(self, api_client_for, manager, queue):
        tickets = [ticket_make(queue=queue, subject=f"T{i}") for i in range(23)]
        url = reverse("api:ticket-list") + "?page_size=5"
        rows, pages = _all_pages(api_client_for(manager), url)
        ids = [r["id"] for r in rows]
        assert pages == 5
        assert ids == sorted((t.pk for t in tickets), reverse=True)

    def test_rows_inserted_while_paging_do_not_shift_pages(self, api_client_for, manager, queue):
        """Keyset: a ticket created between two pages neither repeats nor
        hides an older row."""
        first = [ticket_make(queue=queue, subject=f"T{i}") for i in range(6)]
        client = api_client_for(manager)
        page1 = client.get(reverse("api:ticket-list"), {"page_size": 3}).json()
        ticket_make(queue=queue, subject="late")
        page2 = client.get(page1["next"]).json()
        ids = [r["id"] for r in page1["results"] + page2["results"]]
        assert ids == sorted((t.pk for t in first), reverse=True)

    def test_filters(self, world, api_client_for, manager, agent, queue):
        extra = ticket_make(queue=queue, priority="urgent", tags=["vip"])
        client = api_client_for(manager)
        get = lambda **p: [r["id"] for r in client.get(reverse("api:ticket-list"), p).json()["results"]]  # noqa: E731
        assert get(queue="billing") == [world["foreign"].pk]
        assert get(kind="service") == [world["foreign"].pk]
        assert get(priority="urgent") == [extra.pk]
        assert get(tag="VIP") == [extra.pk]
        assert get(status="open") == [world["own"].pk]
        assert get(requester=world["own"].requester.email) == [world["own"].pk]
        assert set(get(status="unsolved")) == {extra.pk, world["own"].pk, world["foreign"].pk}
        assert get(assignee="none", queue="tech") == [extra.pk, world["own"].pk]
        cut = Ticket.objects.get(pk=extra.pk).created_at.isoformat()
        assert get(created_after=cut) == [extra.pk]
        assert extra.pk not in get(created_before=cut)

    def test_agent_list_is_only_their_queues(self, world, api_client_for, agent, other_agent):
        ids = {r["id"] for r in api_client_for(agent).get(reverse("api:ticket-list")).json()["results"]}
        assert ids == {world["own"].pk}
        ids = {r["id"] for r in api_client_for(other_agent).get(reverse("api:ticket-list")).json()["results"]}
        assert ids == {world["foreign"].pk}

    def test_list_query_count_is_bounded(self, api_client_for, agent, queue, django_assert_max_num_queries):
        """Queries do not grow with the page: 5 or 50 tickets, same bound."""
        from tests.factories import CustomerFactory

        client = api_client_for(agent)
        for i in range(50):
            ticket_make(queue=queue, requester=CustomerFactory(), tags=[f"t{i % 3}"])
        with django_assert_max_num_queries(4):
            response = client.get(reverse("api:ticket-list"), {"page_size": 5})
        assert len(response.json()["results"]) == 5
        with django_assert_max_num_queries(4):
            response = client.get(reverse("api:ticket-list"), {"page_size": 50})
        assert len(response.json()["results"]) == 50

    def test_event_feed_pages_by_id(self, world, api_client_for, manager):
        client = api_client_for(manager)
        seen, after = [], 0
        while True:
            body = client.get(reverse("api:event-list"), {"after": after, "limit": 2}).json()
            seen += [e["id"] for e in body["results"]]
            after = body["next_after"]
            if not body["has_more"]:
                break
        assert seen == list(TicketEvent.objects.order_by("id").values_list("id", flat=True))
        again = client.get(reverse("api:event-list"), {"after": after}).json()
        assert again["results"] == [] and again["next_after"] == after

    def test_event_feed_holds_back_fresh_events(self, world, api_client_for, manager, settings):
        settings.HELPDESK_API_EVENTS_SETTLE_SECONDS = 60
        body = api_client_for(manager).get(reverse("api:event-list")).json()
        assert body["results"] == [] and body["next_after"] == 0

    def test_event_feed_for_agent_is_their_queues(self, world, api_client_for, other_agent):
        body = api_client_for(other_agent).get(reverse("api:event-list")).json()
        assert {e["ticket_id"] for e in body["results"]} == {world["foreign"].pk}
        assert json.dumps(body).count(SECRET_NOTE) == 0


def test_customer_list_matches_the_shared_access_predicate(world, api_client_for, customer, queue):
    """The API's index-friendly customer predicate gives exactly the rows of
    tickets.selectors.ticket_list_for_user (own, CC'd, shared organisation)."""
    from accounts.models import Organisation
    from tests.factories import CustomerFactory
    from tickets import selectors, services

    org = Organisation.objects.create(name="Shared", shares_tickets=True)
    colleague = CustomerFactory(organisation=org)
    customer.organisation = org
    customer.save(update_fields=["organisation"])
    cc_ticket = ticket_make(queue=queue)
    services.ticket_set_ccs(ticket_id=cc_ticket.pk, ccs=[customer], actor=None)
    ticket_make(queue=queue, requester=colleague)
    ticket_make(queue=queue)  # someone else's: not visible
    expected = sorted(selectors.ticket_list_for_user(user=customer).values_list("pk", flat=True), reverse=True)
    got = [r["id"] for r in api_client_for(customer).get(reverse("api:ticket-list")).json()["results"]]
    assert got == expected and len(got) == 3


def test_hand_written_ticket_output_equals_drf_rendering(world, queue, agent, customer, request_type):
    """TicketOutputSerializer.to_representation (fast path) renders exactly
    what DRF's generic path renders from the declared fields."""
    from tickets import services
    from tickets.api.serializers import TicketOutputSerializer

    services.ticket_assign(ticket_id=world["own"].pk, assignee=agent, actor=agent)
    services.ticket_tag(ticket_id=world["own"].pk, actor=agent, add=["b", "a"])
    services.ticket_transition(ticket_id=world["own"].pk, target="solved", actor=agent)
    ticket_make(queue=queue, requester=customer, request_type=request_type)
    tickets = Ticket.objects.select_related("queue", "requester", "assignee", "request_type").prefetch_related("tags")
    assert tickets.count() == 3
    serializer = TicketOutputSerializer()
    for ticket in tickets:
        assert serializer.to_representation(ticket) == serializer.generic_representation(ticket)
