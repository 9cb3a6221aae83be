"""Survey pages: the e-mail rating link (records only on POST), the
portal's rating forms, and the managers' survey report and responses."""

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.lib.access import staff_required
from helpdesk.lib.csv_response import csv_response
from helpdesk.lib.exceptions import ApplicationError
from metrics.services import reporting_zone
from metrics.surveys import Window, survey_report_load
from surveys import services
from surveys.forms import SurveyAnswerForm
from tickets import selectors


def survey_panels(request: HttpRequest, ticket: Any, forms: dict[str, Any]) -> list[dict[str, Any]]:
    """The requester's rating forms once the ticket is resolved (CSAT, and
    CES on support queues), each prefilled with their latest answer. The
    portal ticket page's panels (helpdesk.lib.providers, surveys.apps)."""
    if not ticket.is_resolved or ticket.requester_id != request.user.pk:
        return []
    panels = []
    for survey in services.surveys_for_ticket(ticket=ticket):
        latest = services.survey_latest(ticket_id=ticket.pk, survey=survey)
        form = forms.get(survey) or SurveyAnswerForm(
            initial={"value": latest.data.get("value")} if latest else None, survey=survey, prefix=survey
        )
        panels.append({"survey": survey, "question": services.QUESTIONS[survey], "form": form, "latest": latest})
    return panels


def _link_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "surveys/link_invalid.html", {"error": exc.message, "code": exc.code}, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
def survey_rate(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the answer from the link already chosen and one button;
    only the POST records it. Mail scanners that prefetch links send GETs,
    so they rate nothing; a person needs one click."""
    try:
        claim = services.survey_token_read(token)
    except services.SurveyLinkInvalid as exc:
        return _link_error(request, exc)
    context: dict[str, Any] = {"claim": claim, "question": services.QUESTIONS[claim.survey]}
    if request.method == "POST":
        form = SurveyAnswerForm(request.POST, survey=claim.survey)
        if form.is_valid():
            try:
                event = services.survey_answer_from_link(
                    token=token, value=form.cleaned_data["value"], comment=form.cleaned_data["comment"]
                )
            except ApplicationError as exc:
                form.add_error("value", exc.message)
            else:
                return render(request, "surveys/rate.html", {**context, "event": event, "thanks": True})
        return render(request, "surveys/rate.html", {**context, "form": form}, status=400)
    form = SurveyAnswerForm(initial={"value": claim.value}, survey=claim.survey)
    return render(request, "surveys/rate.html", {**context, "form": form})


@require_http_methods(["GET", "HEAD", "POST"])
def nps_answer_page(request: HttpRequest, token: str) -> HttpResponse:
    """The NPS relationship survey's page: like the rating links, GET only
    shows the form (the value from the link chosen), the POST records."""
    from surveys import nps

    try:
        claim = nps.nps_token_read(token)
    except nps.NpsLinkInvalid as exc:
        return _link_error(request, exc)
    context: dict[str, Any] = {"question": services.QUESTIONS["nps"]}
    if request.method == "POST":
        form = SurveyAnswerForm(request.POST, survey="nps")
        if form.is_valid():
            try:
                event = nps.nps_answer(
                    token=token, value=form.cleaned_data["value"], comment=form.cleaned_data["comment"]
                )
            except ApplicationError as exc:
                form.add_error("value", exc.message)
            else:
                return render(request, "surveys/nps.html", {**context, "event": event, "thanks": True})
        return render(request, "surveys/nps.html", {**context, "form": form}, status=400)
    form = SurveyAnswerForm(initial={"value": claim.value}, survey="nps")
    return render(request, "surveys/nps.html", {**context, "form": form})


@require_POST
@login_required
def customer_survey_answer(request: HttpRequest, ticket_id: int, survey: str) -> HttpResponse:
    """The portal ticket page's CSAT/CES form (the requester, once solved)."""
    if getattr(request.user, "is_staff_role", False) or survey not in services.SCALES:
        raise Http404(_("No such page."))
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    if ticket.requester_id != request.user.pk:
        raise Http404(_("No such page."))
    form = SurveyAnswerForm(request.POST, survey=survey, prefix=survey)
    if form.is_valid():
        try:
            services.survey_answer(
                ticket=ticket,
                survey=survey,
                value=form.cleaned_data["value"],
                comment=form.cleaned_data["comment"],
                actor=request.user,
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Thank you for your feedback."))
        return redirect("tickets:customer-ticket-detail", ticket_id=ticket.pk)
    from tickets.views.customer import customer_ticket_page

    return customer_ticket_page(request, ticket, status=400, survey_forms={survey: form})


def _require_manager(request: HttpRequest) -> None:
    if not getattr(request.user, "is_manager_role", False):
        raise Http404(_("No such page."))


def _window(request: HttpRequest) -> tuple[Window, date, date, list[str]]:
    """?from=YYYY-MM-DD&to=YYYY-MM-DD in the reporting zone; default the
    last 30 days. Bad dates are reported, not raised."""
    zone = reporting_zone()
    today = timezone.now().astimezone(zone).date()
    errors: list[str] = []
    first, last = today - timedelta(days=29), today
    for name in ("from", "to"):
        raw = request.GET.get(name, "").strip()
        if not raw:
            continue
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            errors.append(f"'{raw}' is not a date (YYYY-MM-DD) for '{name}'.")
            continue
        if name == "from":
            first = value
        else:
            last = value
    if first > last:
        errors.append("'from' is after 'to'.")
        first, last = last, first
    return Window.of_dates(first, last, zone), first, last, errors


@require_GET
@staff_required
def manager_survey_report(request: HttpRequest) -> HttpResponse:
    """CSAT and CES for support and service side by side, NPS, links to the
    responses (drill-down) and CSV."""
    _require_manager(request)
    window, first, last, errors = _window(request)
    report = survey_report_load(window=window)
    return render(
        request,
        "surveys/manager_report.html",
        {"report": report, "first": first, "last": last, "errors": errors, "query": request.GET.urlencode()},
        status=400 if errors else 200,
    )


@require_GET
@staff_required
def manager_survey_responses(request: HttpRequest) -> HttpResponseBase:
    """Every counted response of a survey (optionally one side; comments
    only with ?comments=1), as a page or CSV (?format=csv)."""
    _require_manager(request)
    survey = request.GET.get("survey", "csat")
    side = request.GET.get("side", "all")
    if survey not in services.SCALES or side not in ("support", "service", "all"):
        return render(request, "surveys/manager_responses.html", {"bad": True}, status=400)
    window, first, last, errors = _window(request)
    rows = survey_report_load(window=window)["responses"][survey]
    if side != "all":
        rows = [r for r in rows if r.side == side]
    if request.GET.get("comments") == "1":
        rows = [r for r in rows if r.comment]
    if request.GET.get("format") == "csv":
        header = ["ticket", "answered_at", "survey", "scale", "value", "side", "customer_id", "comment"]
        values = (
            [r.ticket_id, r.at.isoformat(), r.survey, r.scale, r.value, r.side, r.customer_id, r.comment] for r in rows
        )
        return csv_response(f"{survey}-{side}-{first}-{last}", header, values)
    return render(
        request,
        "surveys/manager_responses.html",
        {"rows": rows, "survey": survey, "side": side, "first": first, "last": last, "errors": errors},
        status=400 if errors else 200,
    )
