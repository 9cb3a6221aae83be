"""The API write path's query budgets (issue 22, bench/API.md): a create and
a reply write their rows, the metrics and SLA dirty marks and the outbox
rows in the transaction, and nothing else that can wait."""

import pytest
from django.urls import reverse

from mail.models import Notification
from tests.factories import ticket_make
from tickets.models import RequestType, SLADirty, SLAPolicy

pytestmark = pytest.mark.django_db

HOUR = {"normal": {"first_response": 3600, "resolution": 8 * 3600, "business_hours": False}}


@pytest.fixture
def write_path(settings, queue):
    """The defaults (the test settings run the SLA refresh and the rendering
    inline for the rules' tests), on a queue with an SLA policy."""
    settings.HELPDESK_SLA_REFRESH = "worker"
    settings.HELPDESK_NOTIFY_RENDER = "send"
    queue.sla_policy = SLAPolicy.objects.create(name="budget", targets=HOUR)
    queue.send_acknowledgement = True
    queue.save(update_fields=["sla_policy", "send_acknowledgement"])
    return queue


def test_create_query_budget(write_path, api_client_for, customer, django_assert_max_num_queries):
    RequestType.objects.create(slug="broken", name="Broken", queue=write_path)
    client = api_client_for(customer)
    # Before issue 22 the same create ran 27 queries (bench/write_profile.py:
    # the SLA refresh read the ticket, queues, calendars, policies, events and
    # marks in the transaction; the acknowledgement was rendered there).
    # 17 of them, plus 2 for the first-response clock start kept on the ticket
    # for "awaiting first reply now" (docs/metrics.md#awaiting-first-reply-now).
    with django_assert_max_num_queries(19):
        response = client.post(
            reverse("api:ticket-list"), {"subject": "Hi", "body": "It broke.", "request_type": "broken"}, format="json"
        )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert SLADirty.objects.filter(ticket_id=pk).exists()
    assert Notification.objects.get(ticket_id=pk, kind="received").render_pending


def test_reply_query_budget(write_path, api_client_for, agent, customer, django_assert_max_num_queries):
    ticket = ticket_make(queue=write_path, requester=customer)
    client = api_client_for(agent)
    # A first reply, which also opens the ticket (a second event): the marks
    # are written once for both (events_batched). Before issue 22 a reply to
    # an open ticket ran 31 queries (bench/write_profile.py: the SLA refresh
    # 9, the rendering 2, the ticket read with the serializer's joins and tags
    # for an answer that is a message 2); now 18, this first reply 20, plus 2
    # for the first-response clock start (docs/metrics.md#awaiting-first-reply-now).
    with django_assert_max_num_queries(22):
        response = client.post(reverse("api:ticket-reply", args=[ticket.pk]), {"body": "On it."}, format="json")
    assert response.status_code == 201, response.content
    assert Notification.objects.get(ticket=ticket, kind="agent_reply").render_pending
