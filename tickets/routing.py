"""Routing rules and auto-assignment on ticket creation (docs/automation.md).

Called by services.ticket_create for interactive channels (never the
import), inside its transaction: every change goes through the ordinary
services, so each one is an event; each matching rule adds a
`routing.matched` event and each automatic assignment states its reason.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext

from accounts.models import User
from tickets.events import event_record
from tickets.models import Queue, QueueAssignState, RoutingRule, Ticket, TicketEvent

UNSOLVED = list(Ticket.UNSOLVED)


def _domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower() if "@" in email else ""


def routing_rule_explain(rule: RoutingRule, *, ticket: Ticket, body: str) -> list[tuple[str, bool]]:
    """Each non-empty condition of `rule` as (what it asks, holds?) for this
    ticket: the one definition used both to route and to explain a route."""
    checks: list[tuple[str, bool]] = []
    if rule.channels:
        text = gettext("channel is one of %(wanted)s (is %(actual)s)")
        checks.append(
            (text % {"wanted": ", ".join(rule.channels), "actual": ticket.channel}, ticket.channel in rule.channels)
        )
    if rule.requester_domains:
        wanted = {d.lower().lstrip("@") for d in rule.requester_domains}
        domain = _domain(ticket.requester.email)
        text = gettext("requester domain is one of %(wanted)s (is %(actual)s)")
        checks.append((text % {"wanted": ", ".join(sorted(wanted)), "actual": domain}, domain in wanted))
    if rule.keywords:
        haystack = f"{ticket.subject}\n{body}".lower()
        found = [k for k in rule.keywords if k.strip() and k.lower() in haystack]
        words = {"wanted": ", ".join(rule.keywords), "found": ", ".join(found)}
        if found:
            text = gettext("subject or text contains one of %(wanted)s (found %(found)s)")
        else:
            text = gettext("subject or text contains one of %(wanted)s (none found)")
        checks.append((text % words, bool(found)))
    if rule.request_type_id:
        text = gettext("request type is %s") % rule.request_type
        checks.append((text, ticket.request_type_id == rule.request_type_id))
    return checks


def routing_rule_matches(rule: RoutingRule, *, ticket: Ticket, body: str) -> bool:
    """Every non-empty condition holds; within one list any value matches."""
    return all(ok for _, ok in routing_rule_explain(rule, ticket=ticket, body=body))


# The active rules, read once for a whole routing_rules_held() block.
_held: ContextVar[list[RoutingRule] | None] = ContextVar("tickets_routing_rules_held", default=None)


def _rules_active() -> list[RoutingRule]:
    held = _held.get()
    if held is not None:
        return held
    return list(RoutingRule.objects.filter(is_active=True).select_related("set_queue").order_by("position", "id"))


@contextmanager
def routing_rules_held() -> Iterator[None]:
    """Route every ticket created in the block with the rules read once at
    its start (a bulk create, one transaction: the rules it sees are one
    snapshot either way)."""
    if _held.get() is not None:
        yield
        return
    token = _held.set(_rules_active())
    try:
        yield
    finally:
        _held.reset(token)


def ticket_route_on_create(*, ticket: Ticket, body: str) -> Ticket:
    """Apply matching routing rules in order, then the queue's auto-assignment.

    Routing is part of the creation: its events carry the ticket's creation
    instant, so a ticket created with an earlier `occurred_at` (the demo's
    live workload) reads in time order."""
    from tickets import services

    at = ticket.created_at
    for rule in _rules_active():
        if not routing_rule_matches(rule, ticket=ticket, body=body):
            continue
        applied: dict[str, Any] = {}
        if rule.set_queue is not None and rule.set_queue_id != ticket.queue_id:
            ticket = services.ticket_move_queue(
                ticket_id=ticket.pk,
                queue=rule.set_queue,
                actor=None,
                reason=f"routing rule: {rule.name}",
                occurred_at=at,
            )
            applied["queue"] = rule.set_queue.slug
        if rule.set_priority and rule.set_priority != ticket.priority:
            ticket = services.ticket_set_priority(
                ticket_id=ticket.pk, priority=rule.set_priority, actor=None, occurred_at=at
            )
            applied["priority"] = rule.set_priority
        if rule.add_tags:
            ticket = services.ticket_tag(ticket_id=ticket.pk, actor=None, add=list(rule.add_tags), occurred_at=at)
            applied["tags"] = sorted(t.lower() for t in rule.add_tags)
        event_record(
            ticket,
            TicketEvent.Kind.ROUTING,
            actor=None,
            occurred_at=at,
            data={"rule_id": rule.pk, "rule": rule.name, **applied},
        )
        if rule.stop_processing:
            break
    if ticket.assignee_id is None:
        ticket = ticket_auto_assign(ticket=ticket)
    return ticket


def _open_load(user_ids: list[int]) -> dict[int, int]:
    """Open (unsolved) tickets assigned to each user: one grouped query.

    An index-only scan of `ticket_open_assignee_load` (its predicate is this
    WHERE): COUNT(*), since counting `id` would need a column the index lacks.
    """
    rows = (
        Ticket.objects.filter(assignee_id__in=user_ids, status__in=UNSOLVED, is_spam=False, is_deleted=False)
        .values("assignee_id")
        .annotate(n=Count("*"))
    )
    loads = dict.fromkeys(user_ids, 0)
    loads.update({r["assignee_id"]: r["n"] for r in rows})
    return loads


def ticket_auto_assign(*, ticket: Ticket) -> Ticket:
    """Assign by the queue's mode (none, round_robin, least_loaded).

    Race-safe: the queue row is locked (FOR NO KEY UPDATE) until the
    creating transaction commits, so two tickets created at once in a queue
    are assigned one after the other and the second sees the first's load.
    Capacity (User.capacity, max open tickets; empty = unlimited) is
    respected in both modes; agents marked away are skipped; nobody available
    leaves the ticket unassigned.
    """
    from tickets import services

    mode = ticket.queue.auto_assign
    if mode == Queue.AutoAssign.NONE:
        return ticket
    queue = Queue.objects.select_for_update(no_key=True).get(pk=ticket.queue_id)
    members = list(
        User.objects.filter(queues=queue, is_active=True, is_away=False, role__in=User.STAFF_ROLES)
        .order_by("pk")
        .only("pk", "capacity", "email", "name", "role")  # role: the notification's staff check
    )
    if not members:
        return ticket
    loads = _open_load([m.pk for m in members])
    available = [m for m in members if m.capacity is None or loads[m.pk] < m.capacity]
    if not available:
        return ticket

    def cap(u: User) -> str:
        return f"{loads[u.pk]}/{u.capacity}" if u.capacity is not None else f"{loads[u.pk]}/unlimited"

    if mode == Queue.AutoAssign.LEAST_LOADED:
        chosen = min(available, key=lambda u: (loads[u.pk], u.pk))
        reason = f"least-loaded of {len(available)} available, {cap(chosen)} open"
    else:
        state, _ = QueueAssignState.objects.get_or_create(queue=queue)
        last = state.last_assignee_id or 0
        after = [u for u in available if u.pk > last]
        chosen = after[0] if after else available[0]
        state.last_assignee = chosen
        state.save(update_fields=["last_assignee"])
        reason = f"round-robin of {len(available)} available, {cap(chosen)} open"
    # At the ticket's creation instant, as the rest of routing; on the
    # instance in hand (created in this transaction: nothing to lock or read).
    return services.ticket_assign_new(ticket=ticket, assignee=chosen, reason=reason)
