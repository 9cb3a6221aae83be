"""Agent workspace: ticket list and ticket page (agents, managers, admins)."""

import functools
import json
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_POST

from helpdesk.lib import providers
from helpdesk.lib.db_router import replica_reads
from helpdesk.lib.exceptions import ApplicationError
from helpdesk.lib.redirects import safe_next_url
from tickets import live, macros, policy, search, selectors, services, workspace, workspace_services
from tickets.forms import (
    AgentReplyForm,
    AssignForm,
    BulkForm,
    LinkForm,
    PriorityForm,
    QueueMoveForm,
    SavedViewForm,
    TagsForm,
    TimeEntryForm,
    TransitionForm,
    WorkspaceFilterForm,
)
from tickets.models import Message, Ticket
from tickets.sla_dirty import sla_fresh
from tickets.views.common import staff_required
from tickets.views.fragments import form_field_fragments, form_fields_fragment
from tickets.views.list_rows import form_fragment_key, list_rows, rows_html, unbound_bulk_form
from tickets.workflow import InvalidTransition

PAGE_SIZE = 50


def _agents_for(qids: list[int]) -> Any:
    return selectors.agent_list_for_queues(qids)


def _list_params(request: HttpRequest, query: QueryDict) -> Any:
    """The list's parameters, with a saved view's stored filters applied
    when `saved` is given (explicit parameters win)."""
    params = query.copy()
    saved = None
    if params.get("saved", "").isdigit():
        saved = workspace.saved_view_get_for_user(user=request.user, view_id=int(params["saved"]))
        for key, value in (saved.filters or {}).items():
            if key not in params and value not in (None, "", []):
                params[key] = value
        params.setdefault("sort", saved.sort)
    return params, saved


@require_GET
@staff_required
@replica_reads
def agent_ticket_list(request: HttpRequest) -> HttpResponse:
    """The workspace list: a built-in view (or saved view), filters, sort,
    search, keyset pages; `?partial=results` (htmx) renders only the table.
    A search for a ticket number (`#510`, `510`) the agent may see opens
    that ticket; every search is kept in the recent searches."""
    query = (request.GET.get("q") or "").strip()[:200]
    if query and not request.htmx:
        workspace.recent_search_add(request.session, query)
        number = search.ticket_number(query)
        if number is not None and selectors.ticket_list_for_user(user=request.user).filter(pk=number).exists():
            return redirect("tickets:agent-ticket-detail", ticket_id=number)
    return _ticket_list_response(request, request.GET)


@require_GET
@staff_required
@replica_reads
def agent_match_count(request: HttpRequest) -> HttpResponse:
    """How many tickets the list (same parameters) holds: the number behind
    "all N matching" in the bulk bar, asked for only when needed. Counted up
    to what one bulk submit applies to, then "5,000+": an exact count of a
    common word read every hit (docs/workspace-list.md, "Search")."""
    state = _list_state(request, request.GET)
    qs = workspace.workspace_matching_qs(
        user=request.user,
        view=state["view"],
        filters=state["filters"],
        search=state["search"],
        queue_ids=state["qids"],
    )
    cap = workspace_services.BULK_MATCHING_MAX
    count = qs[: cap + 1].count()
    text = str(count) if count <= cap else number_format(cap, force_grouping=True) + "+"
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


def _list_state(request: HttpRequest, query: QueryDict) -> dict[str, Any]:
    """The list's parameters parsed the one way the page, the count and the
    bulk "all matching" share."""
    params, saved = _list_params(request, query)
    queues = selectors.queue_rows_for_user(user=request.user)
    qids = [q.pk for q in queues]
    agents = _agents_for(qids)
    form = WorkspaceFilterForm(params, queues=queues, agents=agents)
    values = form.values()
    return {
        "params": params,
        "saved": saved,
        "queues": queues,
        "qids": qids,
        "agents": agents,
        "form": form,
        "view": values.get("view") or ("all" if saved or len(params) else "mine"),
        "sort": values.get("sort") or workspace.DEFAULT_SORT,
        "filters": {k: values.get(k) for k in WorkspaceFilterForm.FILTER_FIELDS},
        "search": values.get("q") or "",
    }


