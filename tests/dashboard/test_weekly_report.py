"""Weekly KPI e-mail to managers: last full local week, E10a numbers, once per
(manager, week), through the notifications outbox."""

from datetime import date
from email import policy
from email.parser import BytesParser

import pytest
from django.core import mail

from accounts.models import User
from mail import services as mail_services
from mail.models import Notification
from metrics.report_tasks import last_full_week, weekly_report_send

MONDAY = date(2025, 11, 3)  # reports the E10a week 2025-10-27 – 2025-11-02
REPORT = Notification.Kind.WEEKLY_REPORT


def make_user(email: str, role: str, **extra) -> User:
    return User.objects.create_user(email=email, password="pw-Secret-123", role=role, **extra)


@pytest.fixture
def people(examples, settings):
    """Two managers and an admin who get the report; an inactive manager, a
    manager without an address, an agent and a customer who do not."""
    settings.DEFAULT_FROM_EMAIL = "helpdesk@acme.test"
    settings.HELPDESK_MAIL_DOMAIN = "acme.test"
    settings.HELPDESK_BASE_URL = "https://help.acme.test"
    noaddress = make_user("noaddress@acme.test", "manager")
    User.objects.filter(pk=noaddress.pk).update(email="")
    return {
        "boss": make_user("boss@acme.test", "manager"),
        "deputy": make_user("deputy@acme.test", "manager"),
        "root": make_user("root@acme.test", "admin"),
        "gone": make_user("gone@acme.test", "manager", is_active=False),
        "noaddress": noaddress,
        "agent": make_user("worker@acme.test", "agent"),
        "customer": make_user("buyer@customer.test", "customer"),
    }


def test_last_full_week():
    assert last_full_week(date(2025, 11, 3)) == (date(2025, 10, 27), date(2025, 11, 2))
    assert last_full_week(date(2025, 11, 9)) == (date(2025, 10, 27), date(2025, 11, 2))


def test_one_outbox_row_per_manager_with_the_kpis(people, django_capture_on_commit_callbacks):
    """Active managers and admins with an address get one pending
    weekly_report row each (no ticket, no event); delivery is enqueued on
    commit; agents, customers, inactive and address-less managers get none."""
    with django_capture_on_commit_callbacks() as callbacks:
        assert weekly_report_send(today=MONDAY) == 3
    assert len(callbacks) == 3
    rows = Notification.objects.filter(kind=REPORT).order_by("to_email")
    assert [r.to_email for r in rows] == ["boss@acme.test", "deputy@acme.test", "root@acme.test"]
    assert not Notification.objects.exclude(kind=REPORT).exists()
    for row in rows:
        assert row.status == Notification.Status.PENDING
        assert row.ticket_id is None and row.event_id is None
        assert row.dedupe_key == f"weekly_report:{row.recipient_id}:2025-10-27"
        assert "2025-10-27 – 2025-11-02" in row.subject
        # E10a: FRT median 35100 s = 9h 45m, p90 178740 s = 2d 1h 39m, n = 4; CSAT 1/3.
        assert "median 9h 45m, p90 2d 1h 39m, n=4" in row.body
        assert "CSAT 33.33% (n=3)" in row.body
        assert "/manager/dashboard/?range=custom&start=2025-10-27&end=2025-11-02" in row.body
        assert "https://help.acme.test/mail/preferences/" in row.body


def test_running_twice_in_a_week_enqueues_nothing_new(people, django_capture_on_commit_callbacks):
    """A redelivered or retried task (same week) writes no second row; the
    next week is a new report."""
    assert weekly_report_send(today=MONDAY) == 3
    with django_capture_on_commit_callbacks() as callbacks:
        assert weekly_report_send(today=MONDAY) == 0
        assert weekly_report_send(today=date(2025, 11, 6)) == 0
    assert callbacks == []
    assert Notification.objects.filter(kind=REPORT).count() == 3
    assert weekly_report_send(today=date(2025, 11, 10)) == 3
    assert Notification.objects.filter(kind=REPORT).count() == 6


def test_opted_out_manager_gets_no_report(people):
    mail_services.notification_preference_set(user=people["deputy"], kind=REPORT, enabled=False)
    assert weekly_report_send(today=MONDAY) == 2
    assert not Notification.objects.filter(recipient=people["deputy"]).exists()


def test_outbox_sender_delivers_the_report_once(people):
    """The outbox sender mails each row once; the message has our
    Message-ID, no ticket thread and no reply token."""
    weekly_report_send(today=MONDAY)
    row = Notification.objects.get(kind=REPORT, recipient=people["boss"])
    mail.outbox.clear()
    assert mail_services.notification_deliver(notification_id=row.pk) == "sent"
    assert mail_services.notification_deliver(notification_id=row.pk) == "sent"
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.sent_at and row.attempts == 1
    msg = BytesParser(policy=policy.default).parsebytes(mail.outbox[0].message().as_bytes())
    assert msg["To"] == "boss@acme.test"
    assert msg["From"] == "helpdesk@acme.test"
    assert msg["Subject"] == "Help desk weekly KPIs 2025-10-27 – 2025-11-02"
    assert msg["Message-ID"] == f"<{row.pk}.weekly_report@acme.test>" == row.message_id
    assert msg["Auto-Submitted"] == "auto-generated"
    for header in ("In-Reply-To", "References", "Reply-To", "X-Helpdesk-Ticket"):
        assert msg[header] is None, header
    text = msg.get_body(("plain",)).get_content()
    assert "median 9h 45m, p90 2d 1h 39m, n=4" in text
    assert "CSAT 33.33% (n=3)" in text


def test_beat_entry_and_task_registered():
    from helpdesk.celery import app

    entry = app.conf.beat_schedule["metrics-weekly-report"]
    assert entry["task"] == "metrics.weekly_report"
    app.loader.import_default_modules()
    assert "metrics.weekly_report" in app.tasks


def test_each_manager_reads_the_report_in_their_language(people):
    """Subject and body in the recipient's language (docs/languages.md,
    E-mails): durations with the German/Spanish unit words, percentages
    with the language's decimal separator. One render per language, not
    per recipient."""
    from django.template import Template
    from django.test.signals import template_rendered

    User.objects.filter(pk=people["boss"].pk).update(language="de")
    User.objects.filter(pk=people["root"].pk).update(language="de")
    User.objects.filter(pk=people["deputy"].pk).update(language="es")
    renders = []

    def seen(sender, template: Template, **kwargs):
        if template.origin and str(template.origin.template_name) == "metrics/weekly_report.txt":
            renders.append(template)

    template_rendered.connect(seen)
    try:
        assert weekly_report_send(today=MONDAY) == 3
    finally:
        template_rendered.disconnect(seen)
    assert len(renders) == 2  # de and es; the two German managers share one
    rows = {r.to_email: r for r in Notification.objects.filter(kind=REPORT)}
    boss, deputy, root = rows["boss@acme.test"], rows["deputy@acme.test"], rows["root@acme.test"]
    assert boss.subject == root.subject == "Wöchentliche Helpdesk-Kennzahlen 2025-10-27 – 2025-11-02"
    assert boss.body == root.body
    assert "Erstreaktion: Median 9 Std. 45 Min., p90 2 T. 1 Std. 39 Min., n=4" in boss.body
    assert "CSAT 33,33% (n=3)" in boss.body
    assert "First response" not in boss.body
    assert "Primera respuesta: mediana 9 h 45 min, p90 2 d 1 h 39 min, n=4" in deputy.body
    assert "CSAT 33,33% (n=3)" in deputy.body
    assert "weekly KPIs" not in deputy.subject
