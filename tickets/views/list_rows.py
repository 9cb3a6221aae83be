"""Display values of the agent list's rows, computed once per row in Python.

The list template used to derive them per cell: three `{% url %}` tags, two
includes (status, SLA badge through an inclusion tag), `highlight` and `date`
filters and a loop over the bulk results, i.e. ~40 template nodes a row, 64 %
of the page's profile at 50 rows. Here each row is one dict of ready values
(dicts because the template engine tries `row[key]` first), and the row
markup is plain variable output. Why and figures: docs/workspace-list.md.
Everything is still escaped by the template, except the highlighted subject,
requester and organisation, which `highlight` escapes piece by piece.
"""

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.forms import Form
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from tickets.models import Ticket
from tickets.templatetags.sla_tags import sla_badge_context
from tickets.templatetags.ticket_tags import status_label
from tickets.templatetags.workspace_tags import highlight

ID_PLACEHOLDER = 2147483647  # reversed once, then replaced by each row's id


def _text(value: Any, terms: list[str]) -> SafeString | str:
    """Highlighted (and escaped) when searching; the plain value otherwise,
    left to the template's autoescape."""
    return highlight(value, terms) if terms else ("" if value is None else str(value))


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def _sla(ticket: Ticket, now: datetime) -> dict[str, Any]:
    badge = sla_badge_context(ticket, now)
    due = badge["sla_due"]
    return {
        "sla_state": badge["sla_state"],
        "sla_text": badge["sla_text"],
        "sla_due": date_format(_local(due), "Y-m-d H:i e") if due else "",
    }


def list_rows(
    tickets: Iterable[Ticket],
    *,
    terms: list[str],
    selected_ids: set[int],
    results_by_id: Mapping[int, Any],
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """One dict per ticket with what `tickets/agent/ticket_list.html#results`
    prints. The tickets come with queue, requester and assignee selected
    (and the requester's organisation when searching)."""
    now = now or timezone.now()
    url = reverse("tickets:agent-ticket-detail", args=[ID_PLACEHOLDER])
    placeholder = str(ID_PLACEHOLDER)
    rows = []
    for t in tickets:
        requester = t.requester
        org = requester.organisation if terms and requester.organisation_id else None
        organisation = org.name if org is not None else None
        result = results_by_id.get(t.pk)
        updated = _local(t.updated_at)
        rows.append(
            {
                "pk": t.pk,
                "url": url.replace(placeholder, str(t.pk)),
                "kind": t.kind,
                "selected": t.pk in selected_ids,
                "subject": _text(t.subject, terms),
                "result": result,
                "requester": _text(requester.display_name, terms),
                "organisation": _text(organisation, terms) if organisation is not None else "",
                "status": t.status,
                "status_label": status_label(t.status),
                "priority": t.priority,
                "priority_label": t.get_priority_display(),
                "queue": t.queue.name,
                "assignee": t.assignee.display_name if t.assignee_id and t.assignee else "",
                "updated_iso": date_format(updated, "c"),
                "updated": date_format(updated, "M j, H:i"),
                **_sla(t, now),
            }
        )
    return rows


def form_fragment_key(*, form: Form, queues: Iterable[Any], agents: Iterable[Any]) -> str:
    """The `{% cache %}` key of a list form's rendered fields.

    The HTML of the filter form and the bulk bar is a function of the
    language, the submitted values of the form's fields and its choices (the
    user's queues and their agents; the other choices are constants), so the
    key is a digest of exactly those: two users share an entry only when
    they would be shown the same markup. Nothing derived from other
    permissions is inside these fragments. See docs/workspace-list.md.
    """
    data = form.data
    submitted = (
        [(name, data.getlist(name) if hasattr(data, "getlist") else data.get(name)) for name in form.fields]
        if form.is_bound
        else None
    )
    parts = (
        get_language(),
        type(form).__name__,
        submitted,
        [(q.pk, q.name, q.kind) for q in queues],
        [(u.pk, u.display_name) for u in agents],
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()