def _page_links(params: QueryDict, next_cursor: str | None) -> tuple[QueryDict, str | None, str | None]:
    """The list's parameters without its cursor, and the next and first pages' links."""
    nav = params.copy()
    nav.pop("cursor", None)
    next_url = None
    if next_cursor:
        nav_next = nav.copy()
        nav_next["cursor"] = next_cursor
        next_url = "?" + nav_next.urlencode()
    first_url = "?" + nav.urlencode() if params.get("cursor") else None
    return nav, next_url, first_url


def _ticket_list_response(
    request: HttpRequest,
    query: QueryDict,
    *,
    bulk_form: BulkForm | None = None,
    bulk_next: str | None = None,
    bulk_outcome: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The list for `query`; a bound `bulk_form` shows its errors in the
    bulk bar (the list the agent came from, with their selection kept), a
    `bulk_outcome` the per-ticket results of the action just done."""
    state = _list_state(request, query)
    params, saved, queues, view, sort = (state[k] for k in ("params", "saved", "queues", "view", "sort"))
    filters = state["filters"]
    page = workspace.workspace_ticket_page(
        user=request.user,
        view=view,
        filters=filters,
        search=state["search"],
        sort=sort,
        cursor=params.get("cursor"),
        limit=PAGE_SIZE,
        queue_ids=state["qids"],
        fetch=workspace.fetch_list_rows,
    )
    nav, next_url, first_url = _page_links(params, page.next_cursor)
    filters_for_save = {k: params.get(k) for k in ("q", "view", *WorkspaceFilterForm.FILTER_FIELDS) if params.get(k)}
    results_by_id = {r.ticket_id: r for r in (bulk_outcome or {}).get("results", [])}
    selected_ids = set(bulk_form.selected_ids()) if bulk_form is not None else set()
    terms = search.search_terms(state["search"])
    bulk_bound = bulk_form is not None and bulk_form.is_bound
    if bulk_form is None:
        # Built only if its fields' fragment is not kept (list_rows.unbound_bulk_form):
        # the page itself shows just its hidden `query`, written here.
        bulk_form, bulk_query = unbound_bulk_form(agents=state["agents"], queues=queues, query=nav.urlencode())
    else:
        bulk_query = bulk_form["query"]
    rows = list_rows(page.items, terms=terms, selected_ids=selected_ids, results_by_id=results_by_id)
    context = {
        "form": state["form"],
        "page": page,
        "rows": rows,
        "rows_html": rows_html(rows),
        "view": view,
        "view_label": workspace.VIEW_LABELS.get(view) or _queue_label(view, queues),
        "sort": sort,
        "next_url": next_url,
        "first_url": first_url,
        "counts": workspace.workspace_counts(user=request.user, queues=queues),
        "view_labels": workspace.VIEW_LABELS,
        "saved_views": workspace.saved_view_rows_for_user(user=request.user),
        "saved": saved,
        "save_form": SavedViewForm(),
        "filters_json": json.dumps(filters_for_save),
        "bulk_form": bulk_form,
        # Rendered form fields cached by their inputs (list_rows.form_fragment_key);
        # a bound bulk form (errors, kept selection) is rendered every time.
        "filter_fields_key": form_fragment_key(form=state["form"], queues=queues, agents=state["agents"]),
        "bulk_fields_key": form_fragment_key(
            form=bulk_form if bulk_bound else BulkForm, queues=queues, agents=state["agents"]
        ),
        "bulk_fields_timeout": 0 if bulk_bound else 600,
        "bulk_bound": bulk_bound,
        "bulk_query": bulk_query,
        "bulk_next": bulk_next,
        "bulk_outcome": bulk_outcome,
        "selected_ids": selected_ids,
        "query_string": nav.urlencode(),
        "terms": terms,
        "recent_searches": workspace.recent_search_list(request.session),
        "htmx_available": htmx_available(),
    }
    template = "tickets/agent/ticket_list.html"
    if request.htmx and params.get("partial") == "results":
        template += "#results"
    return render(request, template, context, status=status)


def _queue_label(view: str, queues: Any) -> str:
    if view.startswith("queue:"):
        for q in queues:
            if f"queue:{q.pk}" == view:
                return f"{q.name} ({q.get_kind_display()})"
    return gettext("Tickets")


@require_GET
@staff_required
def agent_counts(request: HttpRequest) -> HttpResponse:
    """The live counts (polled by htmx every 30 s): one grouped query."""
    context = {
        "counts": workspace.workspace_counts(user=request.user),
        "view_labels": workspace.VIEW_LABELS,
        "view": request.GET.get("view", ""),
        "saved_views": workspace.saved_view_rows_for_user(user=request.user),
    }
    return render(request, "tickets/agent/ticket_list.html#counts", context)


@require_POST
@staff_required
def agent_saved_view_create(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    raw = request.POST.get("filters", "")
    try:
        filters = json.loads(raw) if raw else {}
        if not isinstance(filters, dict):
            raise ValueError
    except ValueError:
        filters = {}
    filters = {str(k)[:32]: str(v)[:200] for k, v in filters.items() if k in SAVEABLE}
    sort = request.POST.get("sort") if request.POST.get("sort") in workspace.SORTS else workspace.DEFAULT_SORT
    if form.is_valid():
        try:
            view = workspace_services.saved_view_create(
                owner=request.user,
                name=form.cleaned_data["name"],
                filters=filters,
                sort=sort,
                is_shared=form.cleaned_data["is_shared"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("View “%s” saved.") % view.name)
            return redirect(f"{reverse('tickets:agent-ticket-list')}?saved={view.pk}")
    else:
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    return redirect("tickets:agent-ticket-list")


SAVEABLE = ("q", "view", *WorkspaceFilterForm.FILTER_FIELDS)


@require_POST
@staff_required
def agent_saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    try:
        workspace_services.saved_view_delete(user=request.user, view_id=view_id)
    except ApplicationError:
        raise Http404(gettext("No such view.")) from None
    messages.success(request, gettext("View deleted."))
    return redirect("tickets:agent-ticket-list")


@require_POST
@staff_required
def agent_bulk(request: HttpRequest) -> HttpResponse:
    """Bulk actions on the selected tickets or on every ticket matching the
    list (`scope=matching`); merge first shows a confirmation page. Each
    ticket is done on its own, checked against the access rule, and the
    list comes back with each ticket's result inline. Bad input (a missing
    value, a merge target you cannot see) goes back to the list with the
    error next to the field (400)."""
    list_url = reverse("tickets:agent-ticket-list")
    back = safe_next_url(request, request.POST.get("next"), list_url) or list_url
    queues = list(selectors.queue_list_for_user(user=request.user))
    form = BulkForm(request.POST, agents=_agents_for([q.pk for q in queues]), queues=queues)
    if form.is_valid() and form.cleaned_data["action"] == "merge":
        try:
            target = policy.merge_target_get(
                actor=request.user, target_id=form.cleaned_data["merge_target"], field="merge_target"
            )
        except policy.Refused as exc:
            form.add_error(exc.field, exc.message)
    if not form.is_valid():
        return _bulk_list(request, back, bulk_form=form, status=400)
    ids = form.cleaned_data["ids"]
    action = form.cleaned_data["action"]
    if action == "merge" and not form.cleaned_data["confirm"]:
        tickets = list(selectors.ticket_list_for_user(user=request.user).filter(pk__in=ids).order_by("pk"))
        return render(
            request,
            "tickets/agent/bulk_merge_confirm.html",
            {"form": form, "tickets": tickets, "target": target, "target_id": target.pk, "back": back},
        )
    truncated = False
    try:
        if form.cleaned_data["scope"] == "matching":
            state = _list_state(request, QueryDict(form.cleaned_data["query"]))
            matching = workspace.workspace_matching_qs(
                user=request.user,
                view=state["view"],
                filters=state["filters"],
                search=state["search"],
                queue_ids=state["qids"],
            )
            results, truncated = workspace_services.tickets_bulk_apply_matching(
                user=request.user, tickets=matching, action=action, value=form.value_for(request.user)
            )
        else:
            results = workspace_services.tickets_bulk_apply(
                user=request.user, ticket_ids=ids, action=action, value=form.value_for(request.user)
            )
    except policy.Refused as exc:
        form.add_error(exc.field, exc.message)
        return _bulk_list(request, back, bulk_form=form, status=400)
    visible = selectors.ticket_list_for_user(user=request.user).filter(pk__in=[r.ticket_id for r in results])
    subjects = dict(visible.values_list("pk", "subject"))
    outcome = {
        "results": results,
        "ok": sum(r.ok for r in results),
        "failed": [r for r in results if not r.ok],
        "truncated": truncated,
        "limit": workspace_services.BULK_MATCHING_MAX,
        "subjects": subjects,
    }
    return _bulk_list(request, back, bulk_outcome=outcome)


def _bulk_list(request: HttpRequest, back: str, *, status: int = 200, **kwargs: Any) -> HttpResponse:
    """The list the agent came from (`back`), with the bulk bar's errors
    or the action's results (400 on errors so scripts see the refusal)."""
    parts = urlsplit(back)
    query = QueryDict(parts.query) if parts.path == reverse("tickets:agent-ticket-list") else QueryDict()
    return _ticket_list_response(request, query, bulk_next=back, status=status, **kwargs)


