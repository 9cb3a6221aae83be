"""The agent ticket page's timeline written in Python: the markup that
`tickets/agent/_timeline.html` and `components/message.html` rendered,
byte for byte, with the labels translated and the URLs reversed once per
timeline instead of once per line.

The two templates cost ~40 template nodes a line (an include, the badge
chain, two `date` filters, a `{% url %}` per attachment, the split form)
and were about a third of the page's render (docs/workspace-ticket-page.md,
"Sixth round"). Every value goes through `conditional_escape`, as the
template's autoescape did; event sentences and message bodies are already
safe (`event_sentence`, `render_body_cached`). The portal's timeline
(`components/timeline.html`) is written the same way; the old templates
are kept as references by tests/workspace/test_ticket_page_reads.py,
which compares the markup on random timelines.
"""

from typing import Any

from django.conf import settings
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from helpdesk.lib.markdown import render_body_cached
from tickets.templatetags.ticket_tags import event_sentence

ID_PLACEHOLDER = 2147483647  # reversed once, then replaced by each id

e = conditional_escape


def _at(value: Any, shown: str) -> tuple[str, str]:
    """`date:'c'` and `date:<shown>` of an instant in the current zone
    (the template's `template_localtime`), escaped as the template printed
    them."""
    local = timezone.localtime(value) if settings.USE_TZ and timezone.is_aware(value) else value
    return e(date_filter(local, "c")), e(date_filter(local, shown))


class _Labels:
    """The timeline's fixed texts in the current language, made once."""

    def __init__(self) -> None:
        self.system = e(gettext("System"))
        self.badges = {
            "internal": '<span class="badge badge-internal">' + e(gettext("Internal note")) + "</span>",
            "request": '<span class="badge">' + e(gettext("Request")) + "</span>",
            "agent": '<span class="badge">' + e(gettext("Agent reply")) + "</span>",
            "customer": '<span class="badge">' + e(gettext("Customer reply")) + "</span>",
            "other": '<span class="badge">' + e(gettext("System reply")) + "</span>",
        }
        self.merged = gettext("from merged #%(number)s")


def _badge(message: Any, labels: _Labels) -> str:
    if message.visibility == "internal":
        return labels.badges["internal"]
    if message.is_description:
        return labels.badges["request"]
    if message.author_role in ("agent", "customer"):
        return labels.badges[message.author_role]
    return labels.badges["other"]


def message_html(message: Any, *, ticket_id: int, labels: _Labels, download_url: str) -> str:
    """`components/message.html` for one message (attachments prefetched)."""
    css = "msg-internal" if message.visibility == "internal" else "msg-" + e(message.author_role)
    author = e(message.author.display_name) if message.author else labels.system
    merged = ""
    if message.ticket_id != ticket_id:
        merged = '<span class="badge">' + labels.merged % {"number": message.ticket_id} + "</span>"
    iso, short = _at(message.created_at, "SHORT_DATETIME_FORMAT")
    parts = [
        f'\n<article class="msg {css}" id="message-{message.pk}">\n  <header class="msg-head">\n'
        f"    <strong>{author}</strong>\n    {_badge(message, labels)}\n    {merged}\n"
        f'    <time datetime="{iso}">{short}</time>\n  </header>\n'
        f'  <div class="msg-body">{render_body_cached(message.body, message.body_format)}</div>\n  '
    ]
    attachments = list(message.attachments.all())
    if attachments:
        parts.append('\n    <ul class="attachments">\n      ')
        placeholder = str(ID_PLACEHOLDER)
        for a in attachments:
            url = e(download_url.replace(placeholder, str(a.pk)))
            parts.append(
                f'<li><a href="{url}">{e(a.filename)}</a> <span class="muted">({e(filesizeformat(a.size))})</span></li>'
            )
        parts.append("\n    </ul>\n  ")
    parts.append("\n</article>\n")
    return "".join(parts)


def _visit_text(visit: Any) -> str:
    minutes = str(visit.minutes)
    if visit.agent:
        text = gettext("%(name)s worked on the ticket for %(minutes)s min") % {
            "name": e(visit.agent.display_name),
            "minutes": minutes,
        }
    else:
        text = gettext("Someone worked on the ticket for %(minutes)s min") % {"minutes": minutes}
    if visit.sessions > 1:
        text += " " + gettext("(%(sessions)s sessions)") % {"sessions": str(visit.sessions)}
    return text


def _split_form(message: Any, *, csrf: str, split: dict[str, str]) -> str:
    pk = message.pk
    return (
        '\n          <details class="split-message">\n'
        f"            <summary>{split['summary']}</summary>\n"
        f'            <form method="post" action="{split["url"]}" class="split-form">\n'
        f'              {csrf}<input type="hidden" name="message" value="{pk}">\n'
        f'              <label for="split-subject-{pk}">{split["label"]}</label>\n'
        f'              <input type="text" name="subject" id="split-subject-{pk}" maxlength="500"'
        f' placeholder="{split["placeholder"]}">\n'
        f'              <button type="submit">{split["button"]}</button>\n'
        "            </form>\n          </details>\n          "
    )


