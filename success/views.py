"""Customer success pages (docs/customer-success.md): the accounts sorted
by risk, one account's health with every input explained, its trend and
tickets, and proactive outreach."""

from datetime import datetime, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from helpdesk.lib.access import staff_required
from helpdesk.lib.csv_response import csv_response
from helpdesk.lib.exceptions import ApplicationError
from metrics.services import reporting_zone
from success import selectors, services
from success.forms import OutreachForm, PeriodForm
from success.policy import success_viewer
from success.present import CSV_COLUMNS, account_row, duration
from tickets import selectors as ticket_selectors
from tickets.models import QueueKind

PAGE_SIZE = 50


def _require_viewer(request: HttpRequest) -> None:
    if not success_viewer(request.user):
        raise Http404(_("No such page."))


def _period(days: int, now: datetime) -> selectors.Period:
    return selectors.Period(start=now - timedelta(days=days), end=now)


def _filtered(accounts: list[selectors.Account], band: str, q: str) -> list[selectors.Account]:
    if band:
        accounts = [a for a in accounts if a.health.band == band]
    if q:
        needle = q.lower()
        accounts = [a for a in accounts if needle in a.name.lower() or needle in a.email.lower()]
    return accounts


def _csv(accounts: list[selectors.Account], now: datetime, days: int) -> StreamingHttpResponse:
    rows = ([account_row(a, now=now)[c] for c in CSV_COLUMNS] for a in accounts)
    return csv_response(f"customer-success-{days}d", CSV_COLUMNS, rows)


@require_GET
@staff_required
def account_list(request: HttpRequest) -> HttpResponse:
    _require_viewer(request)
    form = PeriodForm(request.GET or None)
    valid = form.is_valid() if request.GET else True
    data = form.cleaned_data if request.GET and valid else {"days": 90, "band": "", "q": "", "page": 1}
    now = timezone.now()
    accounts = _filtered(selectors.account_list(_period(data["days"], now), now=now), data["band"], data["q"])
    if request.GET.get("format") == "csv" and valid:
        return _csv(accounts, now, data["days"])
    page = Paginator(accounts, PAGE_SIZE).get_page(data.get("page") or 1)
    rows = [(a, account_row(a, now=now)) for a in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "rows": rows, "days": data["days"], "query": query.urlencode()}
    return render(request, "success/list.html", context, status=200 if valid else 400)


def _account_or_404(kind: str, pk: int, days: int, now: datetime) -> selectors.Account:
    key = selectors.key_parse(kind, pk)
    account = selectors.account_get(key, _period(days, now), now=now) if key else None
    if account is None:
        raise Http404(_("No such account."))
    return account


def _outreach_form(request: HttpRequest, key: selectors.Key) -> OutreachForm:
    queues = ticket_selectors.queue_list_for_user(user=request.user).filter(kind=QueueKind.SERVICE).order_by("name")
    contacts = selectors.account_contacts(key)[:200]
    data = request.POST if request.method == "POST" else None
    return OutreachForm(data, contacts=contacts, queues=list(queues))


def _outreach(request: HttpRequest, account: selectors.Account, form: OutreachForm) -> HttpResponse | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        ticket = services.outreach_create(
            actor=request.user,
            key=account.key,
            contact_id=data["contact"],
            queue=data["queue_obj"],
            subject=data["subject"],
            body=data["body"],
            priority=data["priority"],
        )
    except ApplicationError as exc:
        form.add_error(exc.extra.get("field") if exc.extra.get("field") in form.fields else None, exc.message)
        return None
    messages.success(request, _("Outreach ticket #%(id)s created.") % {"id": ticket.pk})
    return redirect("tickets:agent-ticket-detail", ticket_id=ticket.pk)


@require_http_methods(["GET", "POST"])
@staff_required
def account_detail(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _require_viewer(request)
    form = PeriodForm(request.GET or None)
    days = form.cleaned_data["days"] if request.GET and form.is_valid() else 90
    now = timezone.now()
    account = _account_or_404(kind, pk, days, now)
    outreach = _outreach_form(request, account.key)
    if request.method == "POST":
        done = _outreach(request, account, outreach)
        if done is not None:
            return done
    trend = selectors.account_trend(account.key, selectors.months_back(now, 6, reporting_zone()), now=now)
    for row in trend:
        row["frt"], row["resolution"] = duration(row["frt_median_s"]), duration(row["resolution_median_s"])
    tickets = selectors.account_tickets_for_user(account.key, user=request.user)
    context = {
        "account": account,
        "row": account_row(account, now=now),
        "days": days,
        "trend": trend,
        "open_tickets": list(tickets.filter(status__in=("new", "open", "pending", "on_hold"))[:20]),
        "recent_tickets": list(tickets[:10]),
        "outreach": outreach,
        "form": form,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "success/detail.html", context, status=status)