def _focus_first_error(forms: dict[str, Any]) -> None:
    """A refused post renders the page again, which opens at the top; the
    form in error may sit far below (the "Linked tickets" card: 1,500 px at
    1280x800, 3,300 px on a phone). `autofocus` on its first field in error
    brings the field and its error into view, without script (CSP)."""
    for form in forms.values():
        if not isinstance(form, BaseForm) or not form.is_bound or not form.errors:
            continue
        for name in form.errors:
            field = form.fields.get(name)
            if field is not None and not field.widget.is_hidden:
                field.widget.attrs["autofocus"] = True
                return


def _detail(request: HttpRequest, ticket: Ticket, *, status: int = 200, **forms: Any) -> HttpResponse:
    """The ticket page, with any bound (erroring) form passed in `forms`."""
    user = request.user
    _focus_first_error(forms)
    macro_list = list(macros.macro_list_for_ticket(ticket=ticket, agent=user))
    reply_form = forms.get("reply_form")
    macro_id = request.GET.get("macro", "")
    if reply_form is None:
        initial: dict[str, Any] = {}
        chosen = next((m for m in macro_list if str(m.pk) == macro_id), None)
        if chosen is not None:
            try:
                initial = {
                    "body": macros.macro_render(
                        body=chosen.body, ticket=ticket, agent=user, visibility=chosen.visibility
                    ),
                    "macro": chosen.pk,
                    "visibility": chosen.visibility,
                }
            except ApplicationError as exc:
                messages.error(request, exc.message)
        reply_form = AgentReplyForm(initial=initial)
    chosen_macro = next((m for m in macro_list if str(m.pk) == str(reply_form["macro"].value() or "")), None)
    sla_fresh([ticket])  # due instants computed on read while a refresh is pending (tickets/sla_dirty.py)
    page = ticket_page_context(request, ticket, forms)
    context = {
        "ticket": ticket,
        **page,
        "tags": list(ticket.tags.all()),
        "other_tickets": list(selectors.ticket_requester_other_tickets(user=user, ticket=ticket)),
        "reply_form": reply_form,
        "chosen_macro": chosen_macro,
        "macros": macro_list,
        "legacy": _legacy_form(ticket, forms),
        # The refused single-field form, also by its old name (scripts, tests).
        **{key: forms[key] for key in LEGACY_FORMS if forms.get(key) is not None},
        "time_form": forms.get("time_form") or TimeEntryForm(),
        "is_closed": ticket.status == Ticket.Status.CLOSED,
        "others": workspace_services.presence_others(ticket_id=ticket.pk, user=user),
        "kb_enabled": _kb_available(),
        "heartbeat_seconds": workspace_services.HEARTBEAT_SECONDS,
        "htmx_available": htmx_available(),
        # The newest event, read with the timeline (one statement): what the
        # page shows is exactly what counts as seen by the collision check.
        "live_last_event": page["timeline"].last_event_id,
        "collision": forms.get("collision") or [],
    }
    # Rendered fields cached by their inputs (tickets/views/fragments.py).
    context["reply_fields"] = form_fields_fragment(reply_form)
    context["time_fields"] = form_fields_fragment(context["time_form"])
    context["link_fields"] = form_fields_fragment(context["link_form"])
    context["props_fields"] = form_field_fragments(context["props_form"])
    return render(request, "tickets/agent/ticket_detail.html", context, status=status)


