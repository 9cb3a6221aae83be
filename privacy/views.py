"""HTML: the admin's people page (export, erase) and a person's own
"My data" page. Admin pages are 404 for everyone else."""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from accounts.request_user import signed_in
from helpdesk.lib.exceptions import ApplicationError
from helpdesk.lib.throttle import Throttle
from privacy import selectors, services
from privacy.forms import EraseConfirmForm
from privacy.models import PrivacyAuditEvent

View = Callable[..., HttpResponse]
# A full export is a heavy read: a person gets a few per hour.
SELF_EXPORT_THROTTLE = Throttle(scope="privacy-self-export", limit=10, window=3600)


def admin_required(view: View) -> View:
    """Active admins only; everyone else gets 404 (the page does not exist
    for them)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not services.user_may_erase(request.user):
            raise Http404(_("No such page."))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def export_response(data: dict[str, Any], *, user_id: int) -> HttpResponse:
    """The export as a JSON file download."""
    body = json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="person-{user_id}-export.json"'
    response["Cache-Control"] = "no-store"
    return response


def _person_or_404(user_id: int) -> User:
    try:
        return selectors.person_get(user_id=user_id)
    except User.DoesNotExist as exc:
        raise Http404(_("No such person.")) from exc


@require_GET
@admin_required
def admin_person_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    people = selectors.person_search(query=query) if query else []
    return render(request, "privacy/person_list.html", {"query": query, "people": people})


@require_http_methods(["GET", "POST"])
@admin_required
def admin_person_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    """The person's page: what is held, export link, erase form."""
    person = _person_or_404(user_id)
    form = EraseConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.person_erase(
                subject_id=person.pk,
                actor=signed_in(request),
                via="page",
                confirm_email=form.cleaned_data["confirm_email"],
            )
        except ApplicationError as exc:
            form.add_error("confirm_email", exc.message)
        else:
            messages.success(request, f"User #{person.pk} was erased.")
            return redirect("privacy:admin-person-detail", user_id=person.pk)
    ids = selectors.person_ticket_ids(user=person)
    context = {
        "person": person,
        "form": form,
        "erased": services.person_is_erased(person),
        "ticket_count": len(set(ids["requested"]) | set(ids["cc"])),
        "audit": PrivacyAuditEvent.objects.filter(subject=person).select_related("actor").order_by("-pk")[:20],
    }
    return render(request, "privacy/person_detail.html", context, status=400 if form.errors else 200)


@require_GET
@admin_required
def admin_person_export(request: HttpRequest, user_id: int) -> HttpResponse:
    person = _person_or_404(user_id)
    data = services.person_export_record(subject=person, actor=signed_in(request), via="page")
    return export_response(data, user_id=person.pk)


@require_GET
@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/my_data.html", {})


@require_GET
@login_required
def my_data_export(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own export, at once (10 per hour)."""
    if SELF_EXPORT_THROTTLE.is_blocked(str(request.user.pk)):
        messages.error(request, _("You downloaded your data several times this hour; please try again later."))
        return render(request, "privacy/my_data.html", {}, status=429)
    SELF_EXPORT_THROTTLE.failure_record(str(request.user.pk))
    me = signed_in(request)
    data = services.person_export_record(subject=me, actor=me, via="portal")
    return export_response(data, user_id=me.pk)
