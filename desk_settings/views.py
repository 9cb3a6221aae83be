"""Settings area part A: queues, calendars, SLA policies, request types and
the configuration history (managers and admins)."""

from typing import Any

from auditlog.models import LogEntry
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from desk_settings import audit, services
from desk_settings.access import manager_required
from desk_settings.forms import CalendarForm, NpsSurveyForm, QueueForm, RequestTypeForm, SLAPolicyForm
from tickets.calendar_versions import calendar_was_assigned
from tickets.config import ConfigInvalid, config_apply, config_health
from tickets.models import Calendar, Queue, RequestType, SLAPolicy

HISTORY_PAGE = 50


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """Every Settings page shows the unusable calendars and policies on top."""
    context.setdefault("config_warnings", config_health())
    return render(request, f"desk_settings/{template}", context, status=status)


def _bad(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return _render(request, template, context, status=400)


@manager_required
def settings_home(request: HttpRequest) -> HttpResponse:
    return redirect("desk_settings:queue-list")


# --- queues ------------------------------------------------------------------


@manager_required
def queue_list(request: HttpRequest) -> HttpResponse:
    queues = Queue.objects.select_related("calendar", "sla_policy").order_by("-is_active", "name")
    return _render(request, "queue_list.html", {"queues": queues, "section": "queues"})


@manager_required
def queue_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    queue = get_object_or_404(Queue, pk=pk) if pk else None
    if request.method == "POST":
        form = QueueForm(request.POST, instance=queue, initial=QueueForm.initial_for(queue))
        if form.is_valid():
            d = form.cleaned_data
            saved, report = services.queue_save(
                queue=queue,
                item=form.item(),
                is_active=d["is_active"],
                member_ids={u.pk for u in form.staff if d.get(f"member_{u.pk}")},
                capacities={u.pk: d.get(f"capacity_{u.pk}") for u in form.staff},
            )
            messages.success(
                request,
                _("Queue '%(name)s' saved; open tickets whose SLA due times moved: %(moved)s.")
                % {"name": saved.name, "moved": report.sla_state_changed_open_tickets},
            )
            return redirect("desk_settings:queue-list")
        return _bad(request, "queue_form.html", _queue_context(queue, form))
    form = QueueForm(instance=queue, initial=QueueForm.initial_for(queue))
    return _render(request, "queue_form.html", _queue_context(queue, form))


def _queue_context(queue: Queue | None, form: QueueForm) -> dict[str, Any]:
    """The page's calendar history (docs/settings.md#a-queues-calendar-over-time)."""
    history = services.queue_calendar_rows(queue) if queue else []
    return {"form": form, "queue": queue, "section": "queues", "calendar_history": history}


# --- calendars ---------------------------------------------------------------


@manager_required
def calendar_list(request: HttpRequest) -> HttpResponse:
    calendars = Calendar.objects.order_by("name")
    return _render(request, "calendar_list.html", {"calendars": calendars, "section": "calendars"})


@manager_required
def calendar_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    calendar = get_object_or_404(Calendar, pk=pk) if pk else None
    context: dict[str, Any] = {"calendar": calendar, "section": "calendars"}
    if request.method == "POST":
        form = CalendarForm(request.POST)
        if form.is_valid():
            try:
                saved, report = services.calendar_save(calendar=calendar, item=form.item())
            except ConfigInvalid as exc:  # judged after a rename: a scheduled version of the stored calendar
                for problem in exc.problems:
                    field = "effective_from" if problem.path.endswith(".effective_from") else None
                    form.add_error(field, problem.message)
                return _bad(request, "calendar_form.html", {**_calendar_context(calendar, context), "form": form})
            messages.success(
                request,
                _("Calendar '%(name)s' saved; open tickets whose SLA due times moved: %(moved)s.")
                % {"name": saved.name, "moved": report.sla_state_changed_open_tickets},
            )
            return redirect("desk_settings:calendar-edit", pk=saved.pk)
        return _bad(request, "calendar_form.html", {**_calendar_context(calendar, context), "form": form})
    form = CalendarForm(initial=CalendarForm.initial_for(calendar) if calendar else {"timezone": "UTC"})
    if calendar is not None and not [p for p in config_health() if f"'{calendar.name}'" in p]:
        context["preview"] = services.calendar_preview(calendar)
    return _render(request, "calendar_form.html", {**_calendar_context(calendar, context), "form": form})


def _calendar_context(calendar: Calendar | None, context: dict[str, Any]) -> dict[str, Any]:
    """The page's list of versions (docs/settings.md#calendars)."""
    return {**context, "versions": services.calendar_versions_rows(calendar) if calendar else []}


@require_POST
@manager_required
def calendar_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return _delete_unreferenced(request, get_object_or_404(Calendar, pk=pk), "calendar-list", gettext_lazy("Calendar"))


def _delete_unreferenced(
    request: HttpRequest, row: Calendar | SLAPolicy, back: str, label: str | Promise
) -> HttpResponse:
    """Only a calendar or policy no queue uses can go (queues refer with PROTECT)."""
    users = list(row.queue_set.order_by("name").values_list("name", flat=True))
    if users:
        messages.error(
            request,
            _("%(what)s '%(name)s' is used by %(queues)s: change those queues first.")
            % {"what": label, "name": row.name, "queues": ", ".join(users)},
        )
        return redirect(f"desk_settings:{back.replace('-list', '-edit')}", pk=row.pk)
    if isinstance(row, Calendar) and calendar_was_assigned(row.pk):  # past business values were computed with it
        messages.error(
            request,
            _("Calendar '%(name)s' was used by a queue: past business-hours values depend on it, so it stays.")
            % {"name": row.name},
        )
        return redirect("desk_settings:calendar-edit", pk=row.pk)
    row.delete()
    messages.success(request, _("%(what)s '%(name)s' deleted.") % {"what": label, "name": row.name})
    return redirect(f"desk_settings:{back}")


# --- SLA policies ------------------------------------------------------------


@manager_required
def policy_list(request: HttpRequest) -> HttpResponse:
    policies = SLAPolicy.objects.order_by("name")
    return _render(request, "policy_list.html", {"policies": policies, "section": "sla"})


@manager_required
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy = get_object_or_404(SLAPolicy, pk=pk) if pk else None
    queues = list(Queue.objects.filter(is_active=True).order_by("name"))
    context: dict[str, Any] = {"policy": policy, "section": "sla"}
    if request.method == "POST":
        form = SLAPolicyForm(request.POST, queues=queues)
        if not form.is_valid():
            return _bad(request, "policy_form.html", {**context, "form": form})
        if "dry_run" in request.POST:
            context["dry_run"] = services.policy_dry_run(policy=policy, item=form.item_value)
            return _render(request, "policy_form.html", {**context, "form": form})
        saved, report = services.policy_save(policy=policy, item=form.item_value)
        messages.success(
            request,
            _("SLA policy '%(name)s' saved; open tickets whose SLA due times moved: %(moved)s.")
            % {"name": saved.name, "moved": report.sla_state_changed_open_tickets},
        )
        return redirect("desk_settings:policy-edit", pk=saved.pk)
    initial = SLAPolicyForm.initial_for(policy) if policy else {"pause_statuses": ["pending"], "warning_percent": 75}
    form = SLAPolicyForm(initial=initial, queues=queues)
    return _render(request, "policy_form.html", {**context, "form": form})


@require_POST
@manager_required
def policy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return _delete_unreferenced(request, get_object_or_404(SLAPolicy, pk=pk), "policy-list", gettext_lazy("SLA policy"))


# --- request types -----------------------------------------------------------


@manager_required
def request_type_list(request: HttpRequest) -> HttpResponse:
    types = RequestType.objects.select_related("queue").order_by("-is_active", "position", "name")
    return _render(request, "request_type_list.html", {"types": types, "section": "request_types"})


@manager_required
def request_type_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rt = get_object_or_404(RequestType.objects.select_related("queue"), pk=pk) if pk else None
    context: dict[str, Any] = {"request_type": rt, "section": "request_types"}
    if request.method == "POST":
        form = RequestTypeForm(request.POST, instance=rt, initial=RequestTypeForm.initial_for(rt) if rt else None)
        if form.is_valid():
            values = {**form.cleaned_data, "slug": rt.slug if rt else form.cleaned_data["slug"]}
            saved = services.request_type_save(request_type=rt, values=values)
            messages.success(request, _("Request type '%(name)s' saved.") % {"name": saved.name})
            return redirect("desk_settings:request-type-list")
        return _bad(request, "request_type_form.html", {**context, "form": form})
    form = RequestTypeForm(instance=rt, initial=RequestTypeForm.initial_for(rt) if rt else None)
    return _render(request, "request_type_form.html", {**context, "form": form})


# --- surveys -----------------------------------------------------------------


@manager_required
def survey_settings(request: HttpRequest) -> HttpResponse:
    """The NPS relationship survey settings, saved through tickets.config
    (the same validation and audit as the config file and the API)."""
    from surveys.nps import nps_config

    context: dict[str, Any] = {"section": "surveys"}
    if request.method == "POST":
        form = NpsSurveyForm(request.POST)
        if form.is_valid():
            try:
                config_apply({"surveys": {"nps": form.document()}})
            except ConfigInvalid as exc:
                for problem in exc.problems:
                    form.add_error(None, str(problem))
            else:
                messages.success(request, _("Survey settings saved."))
                return redirect("desk_settings:surveys")
        return _bad(request, "survey_form.html", {**context, "form": form})
    return _render(request, "survey_form.html", {**context, "form": NpsSurveyForm(initial=nps_config())})


# --- history -----------------------------------------------------------------


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def history_content_types() -> list[ContentType]:
    ids = LogEntry.objects.values_list("content_type_id", flat=True).distinct()
    return sorted(ContentType.objects.filter(pk__in=ids), key=lambda ct: str(ct))


@manager_required
def history(request: HttpRequest) -> HttpResponse:
    type_id = _int(request.GET.get("type"))
    object_pk = (request.GET.get("object") or "").strip()[:255] or None
    entries = audit.history_entries(
        content_type_id=type_id, object_pk=object_pk, before_id=_int(request.GET.get("before")), limit=HISTORY_PAGE
    )
    next_url = None
    if len(entries) > HISTORY_PAGE:
        entries = entries[:HISTORY_PAGE]
        params = request.GET.copy()
        params["before"] = str(entries[-1].pk)
        next_url = f"{reverse('desk_settings:history')}?{params.urlencode()}"
    rows = [{"entry": e, "via": audit.entry_via(e), "changes": audit.entry_changes(e)} for e in entries]
    context = {
        "rows": rows,
        "types": history_content_types(),
        "type_id": type_id,
        "object_pk": object_pk or "",
        "next_url": next_url,
        "section": "history",
    }
    return _render(request, "history.html", context)
