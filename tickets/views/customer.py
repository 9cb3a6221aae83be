"""Customer portal: My requests, new request, ticket page, reply, solve.

Staff are sent to the agent pages (GET) and refused (404) on portal
writes: a reply through the portal is always a customer's reply."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.lib import providers
from helpdesk.lib.exceptions import ApplicationError
from tickets import selectors, services
from tickets.forms import PortalTicketForm, ReplyForm
from tickets.models import Message, Ticket
from tickets.views.list_rows import portal_rows_html
from tickets.workflow import InvalidTransition

PAGE_SIZE = 25


def _is_staff(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_staff_role", False))


@require_GET
@login_required
def customer_ticket_list(request: HttpRequest) -> HttpResponse:
    """My requests: own, CC'd and organisation-shared tickets."""
    if _is_staff(request):
        return redirect("tickets:agent-ticket-list")
    page = selectors.ticket_rows_page_for_customer(user=request.user, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    rows_html = portal_rows_html(page.items, user_id=request.user.pk)
    return render(request, "tickets/customer/ticket_list.html", {"page": page, "rows_html": rows_html})


@require_http_methods(["GET", "POST"])
@login_required
def customer_ticket_create(request: HttpRequest) -> HttpResponse:
    if _is_staff(request):
        return redirect("tickets:agent-ticket-list")
    request_types = selectors.request_type_list_active()
    if request.method == "POST":
        form = PortalTicketForm(request.POST, request.FILES, request_types=request_types)
    else:
        # Prefilled from the help centre's "nothing found" page (?subject=).
        initial = {"subject": request.GET.get("subject", "").strip()[:200]}
        form = PortalTicketForm(request_types=request_types, initial=initial)
    if request.method == "POST" and form.is_valid():
        request_type = form.cleaned_data["request_type"]
        try:
            ticket = services.ticket_create(
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["description"],
                queue=request_type.queue,
                request_type=request_type,
                requester=request.user,
                actor=request.user,
                channel=Ticket.Channel.PORTAL,
                attachments=form.cleaned_data["attachments"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Thanks! Your request #%(number)s was received.") % {"number": ticket.pk})
            return redirect("tickets:customer-ticket-detail", ticket_id=ticket.pk)
    return render(request, "tickets/customer/ticket_create.html", {"form": form, "has_types": request_types.exists()})


def _panels(request: HttpRequest, ticket: Ticket, forms: dict[str, Any]) -> list[dict[str, Any]]:
    """Panels other apps add to the portal ticket page (surveys: the rating
    forms once the ticket is resolved), from helpdesk.lib.providers."""
    panels = providers.provider(providers.CUSTOMER_TICKET_PANELS)
    return panels(request, ticket, forms) if panels is not None else []


def customer_ticket_page(request: HttpRequest, ticket: Ticket, *, status: int = 200, **extra: Any) -> HttpResponse:
    """The portal ticket page (also rendered with errors by other views)."""
    context = {
        "ticket": ticket,
        "timeline": selectors.ticket_timeline_for_user(user=request.user, ticket=ticket),
        "reply_form": extra.get("reply_form") or ReplyForm(),
        "solve_error": extra.get("solve_error"),
        "can_solve": ticket.status in Ticket.UNSOLVED,
        "is_closed": ticket.status == Ticket.Status.CLOSED,
        "survey_panels": _panels(request, ticket, extra.get("survey_forms") or {}),
    }
    return render(request, "tickets/customer/ticket_detail.html", context, status=status)


_detail = customer_ticket_page


@require_GET
@login_required
def customer_ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    if _is_staff(request):
        return redirect("tickets:agent-ticket-detail", ticket_id=ticket_id)
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    return _detail(request, ticket)


def _customer_ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    if _is_staff(request):
        raise Http404(_("No such page."))
    return selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)


@require_POST
@login_required
def customer_ticket_reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Reply. A solved ticket reopens; a closed one gets a follow-up ticket
    (services.message_post decides) and the customer is taken there."""
    ticket = _customer_ticket(request, ticket_id)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            message = services.message_post(
                ticket_id=ticket.pk,
                author=request.user,
                body=form.cleaned_data["body"],
                visibility=Message.Visibility.PUBLIC,
                attachments=form.cleaned_data["attachments"],
                channel=Ticket.Channel.PORTAL,
            )
        except ApplicationError as exc:
            form.add_error("body", exc.message)
        else:
            if message.ticket_id != ticket.pk:
                messages.info(
                    request,
                    _("Request #%(old)s was closed, so your message opened a new request #%(new)s.")
                    % {"old": ticket.pk, "new": message.ticket_id},
                )
            else:
                messages.success(request, _("Your reply was sent."))
            return redirect("tickets:customer-ticket-detail", ticket_id=message.ticket_id)
    return _detail(request, ticket, reply_form=form)


@require_POST
@login_required
def customer_ticket_solve(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Mark as solved. A refused move is shown on the page, not a 500."""
    ticket = _customer_ticket(request, ticket_id)
    try:
        services.ticket_transition(ticket_id=ticket.pk, target=Ticket.Status.SOLVED, actor=request.user)
    except InvalidTransition as exc:
        return _detail(request, ticket, solve_error=exc.message)
    messages.success(request, _("Marked as solved. Reply any time to reopen it."))
    return redirect("tickets:customer-ticket-detail", ticket_id=ticket.pk)
