"""Defence in depth: a calendar or SLA policy that became unusable (stored by
an older version, edited in the database, or a time zone the system no longer
has) never breaks a submission: the ticket is stored, its SLA is marked not
computable with the reason, and managers are told."""

import pytest
from django.test import Client

from tests.factories import CustomerFactory, QueueFactory
from tickets.models import Calendar, RequestType, SLAPolicy, Ticket

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "broken",
    [
        {"timezone": "Mars/Olympus_Mons"},
        {"hours": {"monday": "9-17"}},
        {"hours": {"mon": "9-17"}},
        {"holidays": ["christmas"]},
    ],
)
def test_portal_submission_survives_an_unusable_calendar(broken):
    calendar = Calendar.objects.create(name="Office", timezone="Europe/Paris", hours={"mon": [["09:00", "17:00"]]})
    policy = SLAPolicy.objects.create(
        name="Gold", pause_statuses=["pending"], targets={"normal": {"first_response": 3600, "business_hours": True}}
    )
    queue = QueueFactory(kind="support", calendar=calendar, sla_policy=policy)
    rtype = RequestType.objects.create(slug="bug", name="Bug", queue=queue)
    Calendar.objects.filter(pk=calendar.pk).update(**broken)  # bypasses every validation path

    client = Client(raise_request_exception=False)
    client.force_login(CustomerFactory())
    response = client.post("/portal/new/", {"subject": "Still works", "description": "x", "request_type": rtype.pk})
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Still works")
    assert ticket.sla_due_at is None
    assert client.get(response["Location"]).status_code == 200


def test_agents_and_managers_are_told_why(agent, queue):
    from tests.factories import ManagerFactory, ticket_make

    calendar = Calendar.objects.create(name="Office", timezone="Europe/Paris", hours={"mon": [["09:00", "17:00"]]})
    policy = SLAPolicy.objects.create(name="Gold", targets={"normal": {"first_response": 3600, "business_hours": True}})
    queue.calendar, queue.sla_policy = calendar, policy
    queue.save()
    Calendar.objects.filter(pk=calendar.pk).update(timezone="Paris")
    ticket = ticket_make(queue=queue)

    client = Client()
    client.force_login(agent)
    page = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert "SLA not computable" in page and "unknown time zone" in page

    client.force_login(ManagerFactory())
    dashboard = client.get("/manager/dashboard/").content.decode()
    assert "Calendar &#x27;Office&#x27; cannot be used" in dashboard
