"""Template helpers: message bodies as sanitised HTML, events in plain words."""

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Say:
    """What a sentence is written from: the event, its data, who did it, the labels."""

    event: TicketEvent
    d: dict[str, Any]
    who: str
    status: Callable[[Any], str]
    people: dict[int, str]
    queues: dict[int, str]


def _say_created(s: _Say) -> SafeString:
    d = s.d
    if d.get("follow_up_of"):
        return format_html(
            "{} created this request (follow-up to #{}) via {}", s.who, d["follow_up_of"], d.get("channel", "?")
        )
    return format_html("{} created this request via {}", s.who, d.get("channel", "?"))


def _say_status(s: _Say) -> SafeString:
    d = s.d
    note = d.get("note")
    if note:
        return format_html(
            "{} changed the status from {} to {} ({})", s.who, s.status(d.get("from")), s.status(d.get("to")), note
        )
    return format_html("{} changed the status from {} to {}", s.who, s.status(d.get("from")), s.status(d.get("to")))


def _say_assignee(s: _Say) -> SafeString:
    d = s.d
    to = d.get("to")
    if to is None:
        return format_html("{} unassigned the ticket", s.who)
    name = s.people.get(to) or d.get("to_email") or f"user {to}"
    if d.get("reason"):
        return format_html("{} assigned the ticket to {} ({})", s.who, name, d["reason"])
    return format_html("{} assigned the ticket to {}", s.who, name)


def _say_priority(s: _Say) -> SafeString:
    return format_html(
        "{} changed the priority from {} to {}",
        s.who,
        PRIORITY_LABELS.get(s.d.get("from"), s.d.get("from")),
        PRIORITY_LABELS.get(s.d.get("to"), s.d.get("to")),
    )


def _say_queue(s: _Say) -> SafeString:
    d = s.d
    src = s.queues.get(d.get("from")) or d.get("from_slug")
    dst = s.queues.get(d.get("to")) or d.get("to_slug")
    verb = "escalated" if d.get("escalation") else "moved"
    if d.get("reason"):
        return format_html("{} {} the ticket from {} to {}: {}", s.who, verb, src, dst, d["reason"])
    return format_html("{} {} the ticket from {} to {}", s.who, verb, src, dst)


def _say_tags(s: _Say) -> SafeString:
    parts = []
    if s.d.get("add"):
        parts.append("added tags " + ", ".join(s.d["add"]))
    if s.d.get("remove"):
        parts.append("removed tags " + ", ".join(s.d["remove"]))
    return format_html("{} {}", s.who, " and ".join(parts) or "changed tags")


def _say_rating(s: _Say) -> SafeString:
    return format_html("The customer rated {} ({})", s.d.get("value"), s.event.get_kind_display())


def _say_sla(s: _Say) -> SafeString:
    return format_html("{}: {}", s.event.get_kind_display(), s.d.get("metric", ""))


# A sentence per event kind; other kinds: "<who>: <kind>".
SENTENCES: dict[str, Callable[[_Say], SafeString]] = {
    K.CREATED: _say_created,
    K.STATUS: _say_status,
    K.ASSIGNEE: _say_assignee,
    K.PRIORITY: _say_priority,
    K.QUEUE: _say_queue,
    K.TAGS: _say_tags,
    K.MERGED_INTO: lambda s: format_html("{} merged this ticket into #{}", s.who, s.d.get("target_id")),
    K.MERGED_FROM: lambda s: format_html("{} merged #{} into this ticket", s.who, s.d.get("source_id")),
    K.LINKED: lambda s: format_html("{} linked this ticket to #{}", s.who, s.d.get("other_id")),
    K.WORK_SESSION: lambda s: format_html("{} worked on the ticket", s.who),
    K.TIME_ENTRY: lambda s: format_html("{} logged {} minutes", s.who, round(int(s.d.get("seconds", 0)) / 60)),
    K.SURVEY_OFFERED: lambda s: format_html("A {} survey was sent", str(s.d.get("survey", "")).upper()),
    K.CSAT: _say_rating,
    K.CES: _say_rating,
    K.NPS: _say_rating,
    K.SLA_WARNING: _say_sla,
    K.SLA_BREACHED: _say_sla,
}


@register.simple_tag
def event_sentence(event: TicketEvent, timeline: Any, customer: bool = False) -> SafeString:
    """One event as a sentence. Every value is escaped by format_html.

    `customer`: statuses in the customer's words (workflow labels)."""
    say = _Say(
        event=event,
        d=event.data or {},
        who=_actor(event),
        status=customer_status_label if customer else _agent_status,
        people=getattr(timeline, "people", {}),
        queues=getattr(timeline, "queues", {}),
    )
    sentence = SENTENCES.get(event.kind)
    if sentence is not None:
        return sentence(say)
    return format_html("{}: {}", say.who, event.get_kind_display())


@register.filter
def status_label(value: str) -> str:
    return _agent_status(value)


@register.filter
def customer_status(value: str) -> str:
    """The customer-facing label (tickets.workflow.customer_status_label)."""
    return customer_status_label(value)
