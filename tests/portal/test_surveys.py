"""Issue 15 surveys: the rating link records only on POST (a scanner's GET
records nothing), CSAT/CES on the portal once solved, and the survey
metrics (docs/surveys.md: M10, M15, M16) against hand-checked values."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.core import signing
from rest_framework.test import APIClient

from metrics.surveys import Window, survey_report_load
from surveys import services as surveys
from tests.factories import CustomerFactory, ticket_make
from tickets import services
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db
K = TicketEvent.Kind


def _answers(ticket, kind=K.CSAT):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=kind).order_by("id").values_list("data", flat=True))


@pytest.fixture
def solved(queue, customer, agent):
    ticket = ticket_make(queue=queue, requester=customer, subject="Printer")
    services.message_post(ticket_id=ticket.pk, author=agent, body="Fixed")
    services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    return ticket


# --- the e-mail link -----------------------------------------------------


def test_scanner_get_records_nothing_and_one_post_records(client, solved, customer):
    url = f"/surveys/rate/{surveys.survey_token_make(ticket_id=solved.pk, survey='ces', value=6)}/"
    # A prefetching scanner: anonymous GETs, HEAD, repeated.
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200
    assert client.head(url).status_code == 200
    assert _answers(solved, K.CES) == []
    page = response.content.decode()
    assert 'value="6" required id="id_value_1" checked' in page  # the link's answer is preselected
    assert "Nothing is saved until you press Send" in page
    # The person's one click.
    done = client.post(url, {"value": "6", "comment": ""})
    assert done.status_code == 200
    assert [a["value"] for a in _answers(solved, K.CES)] == [6]
    event = TicketEvent.objects.get(ticket=solved, kind=K.CES)
    assert (event.actor_id, event.actor_role, event.data["scale"]) == (customer.pk, "customer", "1-7")


def test_link_post_may_change_the_answer_and_add_a_comment(client, solved):
    url = f"/surveys/rate/{surveys.survey_token_make(ticket_id=solved.pk, survey='csat', value=5)}/"
    client.post(url, {"value": "5"})
    client.post(url, {"value": "5"})  # a double click writes nothing new
    client.post(url, {"value": "2", "comment": "Took long"})
    assert [(a["value"], a["comment"]) for a in _answers(solved)] == [(5, ""), (2, "Took long")]
    bad = client.post(url, {"value": "9"})
    assert bad.status_code == 400
    assert len(_answers(solved)) == 2


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        signing.dumps({"t": 1, "s": "csat", "v": 5}, salt="another"),
        signing.dumps({"t": 1, "s": "csat", "v": 9}, salt=surveys.SALT, compress=True),
        signing.dumps({"t": 1, "s": "xyz", "v": 1}, salt=surveys.SALT, compress=True),
    ],
)
def test_bad_links_are_400_and_record_nothing(client, solved, token):
    for method in (client.get, client.post):
        response = method(f"/surveys/rate/{token}/")
        assert response.status_code == 400
        assert b"This rating link is not valid" in response.content
    assert not TicketEvent.objects.filter(kind__in=[K.CSAT, K.CES, K.NPS]).exists()


def test_link_for_an_unsolved_ticket_says_so(client, queue, customer):
    ticket = ticket_make(queue=queue, requester=customer)
    url = f"/surveys/rate/{surveys.survey_token_make(ticket_id=ticket.pk, survey='csat', value=4)}/"
    response = client.post(url, {"value": "4"})
    assert response.status_code == 400
    assert b"once it is solved" in response.content
    assert _answers(ticket) == []


def test_solved_email_has_ces_links_on_support_only(solved, service_queue, customer, other_agent):
    from mail.models import Notification

    row = Notification.objects.get(ticket=solved, kind="solved")
    assert row.body.count("/surveys/rate/") == 7
    service = ticket_make(queue=service_queue, requester=customer)
    services.ticket_transition(ticket_id=service.pk, target="solved", actor=other_agent)
    assert "/surveys/rate/" not in Notification.objects.get(ticket=service, kind="solved").body


# --- the portal ----------------------------------------------------------


def test_portal_rating_forms_only_once_solved(client, queue, customer, agent):
    ticket = ticket_make(queue=queue, requester=customer)
    client.force_login(customer)
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert 'id="survey-csat"' not in page
    refused = client.post(f"/portal/tickets/{ticket.pk}/survey/csat/", {"csat-value": "5"})
    assert refused.status_code == 302
    assert _answers(ticket) == []
    services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert 'id="survey-csat"' in page and 'id="survey-ces"' in page


def test_portal_csat_and_ces_are_recorded_by_post(client, solved, customer):
    client.force_login(customer)
    r1 = client.post(f"/portal/tickets/{solved.pk}/survey/csat/", {"csat-value": "4", "csat-comment": "Nice"})
    r2 = client.post(f"/portal/tickets/{solved.pk}/survey/ces/", {"ces-value": "7"})
    assert r1.status_code == r2.status_code == 302
    assert [(a["value"], a["comment"]) for a in _answers(solved)] == [(4, "Nice")]
    assert [a["value"] for a in _answers(solved, K.CES)] == [7]
    page = client.get(f"/portal/tickets/{solved.pk}/").content.decode()
    assert "Your answer: <strong>4</strong>" in page
    bad = client.post(f"/portal/tickets/{solved.pk}/survey/ces/", {"ces-value": "8"})
    assert bad.status_code == 400
    assert "is not one of the available choices" in bad.content.decode()


def test_portal_ces_is_not_asked_on_service_queues(client, service_queue, customer, other_agent):
    ticket = ticket_make(queue=service_queue, requester=customer)
    services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=other_agent)
    client.force_login(customer)
    page = client.get(f"/portal/tickets/{ticket.pk}/").content.decode()
    assert 'id="survey-csat"' in page and 'id="survey-ces"' not in page
    client.post(f"/portal/tickets/{ticket.pk}/survey/ces/", {"ces-value": "7"})
    assert _answers(ticket, K.CES) == []


def test_only_the_requester_rates(client, solved, other_customer, agent):
    client.force_login(other_customer)
    assert client.post(f"/portal/tickets/{solved.pk}/survey/csat/", {"csat-value": "1"}).status_code == 404
    client.force_login(agent)
    assert client.post(f"/portal/tickets/{solved.pk}/survey/csat/", {"csat-value": "1"}).status_code == 404
    assert _answers(solved) == []


# --- metrics: hand-checked ------------------------------------------------


def at(day, hour=12):
    return datetime(2026, 11, day, hour, tzinfo=UTC)


@pytest.fixture
def history(queue, service_queue, agent, other_agent):
    """Seven tickets, all events in the past (no e-mails). Hand-checked
    expectations are in the test below."""
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()

    def solved_ticket(q, requester, day, actor):
        t = ticket_make(queue=q, requester=requester, occurred_at=at(day, 9))
        services.ticket_transition(ticket_id=t.pk, target="solved", actor=actor, occurred_at=at(day, 10))
        return t

    def offer(t, day, *kinds):
        for k in kinds:
            services.survey_offer(ticket_id=t.pk, survey=k, occurred_at=at(day, 11))

    def answer(t, survey, value, day, hour=12, comment="", actor=None):
        services.survey_respond(
            ticket_id=t.pk,
            survey=survey,
            value=value,
            comment=comment,
            actor=actor or t.requester,
            occurred_at=at(day, hour),
        )

    t1 = solved_ticket(queue, a, 2, agent)
    offer(t1, 2, "csat", "ces")
    answer(t1, "csat", 5, 2)
    answer(t1, "csat", 2, 3, comment="Slow")  # the latest replaces the 5
    answer(t1, "ces", 2, 2)
    answer(t1, "ces", 6, 3)  # latest CES 6
    answer(t1, "nps", 9, 3)
    t2 = solved_ticket(queue, a, 4, agent)
    offer(t2, 4, "csat", "ces")
    answer(t2, "csat", 5, 4)
    answer(t2, "ces", 3, 4)
    answer(t2, "nps", 4, 5)  # customer a's later NPS answer replaces the 9
    t3 = solved_ticket(service_queue, b, 2, other_agent)
    offer(t3, 2, "csat")
    answer(t3, "csat", 3, 3)
    answer(t3, "nps", 10, 3)
    # t4: created in support, escalated to service, solved there: service.
    t4 = ticket_make(queue=queue, requester=c, occurred_at=at(2, 9))
    services.ticket_move_queue(
        ticket_id=t4.pk, queue=service_queue, actor=agent, reason="billing", occurred_at=at(2, 10)
    )
    services.ticket_transition(ticket_id=t4.pk, target="solved", actor=other_agent, occurred_at=at(2, 11))
    offer(t4, 2, "csat")
    answer(t4, "csat", 5, 3, comment="Great")
    answer(t4, "nps", 8, 3)
    t5 = solved_ticket(queue, CustomerFactory(), 5, agent)
    offer(t5, 5, "csat", "ces")  # never answered
    t6 = solved_ticket(queue, CustomerFactory(), 5, agent)
    offer(t6, 5, "csat")
    answer(t6, "csat", 5, 5)
    services.ticket_mark_spam(ticket_id=t6.pk, actor=agent, occurred_at=at(6))  # excluded everywhere
    t7 = solved_ticket(queue, CustomerFactory(), 6, agent)
    offer(t7, 6, "csat", "ces")
    answer(t7, "csat", 1, 20)  # answered after the window: offered and responded, not a response in it
    return {"t1": t1, "t2": t2, "t3": t3, "t4": t4}


def test_survey_metrics_match_hand_checked_values(settings, history):
    """Window 2026-11-02..08 (UTC).

    CSAT (latest per ticket, answered in the window): support t1=2, t2=5;
    service t3=3, t4=5 (escalated before its resolution). t6 spam, t7
    answered on the 20th. Support 1/2 = 50 %, mean 3.5; service 1/2 = 50 %,
    mean 4.0; all 2/4 = 50 %, mean (2+5+3+5)/4 = 3.75. Offers in the
    window: support t1 t2 t5 t7 = 4, answered (as of now) t1 t2 t7 = 3 ->
    75 %; service t3 t4 = 2/2 -> 100 %; all 5/6 = 83.33 %.
    CES (support): t1=6 (replaces 2), t2=3: n 2, mean 4.5, easy (>=5) 1 ->
    50 %; offered t1 t2 t5 t7 = 4, answered 2 -> 50 %. Service: n 0.
    NPS per customer: a 4 (replaces 9, detractor), b 10 (promoter), c 8
    (passive): (1 - 1) / 3 = 0, n 3.
    """
    settings.HELPDESK_REPORTING_TIMEZONE = "UTC"
    from zoneinfo import ZoneInfo

    report = survey_report_load(window=Window.of_dates(date(2026, 11, 2), date(2026, 11, 8), ZoneInfo("UTC")))
    csat, ces, nps = report["csat"], report["ces"], report["nps"]
    assert csat["support"] == {
        "n": 2,
        "satisfied": 1,
        "csat_pct": 50.0,
        "mean_score": 3.5,
        "offered": 4,
        "responded": 3,
        "response_rate_pct": 75.0,
    }
    assert csat["service"] == {
        "n": 2,
        "satisfied": 1,
        "csat_pct": 50.0,
        "mean_score": 4.0,
        "offered": 2,
        "responded": 2,
        "response_rate_pct": 100.0,
    }
    assert (csat["all"]["n"], csat["all"]["csat_pct"], csat["all"]["mean_score"]) == (4, 50.0, 3.75)
    assert (csat["all"]["offered"], csat["all"]["responded"], csat["all"]["response_rate_pct"]) == (6, 5, 83.33)
    assert ces["support"] == {
        "n": 2,
        "easy": 1,
        "easy_pct": 50.0,
        "mean_score": 4.5,
        "offered": 4,
        "responded": 2,
        "response_rate_pct": 50.0,
    }
    assert ces["service"]["n"] == 0 and ces["service"]["mean_score"] is None
    assert nps == {"n": 3, "promoters": 1, "passives": 1, "detractors": 1, "nps": 0.0}
    # The comments managers read.
    comments = {r.ticket_id: r.comment for r in report["responses"]["csat"] if r.comment}
    assert comments == {history["t1"].pk: "Slow", history["t4"].pk: "Great"}


def test_one_day_window_counts_only_that_day(settings, history):
    """Only answers of 2026-11-04: t2 CSAT 5, CES 3; NPS none (a's 4 is on the 5th)."""
    from zoneinfo import ZoneInfo

    report = survey_report_load(window=Window.of_dates(date(2026, 11, 4), date(2026, 11, 4), ZoneInfo("UTC")))
    assert (report["csat"]["all"]["n"], report["csat"]["all"]["csat_pct"]) == (1, 100.0)
    assert (report["ces"]["support"]["n"], report["ces"]["support"]["mean_score"]) == (1, 3.0)
    assert report["nps"]["n"] == 0 and report["nps"]["nps"] is None


def test_manager_page_csv_and_api(client, settings, history, manager, agent, customer):
    settings.HELPDESK_REPORTING_TIMEZONE = "UTC"
    q = "from=2026-11-02&to=2026-11-08"
    client.force_login(manager)
    assert 'href="/manager/surveys/"' in client.get("/manager/dashboard/").content.decode()
    page = client.get(f"/manager/surveys/?{q}").content.decode()
    assert 'data-cell="csat-support">50.0 <span class="muted">n=2' in page
    assert 'data-cell="ces-support">4.5 <span class="muted">n=2' in page
    assert 'data-cell="nps">0.0 <span class="muted">n=3' in page
    responses = client.get(f"/manager/surveys/responses/?survey=csat&comments=1&{q}").content.decode()
    assert "Slow" in responses and "Great" in responses
    service_only = client.get(f"/manager/surveys/responses/?survey=csat&side=service&{q}").content.decode()
    assert f"#{history['t4'].pk}" in service_only and f"#{history['t1'].pk}<" not in service_only
    raw = b"".join(client.get(f"/manager/surveys/responses/?survey=csat&format=csv&{q}").streaming_content)
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    assert sorted((int(r["ticket"]), r["value"], r["side"]) for r in rows) == sorted(
        [
            (history["t1"].pk, "2", "support"),
            (history["t2"].pk, "5", "support"),
            (history["t3"].pk, "3", "service"),
            (history["t4"].pk, "5", "service"),
        ]
    )
    assert client.get(f"/manager/surveys/?from=nope&{q[15:]}").status_code == 400
    assert client.get("/manager/surveys/responses/?survey=zzz").status_code == 400
    for user in (agent, customer):
        client.force_login(user)
        assert client.get(f"/manager/surveys/?{q}").status_code == 404
        for survey in ("csat", "ces", "nps"):  # answers and comments: managers only
            assert client.get(f"/manager/surveys/responses/?survey={survey}&{q}").status_code == 404
            assert client.get(f"/manager/surveys/responses/?survey={survey}&format=csv&{q}").status_code == 404
    client.logout()
    assert client.get(f"/manager/surveys/responses/?survey=nps&{q}").status_code == 302  # to the login page
    api = APIClient()
    api.force_authenticate(manager)
    body = api.get("/api/v1/metrics/surveys/?start=2026-11-02&end=2026-11-08").json()
    assert body["csat"]["service"]["csat_pct"] == 50.0 and body["nps"]["nps"] == 0.0
    assert body["ces"]["support"]["easy_pct"] == 50.0
    api.force_authenticate(agent)
    assert api.get("/api/v1/metrics/surveys/").status_code == 403
