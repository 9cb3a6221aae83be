"""Issue 15: the NPS relationship survey (docs/surveys.md): settings on the
page and the API (validated, audited), who is due, at most every N days,
exactly once when two runs race, the offer event on delivery, the answer
page (GET records nothing, POST records a ticketless nps.responded), and
NPS through the engine and the metrics API against hand-checked values."""

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from auditlog.models import LogEntry
from django.core import mail, signing
from django.db import connection
from rest_framework.test import APIClient

from mail.models import Notification, NotificationPreference
from mail.services import notification_deliver
from metrics.surveys import Window, survey_report_load
from surveys import nps
from tests.factories import CustomerFactory, OrganisationFactory, ticket_make
from tickets import services
from tickets.models import HelpdeskSetting, TicketEvent

pytestmark = pytest.mark.django_db
K = TicketEvent.Kind
BASE = "https://help.acme.test"


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.HELPDESK_BASE_URL = BASE
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def solved_for(customer, queue, agent):
    ticket = ticket_make(queue=queue, requester=customer)
    services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    return ticket


def enable(**extra):
    nps.nps_config_save({"enabled": True, **extra})


def nps_rows():
    return list(Notification.objects.filter(kind="nps_survey").order_by("id"))


# --- settings: page, API, validation, audit ------------------------------------------


def test_settings_page_validates_saves_and_audits(client, manager, agent):
    client.force_login(agent)
    assert client.get("/settings/surveys/").status_code in (302, 403, 404)
    client.force_login(manager)
    page = client.get("/settings/surveys/")
    assert page.status_code == 200 and "Send the NPS relationship survey" in page.content.decode()
    bad = client.post("/settings/surveys/", {"interval_days": "0", "per": "team", "audience": "all"})
    assert bad.status_code == 400
    body = bad.content.decode()
    assert "greater than or equal to 1" in body and "Select a valid choice" in body
    assert not HelpdeskSetting.objects.filter(key=nps.KEY).exists()
    good = client.post(
        "/settings/surveys/",
        {
            "enabled": "on",
            "interval_days": "30",
            "per": "organisation",
            "audience": "solved_within",
            "audience_days": "60",
        },
    )
    assert good.status_code == 302
    assert nps.nps_config() == {
        "enabled": True,
        "interval_days": 30,
        "per": "organisation",
        "audience": "solved_within",
        "audience_days": 60,
    }
    entry = LogEntry.objects.filter(object_repr=nps.KEY).latest("id")
    assert entry.additional_data == {"via": "page"} and entry.actor_id == manager.pk


def test_api_config_validates_and_round_trips(manager, agent):
    api = APIClient()
    api.force_authenticate(agent)
    assert api.put("/api/v1/config/", {"surveys": {"nps": {"enabled": True}}}, format="json").status_code == 403
    api.force_authenticate(manager)
    bad = api.put(
        "/api/v1/config/", {"surveys": {"nps": {"enabled": "yes", "interval_days": 0, "colour": 1}}}, format="json"
    )
    assert bad.status_code == 400
    paths = {p["path"] for p in bad.json()["details"]["problems"]}
    assert paths == {"surveys.nps.enabled", "surveys.nps.interval_days", "surveys.nps.colour"}
    ok = api.put("/api/v1/config/", {"surveys": {"nps": {"enabled": True, "interval_days": 45}}}, format="json")
    assert ok.status_code == 200, ok.content
    dumped = api.get("/api/v1/config/").json()
    assert dumped["surveys"]["nps"]["interval_days"] == 45 and dumped["surveys"]["nps"]["enabled"] is True
    assert LogEntry.objects.filter(object_repr=nps.KEY).latest("id").additional_data == {"via": "api"}


# --- who is asked, and how often -----------------------------------------------------


def test_per_customer_audience_and_interval(queue, agent):
    recent, old, never = CustomerFactory(), CustomerFactory(), CustomerFactory()
    solved_for(recent, queue, agent)
    old_ticket = solved_for(old, queue, agent)
    old_ticket.__class__.objects.filter(pk=old_ticket.pk).update(solved_at=datetime.now(UTC) - timedelta(days=200))
    ticket_make(queue=queue, requester=never)  # nothing solved
    assert nps.nps_send_due() == 0  # disabled by default
    enable(interval_days=30, audience_days=90)
    assert nps.nps_send_due() == 1
    assert [n.recipient_id for n in nps_rows()] == [recent.pk]
    assert nps.nps_send_due() == 0  # asked within 30 days
    later = datetime.now(UTC) + timedelta(days=31)
    assert nps.nps_send_due(now=later) == 1  # due again
    nps.nps_config_save({"audience": "all"})
    assert {n.recipient_id for n in nps_rows()[2:]} == set()
    assert nps.nps_send_due(now=later) == 2  # old and never, not recent again
    assert sorted(n.recipient_id for n in nps_rows()[2:]) == sorted([old.pk, never.pk])