LEGACY_FORMS = {
    "transition_form": "tickets:agent-ticket-transition",
    "assign_form": "tickets:agent-ticket-assign",
    "priority_form": "tickets:agent-ticket-priority",
    "queue_form": "tickets:agent-ticket-queue",
    "tags_form": "tickets:agent-ticket-tags",
}


def _legacy_form(ticket: Ticket, forms: dict[str, Any]) -> dict[str, Any] | None:
    """A refused post to one of the single-field endpoints (kept for
    scripts, shortcuts and old links): shown with its error, since the
    page now edits properties in one panel."""
    for key, url_name in LEGACY_FORMS.items():
        if forms.get(key) is not None:
            return {"form": forms[key], "action": reverse(url_name, args=[ticket.pk])}
    return None


def ticket_page_context(request: HttpRequest, ticket: Ticket, forms: dict[str, Any]) -> dict[str, Any]:
    """The parts of the ticket page issue #14 added: the timeline with its
    filter, the properties panel (and undo), linked tickets, operations."""
    from django.db.models import prefetch_related_objects

    from tickets import operations
    from tickets.views import agent_ticket

    user = request.user
    # The page lists the tags and the panel edits them: one query for both.
    prefetch_related_objects([ticket], "tags")
    show = agent_ticket.timeline_show(request)
    return {
        "timeline": agent_ticket.timeline_for(user=user, ticket=ticket, show=show),
        "timeline_show": show,
        "props_form": forms.get("props_form") or agent_ticket.properties_form(user=user, ticket=ticket),
        "undo": forms.get("undo") or agent_ticket.undo_offer(request, ticket),
        "related": operations.related_list_for_user(actor=user, ticket=ticket),
        "link_form": forms.get("link_form") or LinkForm(),
        "split_error": forms.get("split_error"),
        "send_as": [(s, Ticket.Status(s).label) for s in operations.SEND_AS if s != ticket.status],
        "may_delete": getattr(user, "is_manager_role", False),
    }


