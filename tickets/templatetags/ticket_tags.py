"""Template helpers: message bodies as sanitised HTML, events in plain words."""

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from helpdesk.lib.markdown import render_body
from tickets.models import Ticket, TicketEvent
from tickets.workflow import customer_status_label

register = template.Library()
K = TicketEvent.Kind

STATUS_LABELS = dict(Ticket.Status.choices)
PRIORITY_LABELS = dict(Ticket.Priority.choices)


@register.filter
def message_html(message: Any) -> SafeString:
    """A message body rendered by its format and sanitised (nh3 allow-list)."""
    return render_body(message.body, message.body_format)


def _actor(event: TicketEvent) -> str:
    if event.actor_id is None:
        return "System"
    return event.actor.display_name if event.actor else "Someone"


def _agent_status(value: Any) -> str:
    return STATUS_LABELS.get(value, str(value or "?"))


@register.simple_tag
def event_sentence(event: TicketEvent, timeline: Any, customer: bool = False) -> SafeString:
    """One event as a sentence. Every value is escaped by format_html.

    `customer`: statuses in the customer's words (workflow labels)."""
    d: dict[str, Any] = event.data or {}
    _status = customer_status_label if customer else _agent_status
    who = _actor(event)
    people: dict[int, str] = getattr(timeline, "people", {})
    queues: dict[int, str] = getattr(timeline, "queues", {})
    kind = event.kind
    if kind == K.CREATED:
        if d.get("follow_up_of"):
            return format_html(
                "{} created this request (follow-up to #{}) via {}", who, d["follow_up_of"], d.get("channel", "?")
            )
        return format_html("{} created this request via {}", who, d.get("channel", "?"))
    if kind == K.STATUS:
        note = d.get("note")
        if note:
            return format_html(
                "{} changed the status from {} to {} ({})", who, _status(d.get("from")), _status(d.get("to")), note
            )
        return format_html("{} changed the status from {} to {}", who, _status(d.get("from")), _status(d.get("to")))
    if kind == K.ASSIGNEE:
        to = d.get("to")
        if to is None:
            return format_html("{} unassigned the ticket", who)
        name = people.get(to) or d.get("to_email") or f"user {to}"
        if d.get("reason"):
            return format_html("{} assigned the ticket to {} ({})", who, name, d["reason"])
        return format_html("{} assigned the ticket to {}", who, name)
    if kind == K.PRIORITY:
        return format_html(
            "{} changed the priority from {} to {}",
            who,
            PRIORITY_LABELS.get(d.get("from"), d.get("from")),
            PRIORITY_LABELS.get(d.get("to"), d.get("to")),
        )
    if kind == K.QUEUE:
        src = queues.get(d.get("from")) or d.get("from_slug")
        dst = queues.get(d.get("to")) or d.get("to_slug")
        verb = "escalated" if d.get("escalation") else "moved"
        if d.get("reason"):
            return format_html("{} {} the ticket from {} to {}: {}", who, verb, src, dst, d["reason"])
        return format_html("{} {} the ticket from {} to {}", who, verb, src, dst)
    if kind == K.TAGS:
        parts = []
        if d.get("add"):
            parts.append("added tags " + ", ".join(d["add"]))
        if d.get("remove"):
            parts.append("removed tags " + ", ".join(d["remove"]))
        return format_html("{} {}", who, " and ".join(parts) or "changed tags")
    if kind == K.MERGED_INTO:
        return format_html("{} merged this ticket into #{}", who, d.get("target_id"))
    if kind == K.MERGED_FROM:
        return format_html("{} merged #{} into this ticket", who, d.get("source_id"))
    if kind == K.LINKED:
        return format_html("{} linked this ticket to #{}", who, d.get("other_id"))
    if kind == K.WORK_SESSION:
        return format_html("{} worked on the ticket", who)
    if kind == K.TIME_ENTRY:
        return format_html("{} logged {} minutes", who, round(int(d.get("seconds", 0)) / 60))
    if kind == K.SURVEY_OFFERED:
        return format_html("A {} survey was sent", str(d.get("survey", "")).upper())
    if kind in (K.CSAT, K.CES, K.NPS):
        return format_html("The customer rated {} ({})", d.get("value"), event.get_kind_display())
    if kind in (K.SLA_WARNING, K.SLA_BREACHED):
        return format_html("{}: {}", event.get_kind_display(), d.get("metric", ""))
    return format_html("{}: {}", who, event.get_kind_display())


@register.filter
def status_label(value: str) -> str:
    return _agent_status(value)


@register.filter
def customer_status(value: str) -> str:
    """The customer-facing label (tickets.workflow.customer_status_label)."""
    return customer_status_label(value)
