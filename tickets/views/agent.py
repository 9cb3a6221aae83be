"""Agent workspace: ticket list and ticket page (agents, managers, admins)."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from helpdesk.lib.exceptions import ApplicationError
from tickets import selectors, services
from tickets.forms import AgentReplyForm, AgentTicketFilterForm, AssignForm, PriorityForm, TransitionForm
from tickets.models import Message, Ticket
from tickets.views.common import staff_required
from tickets.workflow import InvalidTransition

PAGE_SIZE = 50


@require_GET
@staff_required
def agent_ticket_list(request: HttpRequest) -> HttpResponse:
    queues = selectors.queue_list_for_user(user=request.user)
    form = AgentTicketFilterForm(request.GET or None, queues=queues)
    filters = form.filters() if request.GET else {}
    page = selectors.ticket_page_for_agent(
        user=request.user, filters=filters, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
    )
    next_url = first_url = None
    params = request.GET.copy()
    if page.next_cursor:
        params["cursor"] = page.next_cursor
        next_url = "?" + params.urlencode()
    if request.GET.get("cursor"):
        params.pop("cursor", None)
        first_url = "?" + params.urlencode()
    return render(
        request,
        "tickets/agent/ticket_list.html",
        {"form": form, "page": page, "next_url": next_url, "first_url": first_url},
    )


def _detail(request: HttpRequest, ticket: Ticket, *, status: int = 200, **forms: Any) -> HttpResponse:
    """The ticket page, with any bound (erroring) form passed in `forms`."""
    context = {
        "ticket": ticket,
        "timeline": selectors.ticket_timeline_for_user(user=request.user, ticket=ticket),
        "tags": list(ticket.tags.all()),
        "other_tickets": list(selectors.ticket_requester_other_tickets(user=request.user, ticket=ticket)),
        "reply_form": forms.get("reply_form") or AgentReplyForm(),
        "transition_form": forms.get("transition_form") or TransitionForm(initial={"target": ticket.status}),
        "assign_form": forms.get("assign_form")
        or AssignForm(
            initial={"assignee": ticket.assignee_id},
            members=selectors.assignee_list_for_ticket(user=request.user, ticket=ticket),
        ),
        "priority_form": forms.get("priority_form") or PriorityForm(initial={"priority": ticket.priority}),
        "is_closed": ticket.status == Ticket.Status.CLOSED,
    }
    return render(request, "tickets/agent/ticket_detail.html", context, status=status)


def _back(ticket: Ticket) -> HttpResponse:
    return redirect("tickets:agent-ticket-detail", ticket_id=ticket.pk)


@require_GET
@staff_required
def agent_ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    return _detail(request, ticket)


@require_POST
@staff_required
def agent_ticket_reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """A public reply or an internal note (with attachments)."""
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    form = AgentReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.message_post(
                ticket_id=ticket.pk,
                author=request.user,
                body=form.cleaned_data["body"],
                visibility=form.cleaned_data["visibility"],
                attachments=form.cleaned_data["attachments"],
                channel="web",
            )
        except ApplicationError as exc:
            form.add_error("body", exc.message)
        else:
            internal = form.cleaned_data["visibility"] == Message.Visibility.INTERNAL
            messages.success(request, "Internal note added." if internal else "Reply sent.")
            return _back(ticket)
    return _detail(request, ticket, reply_form=form)


@require_POST
@staff_required
def agent_ticket_transition(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Change the status; a move the state machine refuses is shown next to
    the field (the page answers 200 with the message, never 500)."""
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    form = TransitionForm(request.POST)
    if form.is_valid():
        try:
            ticket = services.ticket_transition(
                ticket_id=ticket.pk,
                target=form.cleaned_data["target"],
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except InvalidTransition as exc:
            form.add_error("target", exc.message)
        else:
            messages.success(request, f"Status set to {ticket.get_status_display()}.")
            return _back(ticket)
    return _detail(request, ticket, transition_form=form)


@require_POST
@staff_required
def agent_ticket_assign(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Set the assignee (queue members, or yourself); `assignee=me` takes it."""
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    data = request.POST.copy()
    if data.get("assignee") == "me":
        data["assignee"] = str(request.user.pk)
    form = AssignForm(data, members=selectors.assignee_list_for_ticket(user=request.user, ticket=ticket))
    if form.is_valid():
        try:
            ticket = services.ticket_assign(
                ticket_id=ticket.pk, assignee=form.cleaned_data["assignee"], actor=request.user
            )
        except ApplicationError as exc:
            form.add_error("assignee", exc.message)
        else:
            who = ticket.assignee.display_name if ticket.assignee else "nobody"
            messages.success(request, f"Assigned to {who}.")
            return _back(ticket)
    return _detail(request, ticket, assign_form=form)


@require_POST
@staff_required
def agent_ticket_priority(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    form = PriorityForm(request.POST)
    if form.is_valid():
        try:
            ticket = services.ticket_set_priority(
                ticket_id=ticket.pk, priority=form.cleaned_data["priority"], actor=request.user
            )
        except ApplicationError as exc:
            form.add_error("priority", exc.message)
        else:
            messages.success(request, f"Priority set to {ticket.get_priority_display()}.")
            return _back(ticket)
    return _detail(request, ticket, priority_form=form)
