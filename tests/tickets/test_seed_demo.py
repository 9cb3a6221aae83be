"""seed_demo: realistic demo data through the import path (docs/import.md)."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Organisation, User
from tickets.importing import demo
from tickets.models import Queue, Ticket, TicketEvent

pytestmark = pytest.mark.django_db
K = TicketEvent.Kind


def seed(n, seed=3):
    out = StringIO()
    call_command("seed_demo", tickets=n, seed=seed, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_seed_demo_builds_a_working_demo_and_is_idempotent():
    """Queues of both kinds, demo logins with the documented password, tickets with history; twice = no change."""
    out = seed(60)
    assert "60 lines: 60 imported, 0 updated, 0 unchanged, 0 rejected; 0 events refused" in out
    assert f"password: {demo.DEMO_PASSWORD}" in out
    for email, _, role in demo.DEMO_LOGINS:
        user = User.objects.get(email=email)
        assert user.role == role and user.is_active and user.check_password(demo.DEMO_PASSWORD)
        assert email in out
    assert User.objects.get(email="admin@example.com").is_superuser
    assert set(Queue.objects.values_list("kind", flat=True)) == {"support", "service"}
    assert Queue.objects.get(slug="tech-support").members.filter(email="agent@example.com").exists()
    assert Organisation.objects.filter(shares_tickets=True).exists()
    tickets = Ticket.objects.filter(external_id__startswith="DEMO-")
    assert tickets.count() == 60
    assert tickets.filter(requester__email="customer@example.com").exists()
    statuses = set(tickets.values_list("status", flat=True))
    assert {"solved", "closed"} <= statuses
    kinds = set(TicketEvent.objects.values_list("kind", flat=True))
    assert {K.CREATED, K.MESSAGE, K.STATUS, K.ASSIGNEE, K.WORK_SESSION} <= kinds
    assert TicketEvent.objects.count() > 60 * 5
    events, messages, users = TicketEvent.objects.count(), Ticket.objects.count(), User.objects.count()

    again = seed(60)
    assert "60 lines: 0 imported, 0 updated, 60 unchanged" in again
    assert (TicketEvent.objects.count(), Ticket.objects.count(), User.objects.count()) == (events, messages, users)


def test_demo_history_respects_the_state_machine_and_spans_months():
    """Generated lines never ask for a move the state machine refuses; history spans months."""
    out = seed(200, seed=11)
    assert "200 imported, 0 updated, 0 unchanged, 0 rejected; 0 events refused" in out
    created = Ticket.objects.filter(external_id__startswith="DEMO-").values_list("created_at", flat=True)
    assert (max(created) - min(created)).days > 60
    assert TicketEvent.objects.filter(kind=K.QUEUE, data__escalation=True).exists()
    assert TicketEvent.objects.filter(kind=K.CSAT).exists()
    reopens = TicketEvent.objects.filter(kind=K.STATUS, data__from="solved", data__to="open")
    assert reopens.exists()


def test_demo_lines_are_deterministic_and_stream():
    anchor = demo.default_anchor()
    first = list(demo.demo_lines(5, seed=1, anchor=anchor))
    assert first == list(demo.demo_lines(5, seed=1, anchor=anchor))
    assert first != list(demo.demo_lines(5, seed=2, anchor=anchor))
    # A larger N starts with the same tickets (so growing a demo only adds).
    assert list(demo.demo_lines(500, seed=1, anchor=anchor))[:5] == first


def test_demo_has_ces_and_nps_answers_for_the_dashboard(client):
    """A manager opening the demo's dashboard sees CES and NPS (issue 15):
    CES is offered and answered on support tickets only, with its offer in
    the same solved e-mail as CSAT; NPS answers exist; the tiles over the
    demo's history are not empty and agree with the events."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from metrics import dashboard

    seed(200, seed=11)
    ces = TicketEvent.objects.filter(kind=K.CES)
    assert ces.count() >= 10 and TicketEvent.objects.filter(kind=K.NPS).count() >= 5
    offered = TicketEvent.objects.filter(kind=K.SURVEY_OFFERED, data__survey="ces")
    assert set(ces.values_list("ticket_id", flat=True)) <= set(offered.values_list("ticket_id", flat=True))
    assert set(offered.values_list("ticket__queue__kind", flat=True)) == {"support"}
    assert all(1 <= v <= 7 for v in ces.values_list("data__value", flat=True))

    # What the metrics worker does with the demo's dirty tickets (the tiles read the survey facts).
    from metrics.services import tickets_recompute

    tickets_recompute(ticket_ids=list(Ticket.objects.values_list("pk", flat=True)))
    zone = ZoneInfo("America/New_York")  # the demo's reporting time zone
    last = max(TicketEvent.objects.values_list("occurred_at", flat=True)).astimezone(zone).date()
    period = dashboard.Period(last - timedelta(days=demo.HISTORY_DAYS + 10), last, zone)
    tiles = dashboard.dashboard_build(scope=dashboard.Scope(period=period)).tiles
    assert tiles["ces"]["support"]["cur"]["n"] == ces.values("ticket_id").distinct().count()
    assert tiles["ces"]["service"]["cur"]["n"] == 0
    assert tiles["nps"]["all"]["cur"]["n"] > 0 and tiles["nps"]["all"]["cur"]["nps"] is not None

    client.force_login(User.objects.get(email="manager@example.com"))
    params = {"range": "custom", "start": period.first.isoformat(), "end": period.last.isoformat()}
    page = client.get("/manager/dashboard/", params)
    assert page.status_code == 200
    from tests.dashboard.test_dashboard import _values

    shown = _values(page.content.decode())
    assert shown[("ces", "support", "n")] == tiles["ces"]["support"]["cur"]["n"] > 0
    assert shown[("ces", "service", "n")] == 0
    assert shown[("nps", "all", "n")] == tiles["nps"]["all"]["cur"]["n"] > 0


@pytest.fixture
def in_process_tasks(monkeypatch):
    """Tasks run in-process, as in `make run` without REDIS_URL (commits are real)."""
    from helpdesk.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)


@pytest.mark.django_db(transaction=True)
def test_with_the_console_backend_the_seed_keeps_its_mails_out_of_the_terminal(in_process_tasks, capsys, settings):
    """`make run` (console backend) prints the URL and logins, not ~100 demo e-mails (docs/import.md)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    out = seed(20)
    printed = capsys.readouterr().out
    assert "Subject:" not in printed
    kept = int(out.split("Open workload")[1].split("demo e-mails were sent to memory")[0].split()[-1])
    assert kept > 0
    assert out.rstrip().endswith("admin@example.com")


@pytest.mark.django_db(transaction=True)
def test_with_another_backend_the_seed_sends_as_usual(in_process_tasks, mailoutbox):
    """Only the console backend is quietened: the test backend still receives the demo's mails."""
    out = seed(20)
    assert "sent to memory" not in out
    assert len(mailoutbox) > 0
