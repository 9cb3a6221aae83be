"""Weekly KPI summary e-mail to managers (Celery task, scheduled by beat on Mondays).

TODO(outbox): mail.models.Notification rows are tied to a ticket event (event and
ticket are required), and mail/services has no function to enqueue a notification
that is not about a ticket, so the report is sent with django.core.mail directly.
Each (recipient, week) is claimed in the cache first, so a redelivered task does
not send twice; a failed send releases the claim and is retried by Celery.
"""

import logging
from datetime import date, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode

from metrics import dashboard as D

logger = logging.getLogger(__name__)


def last_full_week(today: date) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def weekly_report_context(*, first: date, last: date) -> dict[str, Any]:
    from metrics.services import reporting_zone

    zone = reporting_zone()
    scope = D.Scope(period=D.Period(first, last, zone), bucket="day", with_agents=False)
    dash = D.dashboard_build(scope=scope)
    lines = []
    for side in D.SIDES:
        t = dash.tiles
        frt = t["frt"][side]["cur"]
        full = t["full_resolution"][side]["cur"]
        lines.append(
            {
                "side": side,
                "created": t["created"][side]["cur"]["n"],
                "resolved": t["resolved"][side]["cur"]["n"],
                "frt_median": D.fmt_duration(frt["median_s"]),
                "frt_p90": D.fmt_duration(frt["p90_s"]),
                "frt_n": frt["n"],
                "frt_prev": D.fmt_duration(t["frt"][side]["prev"]["median_s"]),
                "full_median": D.fmt_duration(full["median_s"]),
                "full_n": full["n"],
                "csat": D.fmt_pct(t["csat"][side]["cur"]["pct"]),
                "csat_n": t["csat"][side]["cur"]["den"],
                "fcr": D.fmt_pct(t["fcr"][side]["cur"]["pct"]),
                "reopen": D.fmt_pct(t["reopen"][side]["cur"]["pct"]),
                "sla": D.fmt_pct(t["sla"][side]["cur"]["pct"]),
                "backlog": (dash.backlog.get(side) or {}).get("backlog", 0),
                "actionable": (dash.backlog.get(side) or {}).get("actionable", 0),
            }
        )
    query = urlencode({"range": "custom", "start": first.isoformat(), "end": last.isoformat()})
    base = getattr(settings, "HELPDESK_BASE_URL", "").rstrip("/")
    return {
        "first": first,
        "last": last,
        "zone": str(zone),
        "as_of": dash.as_of,
        "lines": lines,
        "url": f"{base}{reverse('metrics-dashboard:dashboard')}?{query}",
    }


def weekly_report_send(*, today: date | None = None) -> int:
    """Send last week's summary to every active manager; returns the number of e-mails sent."""
    from accounts.models import User
    from metrics.services import reporting_zone

    today = today or D.local_today(reporting_zone())
    first, last = last_full_week(today)
    context = weekly_report_context(first=first, last=last)
    subject = f"Help desk weekly KPIs {first:%Y-%m-%d} – {last:%Y-%m-%d}"
    body = render_to_string("metrics/weekly_report.txt", context)
    sent = 0
    for user in User.objects.filter(role=User.Role.MANAGER, is_active=True).exclude(email="").order_by("pk"):
        key = f"metrics:weekly-report:{first.isoformat()}:{user.pk}"
        if not cache.add(key, 1, timeout=14 * 86400):
            continue  # already sent for this week
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=False)
        except Exception:
            cache.delete(key)
            raise
        sent += 1
    logger.info("weekly KPI report %s: %d e-mails", first, sent)
    return sent


@shared_task(name="metrics.weekly_report", autoretry_for=(Exception,), retry_backoff=60, max_retries=5)
def weekly_report() -> int:
    return weekly_report_send()
