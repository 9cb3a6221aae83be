"""Template helpers: message bodies as sanitised HTML, events in plain words."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext

from helpdesk.lib.markdown import render_body_cached
from tickets.models import Ticket, TicketEvent
from tickets.workflow import customer_status_label

register = template.Library()
K = TicketEvent.Kind

STATUS_LABELS = dict(Ticket.Status.choices)
PRIORITY_LABELS = dict(Ticket.Priority.choices)


@register.filter
def message_html(message: Any) -> SafeString:
    """A message body rendered by its format and sanitised (nh3 allow-list);
    kept per process by content (helpdesk.lib.markdown.RenderedBodies)."""
    return render_body_cached(message.body, message.body_format)


def _actor(event: TicketEvent) -> str:
    if event.actor_id is None:
        return gettext("System")
    return event.actor.display_name if event.actor else gettext("Someone")


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


def _say(sentence: str, **values: Any) -> SafeString:
    """A translated sentence with named {placeholders}; every value escaped."""
    return format_html(sentence, **values)


def _say_created(s: _Say) -> SafeString:
    d = s.d
    if d.get("follow_up_of"):
        return _say(
            gettext("{who} created this request (follow-up to #{number}) via {channel}"),
            who=s.who,
            number=d["follow_up_of"],
            channel=d.get("channel", "?"),
        )
    return _say(gettext("{who} created this request via {channel}"), who=s.who, channel=d.get("channel", "?"))


def _say_status(s: _Say) -> SafeString:
    d = s.d
    note = d.get("note")
    values = {"who": s.who, "old": s.status(d.get("from")), "new": s.status(d.get("to"))}
    if note:
        return _say(gettext("{who} changed the status from {old} to {new} ({note})"), note=note, **values)
    return _say(gettext("{who} changed the status from {old} to {new}"), **values)


def _say_assignee(s: _Say) -> SafeString:
    d = s.d
    to = d.get("to")
    if to is None:
        return _say(gettext("{who} unassigned the ticket"), who=s.who)
    name = s.people.get(to) or d.get("to_email") or gettext("user %(id)s") % {"id": to}
    if d.get("reason"):
        return _say(gettext("{who} assigned the ticket to {name} ({reason})"), who=s.who, name=name, reason=d["reason"])
    return _say(gettext("{who} assigned the ticket to {name}"), who=s.who, name=name)


def _say_priority(s: _Say) -> SafeString:
    return _say(
        gettext("{who} changed the priority from {old} to {new}"),
        who=s.who,
        old=PRIORITY_LABELS.get(s.d.get("from"), s.d.get("from")),
        new=PRIORITY_LABELS.get(s.d.get("to"), s.d.get("to")),
    )


def _say_queue(s: _Say) -> SafeString:
    d = s.d
    src = s.queues.get(d.get("from")) or d.get("from_slug")
    dst = s.queues.get(d.get("to")) or d.get("to_slug")
    values = {"who": s.who, "old": src, "new": dst}
    if d.get("escalation"):
        if d.get("reason"):
            return _say(
                gettext("{who} escalated the ticket from {old} to {new}: {reason}"), reason=d["reason"], **values
            )
        return _say(gettext("{who} escalated the ticket from {old} to {new}"), **values)
    if d.get("reason"):
        return _say(gettext("{who} moved the ticket from {old} to {new}: {reason}"), reason=d["reason"], **values)
    return _say(gettext("{who} moved the ticket from {old} to {new}"), **values)


def _say_tags(s: _Say) -> SafeString:
    added, removed = ", ".join(s.d.get("add") or []), ", ".join(s.d.get("remove") or [])
    if added and removed:
        return _say(
            gettext("{who} added tags {added} and removed tags {removed}"), who=s.who, added=added, removed=removed
        )
    if added:
        return _say(gettext("{who} added tags {added}"), who=s.who, added=added)
    if removed:
        return _say(gettext("{who} removed tags {removed}"), who=s.who, removed=removed)
    return _say(gettext("{who} changed tags"), who=s.who)


def _say_rating(s: _Say) -> SafeString:
    return _say(
        gettext("The customer rated {value} ({survey})"), value=s.d.get("value"), survey=s.event.get_kind_display()
    )


def _say_time_entry(s: _Say) -> SafeString:
    minutes = round(int(s.d.get("seconds", 0)) / 60)
    text = ngettext("{who} logged {minutes} minute", "{who} logged {minutes} minutes", minutes)
    return _say(text, who=s.who, minutes=minutes)


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
    K.MERGED_INTO: lambda s: _say(
        gettext("{who} merged this ticket into #{number}"), who=s.who, number=s.d.get("target_id")
    ),
    K.MERGED_FROM: lambda s: _say(
        gettext("{who} merged #{number} into this ticket"), who=s.who, number=s.d.get("source_id")
    ),
    K.LINKED: lambda s: _say(gettext("{who} linked this ticket to #{number}"), who=s.who, number=s.d.get("other_id")),
    K.WORK_SESSION: lambda s: _say(gettext("{who} worked on the ticket"), who=s.who),
    K.TIME_ENTRY: _say_time_entry,
    K.SURVEY_OFFERED: lambda s: _say(gettext("A {survey} survey was sent"), survey=str(s.d.get("survey", "")).upper()),
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


@register.simple_tag(takes_context=True)
def agent_timeline(context: Any) -> SafeString:
    """The agent timeline (`tickets/agent/_timeline.html`), written in
    Python: tickets.views.timeline_html."""
    from tickets.views.timeline_html import agent_timeline_html  # it imports this module

    return agent_timeline_html(
        ticket=context["ticket"],
        timeline=context["timeline"],
        show=context.get("timeline_show", ""),
        is_closed=bool(context.get("is_closed")),
        oob=bool(context.get("oob")),
        csrf_token=context.get("csrf_token"),
    )


@register.simple_tag(takes_context=True)
def ticket_timeline(context: Any) -> SafeString:
    """The portal's timeline (`components/timeline.html`), written in
    Python: tickets.views.timeline_html."""
    from tickets.views.timeline_html import timeline_html  # it imports this module

    return timeline_html(
        ticket=context["ticket"], timeline=context["timeline"], customer_view=bool(context.get("customer_view"))
    )


@register.filter
def status_label(value: str) -> str:
    return _agent_status(value)


@register.filter
def customer_status(value: str) -> str:
    """The customer-facing label (tickets.workflow.customer_status_label)."""
    return customer_status_label(value)
