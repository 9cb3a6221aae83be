"""Users turn kinds of notification email on and off."""

import pytest

from mail.models import NotificationPreference

pytestmark = pytest.mark.django_db


def test_customer_turns_off_agent_replies(client, customer):
    client.force_login(customer)
    page = client.get("/mail/preferences/")
    assert page.status_code == 200
    assert b'name="agent_reply"' in page.content and b'name="assigned"' not in page.content
    assert b'name="nps_survey"' in page.content  # the NPS relationship survey (docs/surveys.md)
    client.post("/mail/preferences/", {"received": "on", "solved": "on", "nps_survey": "on"})
    off = set(NotificationPreference.objects.filter(user=customer, enabled=False).values_list("kind", flat=True))
    assert off == {"agent_reply"}
    assert b'name="agent_reply" >' in client.get("/mail/preferences/").content.replace(b"  ", b" ")


def test_agent_sees_agent_kinds(client, agent):
    client.force_login(agent)
    page = client.get("/mail/preferences/")
    assert b'name="assigned"' in page.content and b'name="agent_reply"' not in page.content
    assert b'name="weekly_report"' not in page.content


def test_anonymous_redirected_to_login(client):
    response = client.get("/mail/preferences/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_manager_can_turn_off_the_weekly_report(client, manager):
    client.force_login(manager)
    page = client.get("/mail/preferences/")
    assert b'name="weekly_report"' in page.content and b'name="assigned"' in page.content
    client.post("/mail/preferences/", {"assigned": "on", "customer_reply": "on", "sla_warning": "on"})
    off = set(NotificationPreference.objects.filter(user=manager, enabled=False).values_list("kind", flat=True))
    assert off == {"weekly_report"}
