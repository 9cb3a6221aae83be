"""Weekly KPI summary e-mail to managers (Celery task, scheduled by beat on Mondays).

The report goes through the notifications outbox (mail.services.
notification_enqueue_report): one Notification row of kind weekly_report per
manager and week, written in one transaction and delivered by the outbox
sender (retries, backoff, sweeper, status). The row's dedupe key
"weekly_report:<user id>:<week start>" makes a redelivered or retried task
enqueue nothing twice.

Each manager reads it in their own language (accounts.language.
recipient_language, as every other e-mail; docs/languages.md): the dashboard
is computed once, then subject and body are rendered once per language
among the recipients, inside `translation.override`.
"""

import logging
from datetime import date, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.language import recipient_language
from helpdesk.lib import providers
from metrics import dashboard

logger = logging.getLogger(__name__)


def last_full_week(today: date) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday - timedelta(days=1)


def _report_dashboard(*, first: date, last: date) -> Any:
    from metrics.services import reporting_zone

    zone = reporting_zone()
    scope = dashboard.Scope(period=dashboard.Period(first, last, zone), bucket="day", with_agents=False)
    return dashboard.dashboard_build(scope=scope)


def weekly_report_context(*, first: date, last: date, dash: Any = None) -> dict[str, Any]:
    """The template context in the active language (durations and
    percentages are formatted here); `dash`: an already built dashboard."""
    from metrics.services import reporting_zone

    zone = reporting_zone()
    dash = dash if dash is not None else _report_dashboard(first=first, last=last)
    lines = []
    for side in dashboard.SIDES:
        t = dash.tiles
        frt = t["frt"][side]["cur"]
        full = t["full_resolution"][side]["cur"]
        lines.append(
            {
                "side": side,
                "created": t["created"][side]["cur"]["n"],
                "resolved": t["resolved"][side]["cur"]["n"],
                "frt_median": dashboard.fmt_duration(frt["median_s"]),
                "frt_p90": dashboard.fmt_duration(frt["p90_s"]),
                "frt_n": frt["n"],
                "frt_prev": dashboard.fmt_duration(t["frt"][side]["prev"]["median_s"]),
                "full_median": dashboard.fmt_duration(full["median_s"]),
                "full_n": full["n"],
                "csat": dashboard.fmt_pct(t["csat"][side]["cur"]["pct"]),
                "csat_n": t["csat"][side]["cur"]["den"],
                "fcr": dashboard.fmt_pct(t["fcr"][side]["cur"]["pct"]),
                "reopen": dashboard.fmt_pct(t["reopen"][side]["cur"]["pct"]),
                "sla": dashboard.fmt_pct(t["sla"][side]["cur"]["pct"]),
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
        "preferences_url": f"{base}{reverse('mail:preferences')}",
    }


def _report_render(*, first: date, last: date, dash: Any, language: str) -> tuple[str, str]:
    """(subject, body) of the report in `language`."""
    with translation.override(language):
        subject = _("Help desk weekly KPIs %(first)s – %(last)s") % {
            "first": f"{first:%Y-%m-%d}",
            "last": f"{last:%Y-%m-%d}",
        }
        body = render_to_string("metrics/weekly_report.txt", weekly_report_context(first=first, last=last, dash=dash))
    return subject, body


def weekly_report_dedupe_key(*, user_id: int, first: date) -> str:
    """The outbox dedupe key of one manager's report for the week starting `first`."""
    return f"weekly_report:{user_id}:{first.isoformat()}"


def weekly_report_send(*, today: date | None = None) -> int:
    """Enqueue last week's summary for every active manager and admin with
    an e-mail address, through the notifications outbox; returns the number
    of rows newly written.

    All rows are written in one transaction and delivered on commit. Once
    per (manager, week): a second run for the same week writes nothing.
    Managers who turned weekly_report off in their email settings get none.
    """
    from accounts.models import User
    from metrics.services import reporting_zone

    today = today or dashboard.local_today(reporting_zone())
    first, last = last_full_week(today)
    managers = list(User.objects.filter(role__in=User.MANAGER_ROLES, is_active=True).exclude(email="").order_by("pk"))
    # The mail channel sends it (mail.apps offers REPORT_MAIL); none: no report.
    notification_enqueue_report = providers.provider(providers.REPORT_MAIL)
    if not managers or notification_enqueue_report is None:
        return 0
    dash = _report_dashboard(first=first, last=last)
    rendered: dict[str, tuple[str, str]] = {}  # language -> (subject, body): one render per language
    enqueued = 0
    with transaction.atomic():
        for user in managers:
            language = recipient_language(user)
            if language not in rendered:
                rendered[language] = _report_render(first=first, last=last, dash=dash, language=language)
            subject, body = rendered[language]
            row = notification_enqueue_report(
                recipient=user,
                subject=subject,
                body=body,
                dedupe_key=weekly_report_dedupe_key(user_id=user.pk, first=first),
            )
            enqueued += row is not None
    logger.info("weekly KPI report %s: %d e-mails enqueued", first, enqueued)
    return enqueued


@shared_task(name="metrics.weekly_report", autoretry_for=(Exception,), retry_backoff=60, max_retries=5)
def weekly_report(**kwargs: object) -> int:
    """Enqueue last week's KPI report; idempotent per (manager, week)."""
    return weekly_report_send()
