"""Writes and reads of macros, routing rules and shared saved views.

Who may touch what (docs/automation.md):
- shared macros, routing rules, shared views: managers and admins;
- a personal macro: its owner only (anyone else gets a 404, managers too);
- customers: none of it (404, as every staff page).
Every write is recorded by django-auditlog (automation/apps.py).
"""

import html
from typing import Any

from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext

from accounts.models import User
from helpdesk.lib.exceptions import PermissionDenied
from helpdesk.lib.markdown import render_body
from tickets import selectors
from tickets.macros import macro_render
from tickets.models import Macro, Message, RoutingRule, SavedView, Ticket
from tickets.routing import routing_rule_explain

NOT_MANAGER = "Only managers and admins can change this."


def require_manager(user: Any) -> None:
    if not getattr(user, "is_manager_role", False):
        raise PermissionDenied(NOT_MANAGER)


# --- Macros -------------------------------------------------------------------


def macro_list_for_user(*, user: User) -> QuerySet[Macro]:
    """Shared macros and the user's own personal ones."""
    return Macro.objects.filter(Q(owner__isnull=True) | Q(owner=user)).select_related("queue", "owner")


def macro_get_for_edit(*, user: User, macro_id: int) -> Macro:
    """404 for a macro the user cannot see; 403 for a shared one they may
    see but not change (agents)."""
    macro = macro_list_for_user(user=user).filter(pk=macro_id).first()
    if macro is None:
        raise Http404("No such macro.")
    if macro.owner_id is None:
        require_manager(user)
    return macro


@transaction.atomic
def macro_save(*, actor: User, data: dict[str, Any], instance: Macro | None = None) -> Macro:
    """`data` is MacroForm.cleaned_data (already validated)."""
    macro = instance or Macro(created_by=actor)
    macro.name = data["name"]
    macro.body = data.get("body") or ""
    macro.visibility = data.get("visibility") or Message.Visibility.PUBLIC
    macro.queue = data.get("queue")
    macro.is_active = bool(data.get("is_active"))
    macro.actions = data["actions"]
    if data.get("personal"):
        # Only the owner reaches a personal macro (macro_get_for_edit), so
        # keeping the owner and taking the actor are the same here.
        macro.owner = macro.owner or actor
    else:
        require_manager(actor)
        macro.owner = None
    macro.full_clean(exclude=["created_by", "owner", "queue"])
    macro.save()
    return macro


def macro_preview(*, user: User, body: str, ticket_id: int) -> str:
    """The macro text for a ticket the user can see, rendered exactly as the
    ticket page shows the reply once posted. The ticket page inserts the
    rendered (HTML-escaped) text into the reply box, whose value the browser
    decodes: what is posted is the unescaped text, shown through the message
    renderer's sanitiser (render_body). The preview takes the same steps."""
    try:
        ticket = selectors.ticket_get_for_user(user=user, ticket_id=ticket_id)
    except Http404:
        raise Http404(gettext("No ticket #%(number)s you can see.") % {"number": ticket_id}) from None
    posted = html.unescape(macro_render(body=body, ticket=ticket, agent=user))
    return str(render_body(posted, Message._meta.get_field("body_format").default))


# --- Routing rules ------------------------------------------------------------


@transaction.atomic
def routing_rule_save(*, actor: User, data: dict[str, Any], instance: RoutingRule | None = None) -> RoutingRule:
    require_manager(actor)
    rule = instance or RoutingRule(position=_next_position(RoutingRule.objects.all()))
    rule.name = data["name"]
    rule.channels = list(data.get("channels") or [])
    rule.requester_domains = list(data.get("requester_domains") or [])
    rule.keywords = list(data.get("keywords") or [])
    rule.add_tags = list(data.get("add_tags") or [])
    rule.request_type = data.get("request_type")
    rule.set_queue = data.get("set_queue")
    rule.set_priority = data.get("set_priority") or ""
    rule.is_active = bool(data.get("is_active"))
    rule.stop_processing = bool(data.get("stop_processing"))
    rule.save()
    return rule


def _next_position(qs: QuerySet[Any]) -> int:
    return (qs.aggregate(m=Max("position"))["m"] or 0) + 1


@transaction.atomic
def position_move(*, actor: User, qs: QuerySet[Any], obj_id: int, direction: str) -> None:
    """Swap an object with its neighbour (up/down); positions are first
    renumbered 1..n so equal positions cannot make a move a no-op."""
    require_manager(actor)
    items = list(qs.select_for_update().order_by("position", "id"))
    index = next((i for i, o in enumerate(items) if o.pk == obj_id), None)
    if index is None:
        raise Http404("Not found.")
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(items):
        items[index], items[other] = items[other], items[index]
    for position, obj in enumerate(items, start=1):
        if obj.position != position:
            obj.position = position
            obj.save(update_fields=["position"])


def ticket_first_body(ticket: Ticket) -> str:
    """The text routing saw: the ticket's first message."""
    first = ticket.messages.order_by("created_at", "id").first()
    return first.body if first else ""


def routing_test(*, user: User, ticket_id: int) -> dict[str, Any]:
    """Which active rules would match ticket `ticket_id` now, in order, with
    each condition true/false, and which would apply (stop processing)."""
    require_manager(user)
    try:
        ticket = selectors.ticket_get_for_user(user=user, ticket_id=ticket_id)
    except Http404:
        raise Http404(f"No ticket #{ticket_id}.") from None
    body = ticket_first_body(ticket)
    rows, stopped = [], False
    for rule in RoutingRule.objects.filter(is_active=True).select_related("set_queue", "request_type"):
        checks = routing_rule_explain(rule, ticket=ticket, body=body)
        matches = all(ok for _, ok in checks)
        rows.append(
            {
                "rule": rule,
                "id": rule.pk,
                "name": rule.name,
                "conditions": [{"condition": c, "holds": ok} for c, ok in checks],
                "matches": matches,
                "applies": matches and not stopped,
            }
        )
        stopped = stopped or (matches and rule.stop_processing)
    return {"ticket": ticket, "rules": rows, "first_match": next((r["name"] for r in rows if r["applies"]), None)}


# --- Shared saved views --------------------------------------------------------


def shared_view_list() -> QuerySet[SavedView]:
    return SavedView.objects.filter(is_shared=True).select_related("owner").order_by("position", "name", "id")


def shared_view_get(*, user: User, view_id: int) -> SavedView:
    require_manager(user)
    view = shared_view_list().filter(pk=view_id).first()
    if view is None:
        raise Http404("No such shared view.")
    return view


@transaction.atomic
def shared_view_save(
    *, actor: User, name: str, is_active: bool, filters: dict[str, Any], sort: str, instance: SavedView | None = None
) -> SavedView:
    require_manager(actor)
    view = instance or SavedView(owner=actor, is_shared=True, position=_next_position(shared_view_list()))
    view.name, view.is_active, view.filters, view.sort = name, is_active, filters, sort
    view.save()
    return view