@functools.cache
def htmx_available() -> bool:
    """htmx is served from node_modules (npm install at set-up); without it
    the pages work as plain forms."""
    from django.contrib.staticfiles import finders

    return bool(finders.find("vendor/htmx/htmx.min.js"))


def _kb_available() -> bool:
    return providers.provider(providers.ARTICLE_SUGGEST) is not None


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
        collision = _reply_collision(request, ticket, form)
        if collision:
            # Nothing is posted: the page shows the new reply and the warning
            # with "Send anyway"; the agent's text stays in the form.
            return _detail(request, ticket, reply_form=form, collision=collision, status=409)
        from tickets import operations

        status = form.cleaned_data.get("send_as") or None
        try:
            macro = None
            macro_id = form.cleaned_data.get("macro")
            if macro_id:
                macro = get_object_or_404(macros.macro_list_for_ticket(ticket=ticket, agent=request.user), pk=macro_id)
            operations.reply_post_and_set_status(
                ticket_id=ticket.pk,
                author=request.user,
                body=form.cleaned_data["body"],
                visibility=form.cleaned_data["visibility"],
                attachments=form.cleaned_data["attachments"],
                status=status,
                channel="web",
                macro=macro,
            )
        except ApplicationError as exc:
            form.add_error("body", exc.message)
        else:
            internal = form.cleaned_data["visibility"] == Message.Visibility.INTERNAL
            done = gettext("Internal note added.") if internal else gettext("Reply sent.")
            if status:
                done += " " + gettext("Status: %s.") % Ticket.Status(status).label
            messages.success(request, done)
            return _back(ticket)
    return _detail(request, ticket, reply_form=form)


