"""Weekly KPI e-mail to managers: last full local week, E10a numbers, once per week."""

from datetime import date

from django.core import mail
from django.core.cache import cache

from accounts.models import User
from metrics.report_tasks import last_full_week, weekly_report_send


def test_last_full_week():
    assert last_full_week(date(2025, 11, 3)) == (date(2025, 10, 27), date(2025, 11, 2))
    assert last_full_week(date(2025, 11, 9)) == (date(2025, 10, 27), date(2025, 11, 2))


def test_weekly_report_to_managers_once(examples):
    cache.clear()
    User.objects.create_user(email="boss@acme.test", password="pw-Secret-123", role="manager")
    User.objects.create_user(email="gone@acme.test", password="pw-Secret-123", role="manager", is_active=False)
    mail.outbox.clear()
    assert weekly_report_send(today=date(2025, 11, 3)) == 1
    assert len(mail.outbox) == 1
    msg = mail.outbox[0]
    assert msg.to == ["boss@acme.test"]
    assert "2025-10-27 – 2025-11-02" in msg.subject
    # E10a: FRT median 35100 s = 9h 45m, p90 178740 s = 2d 1h 39m, n = 4; CSAT 1/3.
    assert "median 9h 45m, p90 2d 1h 39m, n=4" in msg.body
    assert "CSAT 33.33% (n=3)" in msg.body
    assert "/manager/dashboard/?range=custom&start=2025-10-27&end=2025-11-02" in msg.body
    assert weekly_report_send(today=date(2025, 11, 4)) == 0  # same week: not sent twice
    assert len(mail.outbox) == 1


def test_beat_entry_and_task_registered():
    from helpdesk.celery import app

    entry = app.conf.beat_schedule["metrics-weekly-report"]
    assert entry["task"] == "metrics.weekly_report"
    app.loader.import_default_modules()
    assert "metrics.weekly_report" in app.tasks
