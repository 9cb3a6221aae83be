"""Settings → Agents and Organisations: managers and admins (agents 403,
customers 404); any staff member flips their own away switch."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from accounts.models import Organisation, User
from automation import staff_services
from automation.staff_forms import OrganisationForm, StaffForm
from automation.views import manager_required
from helpdesk.lib.access import staff_required
from helpdesk.lib.redirects import safe_next_url


@manager_required
def agent_list(request: HttpRequest) -> HttpResponse:
    staff = (
        User.objects.filter(role__in=staff_services.STAFF)
        .prefetch_related("queues")
        .order_by("-is_active", "role", "name", "email")
    )
    return render(request, "accounts/staff/agent_list.html", {"staff": staff})


@manager_required
def agent_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    account = User.objects.filter(pk=user_id, role__in=staff_services.STAFF).first()
    if account is None:
        raise Http404("No such agent.")
    form = StaffForm(request.POST or None, actor=request.user, account=account)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                staff_services.staff_update(actor=request.user, account_id=account.pk, data=form.cleaned_data)
            except staff_services.StaffChangeRefused as exc:
                form.add_error(exc.problem.field if exc.problem.field in form.fields else None, exc.problem.message)
            else:
                messages.success(request, gettext("%s saved.") % account.display_name)
                return redirect("staff:agent-list")
        status = 400
    return render(request, "accounts/staff/agent_form.html", {"form": form, "account": account}, status=status)


@require_POST
@staff_required
def away_toggle(request: HttpRequest) -> HttpResponse:
    away = request.POST.get("away") == "1"
    staff_services.staff_set_away(user=request.user, away=away)
    messages.success(
        request,
        gettext("You are away: no new tickets are assigned to you.") if away else gettext("You are available."),
    )
    return redirect(safe_next_url(request, request.POST.get("next", ""), "/agent/tickets/"))


@manager_required
def organisation_list(request: HttpRequest) -> HttpResponse:
    orgs = Organisation.objects.order_by("name")
    return render(request, "accounts/staff/organisation_list.html", {"orgs": orgs})


@manager_required
def organisation_edit(request: HttpRequest, org_id: int | None = None) -> HttpResponse:
    instance = None
    if org_id is not None:
        instance = Organisation.objects.filter(pk=org_id).first()
        if instance is None:
            raise Http404("No such organisation.")
    form = OrganisationForm(request.POST or None, instance=instance)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            org = staff_services.organisation_save(data=form.cleaned_data, instance=instance)
            messages.success(request, gettext("%s saved.") % org.name)
            return redirect("staff:organisation-list")
        status = 400
    members = instance.members.order_by("name", "email") if instance else []
    return render(
        request,
        "accounts/staff/organisation_form.html",
        {"form": form, "org": instance, "members": members},
        status=status,
    )
