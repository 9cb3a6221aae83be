"""Agent pages around the list: a new ticket on behalf of a customer (with
the customer picker)."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods

from accounts.request_user import signed_in
from helpdesk.lib.exceptions import ApplicationError
from tickets import policy, selectors, workspace_services
from tickets.forms import AgentTicketCreateForm
from tickets.models import QueueKind
from tickets.views.common import staff_required


@require_http_methods(["GET", "POST"])
@staff_required
def agent_ticket_new(request: HttpRequest) -> HttpResponse:
    """A phone call or an outbound follow-up, in one of the agent's queues;
    errors next to their field."""
    queues = list(selectors.queue_list_for_user(user=request.user).order_by("kind", "name"))
    if request.method == "POST":
        form = AgentTicketCreateForm(request.POST, queues=queues)
    else:
        initial: dict[str, Any] = {"requester_email": request.GET.get("email", "")}
        if request.GET.get("how") == "outbound":
            service = next((q for q in queues if q.kind == QueueKind.SERVICE), None)
            initial.update(how="outbound", queue=service.pk if service else None)
        form = AgentTicketCreateForm(initial=initial, queues=queues)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = workspace_services.ticket_create_on_behalf(
                agent=signed_in(request),
                requester_email=data["requester_email"],
                requester_name=data["requester_name"],
                create_customer=data["create_customer"],
                queue=data["queue_obj"],
                subject=data["subject"],
                body=data["body"],
                priority=data["priority"],
                how=data["how"],
            )
        except workspace_services.CustomerNotFound as exc:
            form.add_error("requester_email", exc.message)
        except policy.Refused as exc:
            form.add_error(exc.field, exc.message)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                gettext("Ticket #%(pk)s created for %(name)s.")
                % {"pk": ticket.pk, "name": ticket.requester.display_name},
            )
            return redirect("tickets:agent-ticket-detail", ticket_id=ticket.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "tickets/agent/ticket_new.html", {"form": form, "has_queues": bool(queues)}, status=status)


@require_GET
@staff_required
def agent_customer_search(request: HttpRequest) -> HttpResponse:
    """The customer picker's suggestions (an HTML fragment)."""
    people = workspace_services.customer_search(query=request.GET.get("q", ""))
    return render(request, "tickets/agent/_customer_picker.html", {"people": people})
