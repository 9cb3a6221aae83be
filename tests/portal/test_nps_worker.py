"""Issue 15: the NPS relationship survey really goes out on a schedule. The
beat entry runs `surveys.nps_send_due` hourly; sent through the broker (twice,
as two beat instances would) to the real Celery worker (tests/conftest.py) it
writes one outbox row per customer, the worker delivers each (real MIME,
rebuilt from the row) and writes the `survey.offered` event; a POST on an
e-mailed link writes `nps.responded` and the engine counts it."""

import re
import time
from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
from celery.schedules import crontab
from django.utils import timezone

from helpdesk.celery import app as celery_app
from mail.models import Notification
from mail.services.outbox import _email_for
from metrics.surveys import Window, survey_report_load
from surveys import nps, tasks
from tests.factories import CustomerFactory, OrganisationFactory, ticket_make
from tests.processes import wait_for
from tickets import services
from tickets.models import TicketEvent

K = TicketEvent.Kind


def test_beat_sends_the_task_hourly_and_it_expires_before_the_next_run():
    entry = celery_app.conf.beat_schedule["surveys-nps-send-due"]
    assert entry["task"] == tasks.nps_send_due.name == "surveys.nps_send_due"
    assert entry["schedule"] == crontab(minute="41")
    assert 0 < entry["options"]["expires"] < 3600


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_sends_each_due_survey_once_with_its_offer_event(celery_worker, client, queue, agent):
    org = OrganisationFactory()
    ann, ben = CustomerFactory(organisation=org), CustomerFactory(organisation=org)
    cat = CustomerFactory(email="cat@customer.example")
    CustomerFactory()  # nothing solved: not in the default audience
    for who in (ann, ben, cat):
        ticket = ticket_make(queue=queue, requester=who)
        services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    nps.nps_config_save({"enabled": True, "per": "organisation"})

    entry = celery_app.conf.beat_schedule["surveys-nps-send-due"]
    for _ in range(2):
        celery_app.send_task(entry["task"], **entry["options"])
    rows = Notification.objects.filter(kind=Notification.Kind.NPS_SURVEY)
    # Per organisation: one of ann/ben (the latest solved: ben), and cat.
    assert wait_for(lambda: rows.filter(status="sent").count() == 2, timeout=30.0)
    time.sleep(1.0)  # the second run has finished too
    assert sorted(rows.values_list("recipient_id", flat=True)) == sorted([ben.pk, cat.pk])
    offers = TicketEvent.objects.filter(kind=K.SURVEY_OFFERED, ticket__isnull=True)
    assert sorted(offers.values_list("data__customer_id", flat=True)) == sorted([ben.pk, cat.pk])
    assert {o.data["notification_id"] for o in offers} == set(rows.values_list("pk", flat=True))

    row = rows.get(recipient=cat)
    msg = BytesParser(policy=policy.default).parsebytes(_email_for(row).message().as_bytes())
    assert msg["To"] == "cat@customer.example" and msg["Auto-Submitted"] == "auto-generated"
    # Rendered by the worker, on its HELPDESK_BASE_URL.
    links = re.findall(r"https?://[^/\s]+(/surveys/nps/[^/\s]+/)", msg.get_body(("plain",)).get_content())
    assert len(links) == 11
    assert client.get(links[9]).status_code == 200 and not TicketEvent.objects.filter(kind=K.NPS).exists()
    assert client.post(links[9], {"value": "9"}).status_code == 200
    [answer] = TicketEvent.objects.filter(kind=K.NPS)
    assert (answer.ticket_id, answer.actor_id, answer.data["value"]) == (None, cat.pk, 9)

    # A run within interval_days writes nothing more.
    celery_app.send_task(entry["task"], **entry["options"])
    time.sleep(2.0)
    assert rows.count() == 2

    now = timezone.now()
    report = survey_report_load(window=Window(start=now - timedelta(hours=1), end=now + timedelta(hours=1)))
    assert report["nps"] == {"n": 1, "promoters": 1, "passives": 0, "detractors": 0, "nps": 100.0}