def test_per_organisation_asks_one_member(queue, agent):
    org = OrganisationFactory()
    first, latest = CustomerFactory(organisation=org), CustomerFactory(organisation=org)
    loner = CustomerFactory()
    solved_for(first, queue, agent)
    solved_for(latest, queue, agent)  # solved later: the one asked
    solved_for(loner, queue, agent)
    enable(per="organisation")
    assert nps.nps_send_due() == 2
    assert sorted(n.recipient_id for n in nps_rows()) == sorted([latest.pk, loner.pk])
    assert {n.dedupe_key.rsplit(":", 1)[0] for n in nps_rows()} == {f"organisation:{org.pk}", f"customer:{loner.pk}"}
    assert nps.nps_send_due() == 0


def test_preference_off_and_deactivated_are_not_asked(queue, agent):
    opted_out, deactivated = CustomerFactory(), CustomerFactory()
    solved_for(opted_out, queue, agent)
    solved_for(deactivated, queue, agent)
    NotificationPreference.objects.create(user=opted_out, kind="nps_survey", enabled=False)
    deactivated.is_active, deactivated.email_confirmed_at = False, datetime.now(UTC)
    deactivated.save()
    enable()
    assert nps.nps_send_due() == 0


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_write_each_survey_once(queue, agent):
    """Two threads, each with its own PostgreSQL connection, run the task
    at the same instant for the same customers."""
    customers = [CustomerFactory() for _ in range(8)]
    for c in customers:
        solved_for(c, queue, agent)
    enable()
    now = datetime.now(UTC)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(nps.nps_send_due(now=now))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(results) == 8
    assert sorted(n.recipient_id for n in nps_rows()) == sorted(c.pk for c in customers)


# --- delivery, the offer event and the answer page ------------------------------------


def test_delivery_records_the_offer_and_the_page_records_only_on_post(client, queue, agent):
    org = OrganisationFactory()
    customer = CustomerFactory(organisation=org, email="nina@customer.example")
    solved_for(customer, queue, agent)
    enable()
    nps.nps_send_due()
    [row] = nps_rows()
    assert not TicketEvent.objects.filter(kind=K.SURVEY_OFFERED, ticket__isnull=True).exists()
    assert notification_deliver(notification_id=row.pk) == "sent"
    offer = TicketEvent.objects.get(kind=K.SURVEY_OFFERED, ticket__isnull=True)
    assert offer.data == {
        "survey": "nps",
        "customer_id": customer.pk,
        "organisation_id": org.pk,
        "notification_id": row.pk,
    }
    # The real message, parsed back: eleven links on the base URL.
    from email import policy
    from email.parser import BytesParser

    [sent] = mail.outbox
    parsed = BytesParser(policy=policy.default).parsebytes(sent.message().as_bytes())
    assert parsed["To"] == "nina@customer.example"
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    links = re.findall(rf"{re.escape(BASE)}(/surveys/nps/[^/\s]+/)", text)
    assert len(links) == 11
    nine = links[9]
    # A scanner's GETs and HEAD record nothing.
    for _ in range(3):
        page = client.get(nine)
        assert page.status_code == 200
    assert client.head(nine).status_code == 200
    assert 'value="9" required' in page.content.decode() and "checked" in page.content.decode()
    assert not TicketEvent.objects.filter(kind=K.NPS).exists()
    # The person's click (changed to 10, with a comment).
    done = client.post(nine, {"value": "10", "comment": "Quick and kind"})
    assert done.status_code == 200 and "Thank you" in done.content.decode()
    answer = TicketEvent.objects.get(kind=K.NPS)
    assert answer.ticket_id is None and (answer.actor_id, answer.actor_role) == (customer.pk, "customer")
    assert (answer.data["value"], answer.data["comment"], answer.data["organisation_id"]) == (
        10,
        "Quick and kind",
        org.pk,
    )
    client.post(nine, {"value": "10"})  # double click: nothing new
    assert TicketEvent.objects.filter(kind=K.NPS).count() == 1
    assert client.post(nine, {"value": "11"}).status_code == 400


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        signing.dumps({"c": 1, "n": 1, "v": 5}, salt="another"),
        signing.dumps({"c": 1, "n": 1, "v": 12}, salt=nps.SALT, compress=True),
        signing.dumps({"c": "x", "n": 1, "v": 3}, salt=nps.SALT, compress=True),
    ],
)
def test_bad_nps_links_are_400(client, token):
    for method in (client.get, client.post):
        assert method(f"/surveys/nps/{token}/").status_code == 400
    assert not TicketEvent.objects.filter(kind=K.NPS).exists()


