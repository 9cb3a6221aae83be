"""Agent ticket page, second pass (issue #14): the properties panel saved in
one action (htmx swaps the panel and the timeline), undo, the timeline
filter and the ticket operations (link, unlink, spam, delete, restore,
split). docs/workspace-ticket-page.md.

Every view fetches the ticket through the selectors (404 when it is not
visible) and leaves every other object to tickets.operations, which asks
tickets.policy.
"""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from helpdesk.lib.exceptions import ApplicationError
from tickets import operations, policy, selectors, timeline
from tickets.forms import LinkForm, PropertiesRows, SplitForm, TicketPropertiesForm
from tickets.models import Ticket
from tickets.views.common import staff_required

TIMELINE_SHOW = ("all", "messages")


def timeline_show(request: HttpRequest) -> str:
    show = request.GET.get("show", "all")
    return show if show in TIMELINE_SHOW else "all"


def timeline_for(*, user: Any, ticket: Ticket, show: str) -> Any:
    return timeline.timeline_for_agent(
        timeline=selectors.ticket_timeline_for_user(user=user, ticket=ticket), messages_only=show == "messages"
    )


def properties_form(*, user: Any, ticket: Ticket, data: Any = None) -> TicketPropertiesForm:
    """The properties panel. Unbound (shown), its choices and CCs are read
    by statements written out (same rows as the policy's querysets, which
    still validate a post): docs/workspace-ticket-page.md, "Sixth round"."""
    if data is None:
        rows = PropertiesRows(
            assignees=selectors.assignee_choice_rows(user=user, ticket=ticket),
            queues=policy.queue_choice_rows(actor=user, ticket=ticket),
            cc_emails=selectors.ticket_cc_emails(ticket_id=ticket.pk),
        )
        return TicketPropertiesForm(ticket=ticket, rows=rows)
    return TicketPropertiesForm(
        data,
        ticket=ticket,
        members=policy.assignee_choices(actor=user, ticket=ticket),
        queues=policy.queue_choices(actor=user, ticket=ticket),
    )


def undo_offer(request: HttpRequest, ticket: Ticket) -> dict[str, Any] | None:
    """The undo button after a save (`?undo=<event id>` on the redirect, or
    the htmx answer): shown only while properties_undo_plan allows it."""
    raw = request.GET.get("undo", "")
    if not raw.isdigit():
        return None
    return _undo_for(request.user, ticket, int(raw))


def _undo_for(user: Any, ticket: Ticket, after: int) -> dict[str, Any] | None:
    plan = operations.properties_undo_plan(ticket=ticket, actor=user, after_event_id=after)
    return {"after": after, "possible": plan.possible, "reason": plan.reason}


def _page_url(ticket: Ticket, **query: Any) -> str:
    from urllib.parse import urlencode

    url = reverse("tickets:agent-ticket-detail", args=[ticket.pk])
    return f"{url}?{urlencode(query)}" if query else url


def _panel_response(
    request: HttpRequest, ticket: Ticket, form: TicketPropertiesForm, *, undo: Any = None, status: int = 200
) -> HttpResponse:
    """htmx: the panel, the status line and the timeline (out of band).
    Plain form post: the page (400 with the errors next to the fields)."""
    if request.htmx:
        context = {
            "ticket": ticket,
            "props_form": form,
            "undo": undo,
            "timeline": timeline_for(user=request.user, ticket=ticket, show=timeline_show(request)),
            "timeline_show": timeline_show(request),
            "is_closed": ticket.status == Ticket.Status.CLOSED,
        }
        return render(request, "tickets/agent/_properties_response.html", context)
    from tickets.views.agent import _detail

    return _detail(request, ticket, status=status, props_form=form, undo=undo)


def _properties_apply(request: HttpRequest, ticket: Ticket, form: TicketPropertiesForm) -> Any:
    """Only the fields the agent changed go to the service (None: leave
    alone), so a stale panel never undoes another agent's change."""
    data = form.cleaned_data
    changed = form.changed_fields()
    return operations.ticket_properties_update(
        ticket_id=ticket.pk,
        actor=request.user,
        status=data["status"] if "status" in changed else None,
        priority=data["priority"] if "priority" in changed else None,
        assignee=data["assignee"] if "assignee" in changed else "unchanged",
        queue=data["queue"] if "queue" in changed else None,
        reason=data["reason"],
        tags=data["tags"] if "tags" in changed else None,
        ccs=policy.cc_users_get(emails=data["ccs"], field="ccs") if "ccs" in changed else None,
    )