def _reply_collision(request: HttpRequest, ticket: Ticket, form: AgentReplyForm) -> list[str]:
    """Zendesk's collision check: who else posted a public message after
    the last event the agent's page showed (`seen_event`). Only public
    replies are checked; "Send anyway" (`collision_confirm`) skips it."""
    seen = _bounded_int(request.POST.get("seen_event", ""))
    if seen is None or request.POST.get("collision_confirm") == "1":
        return []
    if form.cleaned_data["visibility"] != Message.Visibility.PUBLIC:
        return []
    return live.public_replies_since(ticket=ticket, after=seen, user=request.user)


def _bounded_int(value: str) -> int | None:
    """A non-negative bigint from a query parameter, else None."""
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


@require_GET
@staff_required
def agent_ticket_live(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Polled by the ticket page about once a second (static/js/live.js):
    events after `since`, who else is here. Staff only, and only for a
    ticket the agent may see (404 otherwise). JSON, not HTML: the page
    refetches itself when something changed (docs/live-updates.md)."""
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    state = live.ticket_live_state(
        ticket=ticket,
        since=_bounded_int(request.GET.get("since", "")) or 0,
        seen_version=_bounded_int(request.GET.get("v", "")),
        force_db=request.GET.get("full") == "1",
    )
    others = workspace_services.presence_others(ticket_id=ticket.pk, user=request.user)
    timeline_html = head_html = None
    if any(e["actor_id"] != request.user.pk for e in state.events):
        # The timeline and the head (status, priority) come with the answer
        # (one round trip less on the page's critical path); the properties
        # card follows by refetch.
        from tickets.views.agent_ticket import timeline_for  # the page's own (folded) timeline

        context = {
            "ticket": ticket,
            "timeline": timeline_for(user=request.user, ticket=ticket, show="all"),
            "timeline_show": "all",
            "is_closed": ticket.status == Ticket.Status.CLOSED,
        }
        timeline_html = render_to_string("tickets/agent/_timeline.html", context, request=request)
        head_html = render_to_string("tickets/agent/_head.html", context, request=request)
    response = JsonResponse(
        {
            "v": state.version,
            "last": state.last,
            "changed": state.changed,
            "events": state.events,
            "others": others,
            "timeline_html": timeline_html,
            "head_html": head_html,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


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
            messages.success(request, gettext("Status set to %s.") % ticket.get_status_display())
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
    form = AssignForm(data, members=policy.assignee_choices(actor=request.user, ticket=ticket))
    if form.is_valid():
        try:
            ticket = services.ticket_assign(
                ticket_id=ticket.pk, assignee=form.cleaned_data["assignee"], actor=request.user
            )
        except ApplicationError as exc:
            form.add_error("assignee", exc.message)
        else:
            who = ticket.assignee.display_name if ticket.assignee else "nobody"
            messages.success(request, gettext("Assigned to %s.") % who)
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
            messages.success(request, gettext("Priority set to %s.") % ticket.get_priority_display())
            return _back(ticket)
    return _detail(request, ticket, priority_form=form)


@require_POST
@staff_required
def agent_ticket_queue(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Move to another queue; between support and service this is an
    escalation and needs a reason (shown next to the field if missing)."""
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    form = QueueMoveForm(request.POST, queues=policy.queue_choices(actor=request.user, ticket=ticket))
    if form.is_valid():
        queue, reason = form.cleaned_data["queue"], form.cleaned_data["reason"]
        try:
            if queue.kind != ticket.kind:
                ticket = services.ticket_escalate(ticket_id=ticket.pk, queue=queue, actor=request.user, reason=reason)
            else:
                ticket = services.ticket_move_queue(ticket_id=ticket.pk, queue=queue, actor=request.user, reason=reason)
        except ApplicationError as exc:
            form.add_error("reason" if exc.code == "reason_required" else "queue", exc.message)
        else:
            messages.success(request, gettext("Moved to %s.") % queue.name)
            if selectors.ticket_list_for_user(user=request.user).filter(pk=ticket.pk).exists():
                return _back(ticket)
            return redirect("tickets:agent-ticket-list")
    return _detail(request, ticket, queue_form=form)


@require_POST
@staff_required
def agent_ticket_tags(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    form = TagsForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_tag(
                ticket_id=ticket.pk,
                actor=request.user,
                add=form.cleaned_data["add_list"],
                remove=form.cleaned_data["remove_list"],
            )
        except ApplicationError as exc:
            form.add_error("add", exc.message)
        else:
            messages.success(request, gettext("Tags updated."))
            return _back(ticket)
    return _detail(request, ticket, tags_form=form)


@require_POST
@staff_required
def agent_ticket_time(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Manual time entry (time_entry.logged)."""
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    form = TimeEntryForm(request.POST)
    if form.is_valid():
        try:
            services.time_entry_log(
                ticket_id=ticket.pk,
                agent=request.user,
                seconds=form.cleaned_data["minutes"] * 60,
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            form.add_error("minutes", exc.message)
        else:
            minutes = form.cleaned_data["minutes"]
            messages.success(request, ngettext("Logged %d minute.", "Logged %d minutes.", minutes) % minutes)
            return _back(ticket)
    return _detail(request, ticket, time_form=form)


@require_POST
@staff_required
def agent_ticket_heartbeat(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """From the ticket page's JS every 30 s (and a final beacon on leave):
    presence for the collision notice, and the handle-time session. Answers
    the collision notice as HTML (htmx swaps it in)."""
    ticket = selectors.ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    active = request.POST.get("active") == "1"
    final = request.POST.get("final") == "1"
    typing = request.POST.get("typing") == "1"
    workspace_services.work_heartbeat(ticket_id=ticket.pk, user=request.user, active=active, final=final)
    if final:
        workspace_services.presence_leave(ticket_id=ticket.pk, user=request.user)
        return HttpResponse(status=204)
    workspace_services.presence_touch(ticket_id=ticket.pk, user=request.user, typing=typing)
    others = workspace_services.presence_others(ticket_id=ticket.pk, user=request.user)
    return render(request, "tickets/agent/ticket_detail.html#collision", {"others": others, "ticket": ticket})


@require_GET
@staff_required
def agent_kb_suggest(request: HttpRequest) -> HttpResponse:
    """KB articles to link in a reply (htmx partial)."""
    articles: list[Any] = []
    query = request.GET.get("kb", "")
    suggest = providers.provider(providers.ARTICLE_SUGGEST)
    if suggest is not None:
        articles = suggest(user=request.user, query=query, limit=8)
    return render(request, "tickets/agent/kb_links.html", {"articles": articles, "query": query})