# --- NPS through the engine and the API, hand-checked ----------------------------------


def at(day, hour=12):
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_nps_engine_and_api_match_hand_checked_values(settings, queue, agent, manager):
    """Window 2026-11-02..08 (UTC), NPS = % promoters (9-10) - % detractors (0-6).

    a: relationship 10 on the 3rd, then 6 on the 5th -> the later replaces: detractor.
    b: relationship 9 -> promoter. c: 8 given on a ticket -> passive.
    e: relationship 10 -> promoter. f: relationship 2 on the 20th -> outside.
    n 4, promoters 2, passives 1, detractors 1: NPS = (2 - 1) / 4 x 100 = 25.0.
    """
    settings.HELPDESK_REPORTING_TIMEZONE = "UTC"
    org = OrganisationFactory()
    a, b, c, e, f = (
        CustomerFactory(organisation=org),
        CustomerFactory(),
        CustomerFactory(),
        CustomerFactory(),
        CustomerFactory(),
    )
    respond = services.relationship_survey_respond
    respond(customer=a, value=10, organisation_id=org.pk, occurred_at=at(3))
    respond(customer=a, value=6, comment="Slower lately", organisation_id=org.pk, occurred_at=at(5))
    respond(customer=b, value=9, occurred_at=at(4))
    ticket = ticket_make(queue=queue, requester=c, occurred_at=at(2, 9))
    services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent, occurred_at=at(2, 10))
    services.survey_respond(ticket_id=ticket.pk, survey="nps", value=8, actor=c, occurred_at=at(3))
    respond(customer=e, value=10, occurred_at=at(6))
    respond(customer=f, value=2, occurred_at=at(20))
    window = Window(start=at(2, 0), end=at(9, 0))
    report = survey_report_load(window=window)
    assert report["nps"] == {"n": 4, "promoters": 2, "passives": 1, "detractors": 1, "nps": 25.0}
    latest_a = next(r for r in report["responses"]["nps"] if r.customer_id == a.pk)
    assert (latest_a.value, latest_a.comment, latest_a.organisation_id, latest_a.ticket_id) == (
        6,
        "Slower lately",
        org.pk,
        None,
    )

    api = APIClient()
    api.force_authenticate(agent)
    assert api.get("/api/v1/metrics/nps/responses/").status_code == 403
    api.force_authenticate(manager)
    body = api.get("/api/v1/metrics/nps/responses/?start=2026-11-02&end=2026-11-08").json()
    assert body["nps"]["nps"] == 25.0 and body["nps"]["n"] == 4
    rows = {r["customer_id"]: r for r in body["responses"]}
    assert set(rows) == {a.pk, b.pk, c.pk, e.pk}
    assert rows[c.pk]["ticket_id"] == ticket.pk and rows[b.pk]["ticket_id"] is None
    assert rows[a.pk]["comment"] == "Slower lately" and rows[a.pk]["organisation_id"] == org.pk
    assert api.get("/api/v1/metrics/nps/responses/?start=2026-11-09&end=2026-11-02").status_code == 400
    # The managers' drill-down page lists the ticketless answers too.
    client_page = APIClient()
    client_page.force_login(manager)
    page = client_page.get("/manager/surveys/responses/?survey=nps&side=all&from=2026-11-02&to=2026-11-08")
    assert page.status_code == 200 and "relationship survey" in page.content.decode()


def test_erasure_blanks_the_relationship_answer_comment_and_keeps_the_value():
    """The answer's actor is the customer, so erasing them redacts its free
    text like any event they acted (docs/privacy.md); the value stays for the metrics."""
    from accounts.models import User
    from privacy import services as privacy
    from tests.factories import UserFactory

    customer = CustomerFactory()
    event = services.relationship_survey_respond(customer=customer, value=3, comment="Call me on 555-0100")
    privacy.person_erase(subject_id=customer.pk, actor=UserFactory(role=User.Role.ADMIN), via="api")
    event.refresh_from_db()
    assert event.data["value"] == 3 and "555-0100" not in event.data["comment"]