@require_POST
@staff_required
def agent_ticket_properties(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Save the properties panel in one action (all or nothing); refusals
    appear next to their field."""
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    form = properties_form(user=request.user, ticket=ticket, data=request.POST)
    if not form.is_valid():
        return _panel_response(request, ticket, form, status=400)
    try:
        result = _properties_apply(request, ticket, form)
    except policy.Refused as exc:
        form.add_error(exc.field, exc.message)
        return _panel_response(request, ticket, form, status=400)
    except operations.PropertiesRefused as exc:
        for field, message in exc.errors.items():
            form.add_error(field if field in form.fields else None, message)
        return _panel_response(request, ticket, form, status=400)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _panel_response(request, ticket, form, status=400)
    # Staff see tickets by queue (tickets.selectors.ticket_visibility_q): only
    # a queue move can take the ticket out of sight.
    moved = "queue" in result.changed
    if (
        moved
        and not selectors.ticket_list_for_user(user=request.user, include_hidden=True).filter(pk=ticket.pk).exists()
    ):
        # Escalated out of the agent's queues: nothing more to show here.
        messages.success(request, gettext("Saved. The ticket moved to a queue you do not work in."))
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("tickets:agent-ticket-list")
        return response if request.htmx else redirect("tickets:agent-ticket-list")
    ticket = result.ticket
    undo = _undo_for(request.user, ticket, result.undo_after) if result.undo_after is not None else None
    if not request.htmx:
        messages.success(request, gettext("Saved.") if result.changed else gettext("Nothing changed."))
        query = {"undo": result.undo_after} if result.undo_after is not None else {}
        return redirect(_page_url(ticket, **query))
    form = properties_form(user=request.user, ticket=ticket)
    # Named by the fields' labels (translated), not the code's names.
    form.saved_fields = [str(form.fields[f].label) for f in result.changed if f in form.fields]  # type: ignore[attr-defined]
    return _panel_response(request, ticket, form, undo=undo)


@require_POST
@staff_required
def agent_ticket_properties_undo(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Set back the actor's last save (operations.ticket_properties_undo)."""
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    raw = request.POST.get("after", "")
    form = properties_form(user=request.user, ticket=ticket)
    try:
        if not raw.isdigit():
            raise ApplicationError(gettext("Nothing to undo."), code="undo_unavailable")
        result = operations.ticket_properties_undo(ticket_id=ticket.pk, actor=request.user, after_event_id=int(raw))
    except operations.PropertiesRefused as exc:
        refused = {"after": raw, "possible": False, "reason": gettext("Undo refused: %s") % exc.message}
        return _panel_response(request, ticket, form, undo=refused, status=409)
    except ApplicationError as exc:
        # The form is unbound (nothing was posted to it): the reason is shown
        # where the undo button was.
        refused = {"after": raw, "possible": False, "reason": exc.message}
        return _panel_response(request, ticket, form, undo=refused, status=409)
    if not request.htmx:
        messages.success(request, gettext("Undone."))
        return redirect(_page_url(result.ticket))
    form = properties_form(user=request.user, ticket=result.ticket)
    form.undone = True  # type: ignore[attr-defined]
    return _panel_response(request, result.ticket, form)


@require_GET
@staff_required
def agent_ticket_timeline(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The timeline alone (the filter links swap it with htmx)."""
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    show = timeline_show(request)
    context = {"ticket": ticket, "timeline": timeline_for(user=request.user, ticket=ticket, show=show)}
    context["timeline_show"] = show
    context["is_closed"] = ticket.status == Ticket.Status.CLOSED
    return render(request, "tickets/agent/_timeline.html", context)


# --- operations --------------------------------------------------------------------


def _done(request: HttpRequest, ticket: Ticket, text: str) -> HttpResponse:
    messages.success(request, text)
    return redirect("tickets:agent-ticket-detail", ticket_id=ticket.pk)


def _op_error(request: HttpRequest, ticket: Ticket, **forms: Any) -> HttpResponse:
    from tickets.views.agent import _detail

    return _detail(request, ticket, status=400, **forms)


@require_POST
@staff_required
def agent_ticket_link(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    form = LinkForm(request.POST)
    if form.is_valid():
        try:
            other = operations.ticket_link_for_user(
                actor=request.user, ticket=ticket, other_id=form.cleaned_data["other"], field="other"
            )
        except policy.Refused as exc:
            form.add_error("other", exc.message)
        else:
            return _done(request, ticket, gettext("Linked to #%s.") % other.pk)
    return _op_error(request, ticket, link_form=form)


@require_POST
@staff_required
def agent_ticket_unlink(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    form = LinkForm(request.POST)
    if form.is_valid():
        try:
            operations.ticket_unlink_for_user(
                actor=request.user, ticket=ticket, other_id=form.cleaned_data["other"], field="other"
            )
        except policy.Refused as exc:
            form.add_error("other", exc.message)
        else:
            return _done(request, ticket, gettext("Unlinked #%s.") % form.cleaned_data["other"])
    return _op_error(request, ticket, link_form=form)


@require_POST
@staff_required
def agent_ticket_spam(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    operations.ticket_mark_spam_for_user(actor=request.user, ticket=ticket)
    return _done(request, ticket, gettext("Marked as spam: the ticket left every list and metric. Restore undoes it."))


@require_POST
@staff_required
def agent_ticket_delete(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    try:
        operations.ticket_delete_for_user(actor=request.user, ticket=ticket)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
    return _done(request, ticket, gettext("Deleted: the ticket is in the trash. Restore undoes it."))


@require_POST
@staff_required
def agent_ticket_restore(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    try:
        operations.ticket_restore_for_user(actor=request.user, ticket=ticket)
    except ApplicationError as exc:
        return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain")
    return _done(request, ticket, gettext("Restored."))


@require_POST
@staff_required
def agent_ticket_split(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Split one message off into a new ticket; opens the new ticket."""
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    form = SplitForm(request.POST)
    if not form.is_valid():
        return _op_error(request, ticket, split_error=gettext("Choose a message to split off."))
    try:
        new = operations.ticket_split(
            ticket_id=ticket.pk,
            message_id=form.cleaned_data["message"],
            actor=request.user,
            subject=form.cleaned_data["subject"],
        )
    except ApplicationError as exc:
        return _op_error(request, ticket, split_error=exc.message)
    messages.success(
        request,
        gettext("Split off from #%(old)s into this new ticket #%(new)s; both are linked.")
        % {"old": ticket.pk, "new": new.pk},
    )
    return redirect("tickets:agent-ticket-detail", ticket_id=new.pk)