def _csrf_input(token: Any) -> str:
    """`{% csrf_token %}` (django.template.defaulttags.CsrfTokenNode)."""
    if not token or token == "NOTPROVIDED":  # noqa: S105 (Django's marker, not a secret)
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{e(str(token))}">'


def _entry_html(entry: Any, *, ticket: Any, timeline: Any, is_closed: bool, parts: dict[str, Any]) -> str:
    if entry.message:
        message = entry.message
        html = "\n          " + message_html(
            message, ticket_id=ticket.pk, labels=parts["labels"], download_url=parts["download_url"]
        )
        html += "\n          "
        if message.ticket_id == ticket.pk and not message.is_description and not is_closed:
            html += _split_form(message, csrf=parts["csrf"], split=parts["split"])
        return html + "\n        "
    iso, at = _at(entry.at, "M j, Y H:i")
    if entry.visit:
        text = _visit_text(entry.visit)
        css = "event event-visit"
    else:
        text = event_sentence(entry.event, timeline)
        css = "event"
    return (
        f'\n          <div class="{css}"><span class="event-text">{text}</span>\n'
        f'            <time datetime="{iso}">{at}</time></div>\n        '
    )


def agent_timeline_html(
    *, ticket: Any, timeline: Any, show: str, is_closed: bool, oob: bool, csrf_token: Any
) -> SafeString:
    """What `tickets/agent/_timeline.html` printed for these values (its
    final newline is the template's own)."""
    pk = ticket.pk
    placeholder = reverse("tickets:agent-ticket-timeline", args=[pk])
    subject_pk = {"pk": pk, "subject": e(ticket.subject)}
    parts = {
        "labels": _Labels(),
        "download_url": reverse("tickets:attachment-download", args=[ID_PLACEHOLDER]),
        "csrf": _csrf_input(csrf_token),
        "split": {
            "url": e(reverse("tickets:agent-ticket-split", args=[pk])),
            "summary": e(gettext("Split into a new ticket")),
            "label": e(gettext("Subject of the new ticket")),
            "placeholder": gettext("Split from #%(pk)s: %(subject)s") % subject_pk,
            "button": e(gettext("Split off")),
        },
    }
    timeline_url = e(placeholder)
    hidden = ""
    if timeline.hidden_events:
        n = timeline.hidden_events
        hidden = (
            '<span class="muted">'
            + ngettext("%(counter)s event hidden", "%(counter)s events hidden", n) % {"counter": str(n)}
            + "</span>"
        )
    current_all = ' aria-current="true"' if show != "messages" else ""
    current_messages = ' aria-current="true"' if show == "messages" else ""
    swap = ' hx-swap-oob="true"' if oob else ""
    out = [
        f'\n<div id="timeline"{swap}>\n'
        f'  <nav class="timeline-filter" aria-label="{e(gettext("Timeline filter"))}">\n'
        f'    <a href="?show=all#timeline" hx-get="{timeline_url}?show=all" hx-target="#timeline"'
        f' hx-swap="outerHTML"{current_all}>{e(gettext("All events"))}</a>\n'
        f'    <a href="?show=messages#timeline" hx-get="{timeline_url}?show=messages" hx-target="#timeline"'
        f' hx-swap="outerHTML"{current_messages}>{e(gettext("Messages only"))}</a>\n'
        f'    {hidden}\n  </nav>\n  <ol class="timeline">\n    '
    ]
    for entry in timeline.entries:
        out.append("\n      <li>\n        ")
        out.append(_entry_html(entry, ticket=ticket, timeline=timeline, is_closed=is_closed, parts=parts))
        out.append("\n      </li>\n    ")
    if not timeline.entries:
        out.append(f'\n      <li class="muted">{e(gettext("Nothing here yet."))}</li>\n    ')
    out.append("\n  </ol>\n</div>")
    return mark_safe("".join(out))  # every value above is escaped or already safe


def timeline_html(*, ticket: Any, timeline: Any, customer_view: bool) -> SafeString:
    """What `components/timeline.html` printed (the portal's timeline:
    `customer_view` words the statuses for the customer); its final
    newline is the template's own."""
    labels = _Labels()
    download_url = reverse("tickets:attachment-download", args=[ID_PLACEHOLDER])
    out = ['\n<ol class="timeline">\n  ']
    for entry in timeline.entries:
        out.append("\n    <li>\n      ")
        if entry.message:
            message = message_html(entry.message, ticket_id=ticket.pk, labels=labels, download_url=download_url)
            out.append("\n        " + message + "\n      ")
        else:
            iso, at = _at(entry.at, "SHORT_DATETIME_FORMAT")
            text = event_sentence(entry.event, timeline, customer_view)
            out.append(
                f'\n        <div class="event"><span class="event-text">{text}</span>\n'
                f'          <time datetime="{iso}">{at}</time></div>\n      '
            )
        out.append("\n    </li>\n  ")
    if not timeline.entries:
        out.append(f'\n    <li class="muted">{e(gettext("Nothing here yet."))}</li>\n  ')
    out.append("\n</ol>")
    return mark_safe("".join(out))  # every value above is escaped or already safe
