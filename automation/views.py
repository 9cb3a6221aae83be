"""Settings pages: macros, routing rules, shared saved views.

Customers get 404 (staff pages do not exist for them), agents 403 on the
manager-only pages; agents manage their own personal macros here.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from automation import services
from automation.forms import MacroForm, MacroPreviewForm, RoutingRuleForm, RuleTestForm, SharedViewForm
from helpdesk.lib.access import manager_required as _manager_required
from helpdesk.lib.access import staff_required
from helpdesk.lib.exceptions import PermissionDenied
from tickets import selectors
from tickets.forms import WorkspaceFilterForm
from tickets.macros import PLACEHOLDERS, MacroError
from tickets.models import RoutingRule
from tickets.workspace import DEFAULT_SORT, SORTS

View = Callable[..., HttpResponse]


# Staff only (404 otherwise), then managers and admins (403 for agents).
manager_required = _manager_required(message=services.NOT_MANAGER)


def _as_django_403(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None


# --- Macros ---------------------------------------------------------------------


@staff_required
def macro_list(request: HttpRequest) -> HttpResponse:
    macros = services.macro_list_for_user(user=request.user).order_by("owner_id", "name")
    return render(request, "automation/macro_list.html", {"macros": macros})


@staff_required
def macro_edit(request: HttpRequest, macro_id: int | None = None) -> HttpResponse:
    instance = None
    if macro_id is not None:
        instance = _as_django_403(services.macro_get_for_edit, user=request.user, macro_id=macro_id)
    form = MacroForm(request.POST or None, actor=request.user, instance=instance)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            macro = _as_django_403(services.macro_save, actor=request.user, data=form.cleaned_data, instance=instance)
            messages.success(request, gettext("Macro “%s” saved.") % macro.name)
            return redirect("automation:macro-list")
        status = 400
    context = {
        "form": form,
        "macro": instance,
        "preview_form": MacroPreviewForm(prefix="preview"),
        "placeholders": PLACEHOLDERS,
    }
    return render(request, "automation/macro_form.html", context, status=status)


@require_POST
@staff_required
def macro_preview(request: HttpRequest) -> HttpResponse:
    """The reply text for the chosen ticket, as the ticket page would show
    it once posted (fetched by static/js/macro-preview.js)."""
    form = MacroPreviewForm(request.POST, prefix="preview")
    context: dict[str, Any] = {"form": form}
    status = 200
    if form.is_valid():
        try:
            context["html"] = services.macro_preview(
                user=request.user, body=form.cleaned_data["body"], ticket_id=form.cleaned_data["ticket"]
            )
        except Http404 as exc:
            form.add_error("ticket", str(exc))
            status = 400
        except MacroError as exc:
            form.add_error("body", exc.message)
            status = 400
    else:
        status = 400
    return render(request, "automation/macro_preview.html", context, status=status)


@require_POST
@staff_required
def macro_toggle(request: HttpRequest, macro_id: int) -> HttpResponse:
    macro = _as_django_403(services.macro_get_for_edit, user=request.user, macro_id=macro_id)
    macro.is_active = not macro.is_active
    macro.save(update_fields=["is_active", "updated_at"])
    done = gettext("Macro “%s” enabled.") if macro.is_active else gettext("Macro “%s” disabled.")
    messages.success(request, done % macro.name)
    return redirect("automation:macro-list")


# --- Routing rules ----------------------------------------------------------------


@manager_required
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = RoutingRule.objects.select_related("set_queue", "request_type").order_by("position", "id")
    test_form = RuleTestForm(request.GET or None)
    result = None
    if test_form.is_valid():
        try:
            result = services.routing_test(user=request.user, ticket_id=test_form.cleaned_data["ticket"])
        except Http404 as exc:
            test_form.add_error("ticket", str(exc))
    status = 400 if test_form.is_bound and test_form.errors else 200
    return render(
        request, "automation/rule_list.html", {"rules": rules, "test_form": test_form, "result": result}, status=status
    )


@manager_required
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    instance = None
    if rule_id is not None:
        instance = RoutingRule.objects.filter(pk=rule_id).first()
        if instance is None:
            raise Http404("No such rule.")
    form = RoutingRuleForm(request.POST or None, instance=instance)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            rule = services.routing_rule_save(actor=request.user, data=form.cleaned_data, instance=instance)
            messages.success(request, gettext("Routing rule “%s” saved.") % rule.name)
            return redirect("automation:rule-list")
        status = 400
    return render(request, "automation/rule_form.html", {"form": form, "rule": instance}, status=status)


@require_POST
@manager_required
def rule_move(request: HttpRequest, rule_id: int, direction: str) -> HttpResponse:
    services.position_move(actor=request.user, qs=RoutingRule.objects.all(), obj_id=rule_id, direction=direction)
    return redirect("automation:rule-list")


@require_POST
@manager_required
def rule_toggle(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = RoutingRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise Http404("No such rule.")
    rule.is_active = not rule.is_active
    rule.save(update_fields=["is_active"])
    return redirect("automation:rule-list")


# --- Shared saved views ---------------------------------------------------------------


def _filter_form(request: HttpRequest, data: Any, initial: Any = None) -> WorkspaceFilterForm:
    from tickets.views.agent import _agents_for

    queues = list(selectors.queue_list_for_user(user=request.user))
    return WorkspaceFilterForm(data, initial=initial, queues=queues, agents=_agents_for([q.pk for q in queues]))


def _filter_errors(form: WorkspaceFilterForm) -> bool:
    """The workspace drops bad filter values silently; here they are errors."""
    form.is_valid()
    return bool(form.errors)


@manager_required
def view_list(request: HttpRequest) -> HttpResponse:
    return render(request, "automation/view_list.html", {"views": services.shared_view_list()})


@manager_required
def view_edit(request: HttpRequest, view_id: int | None = None) -> HttpResponse:
    instance = services.shared_view_get(user=request.user, view_id=view_id) if view_id is not None else None
    initial = {**(instance.filters if instance else {}), "sort": instance.sort if instance else DEFAULT_SORT}
    data = request.POST if request.method == "POST" else None
    form = SharedViewForm(
        data,
        owner=request.user,
        instance=instance,
        initial={"name": instance.name, "is_active": instance.is_active} if instance else None,
    )
    filter_form = _filter_form(request, data, initial=initial)
    status = 200
    if request.method == "POST":
        filters_ok = not _filter_errors(filter_form)
        if form.is_valid() and filters_ok:
            filters = {k: str(request.POST[k]) for k in WorkspaceFilterForm.FILTER_FIELDS if request.POST.get(k)}
            sort = request.POST.get("sort") if request.POST.get("sort") in SORTS else DEFAULT_SORT
            view = services.shared_view_save(
                actor=request.user,
                name=form.cleaned_data["name"],
                is_active=form.cleaned_data["is_active"],
                filters=filters,
                sort=sort,
                instance=instance,
            )
            messages.success(request, gettext("Shared view “%s” saved.") % view.name)
            return redirect("automation:view-list")
        status = 400
    fields = [filter_form[name] for name in (*WorkspaceFilterForm.FILTER_FIELDS, "sort")]
    return render(
        request,
        "automation/view_form.html",
        {"form": form, "filter_fields": fields, "view": instance},
        status=status,
    )


@require_POST
@manager_required
def view_move(request: HttpRequest, view_id: int, direction: str) -> HttpResponse:
    services.position_move(actor=request.user, qs=services.shared_view_list(), obj_id=view_id, direction=direction)
    return redirect("automation:view-list")


@require_POST
@manager_required
def view_toggle(request: HttpRequest, view_id: int) -> HttpResponse:
    view = services.shared_view_get(user=request.user, view_id=view_id)
    view.is_active = not view.is_active
    view.save(update_fields=["is_active"])
    return redirect("automation:view-list")
