"""The agent list's rows: display values computed once per row, markup
written once per page.

The list template used to derive them per cell: three `{% url %}` tags, two
includes (status, SLA badge through an inclusion tag), `highlight` and `date`
filters and a loop over the bulk results, i.e. ~40 template nodes a row, 64 %
of the page's profile at 50 rows. Then (first pass) each row became one dict
of ready values printed by ~25 variable and 8 `{% translate %}` nodes a row,
still ~40 % of the page's CPU. Now `rows_html` writes the `<tbody>` rows in
Python: the column labels are translated once per page, every value goes
through `escape` (the highlighted subject, requester and organisation are
already escaped piece by piece by `highlight`). Why and figures:
docs/workspace-list.md, "Rendering cost of the list".
"""

import functools
import hashlib
import html
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from django.core.signals import setting_changed
from django.forms import Form
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat, timesince_filter
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.dates import MONTHS_3
from django.utils.formats import get_format
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from helpdesk.lib.human import coarse_duration_formatter
from tickets.models import QueueKind, Ticket
from tickets.selectors import PortalRow
from tickets.templatetags.sla_tags import AT_RISK_S, SLA_STATUSES
from tickets.templatetags.ticket_tags import PRIORITY_LABELS, status_label
from tickets.templatetags.workspace_tags import highlighter
from tickets.workflow import customer_status_label
from tickets.workspace import ListRow

ID_PLACEHOLDER = 2147483647  # reversed once, then replaced by each row's id


def _text(value: Any, mark: Callable[[Any], SafeString] | None) -> SafeString | str:
    """Highlighted (and escaped) when searching; the plain value otherwise,
    left to the template's autoescape."""
    return mark(value) if mark is not None else ("" if value is None else str(value))


def _local(value: datetime, tz: Any = None) -> datetime:
    """`timezone.localtime` (in `tz`, the current zone read once a page by the
    callers: reading it is a context-variable lookup, ~100 a page); naive as it is."""
    if value.utcoffset() is None:
        return value
    return value.astimezone(timezone.get_current_timezone() if tz is None else tz)


def _due(value: datetime, tz: Any = None) -> str:
    """`date:"Y-m-d H:i e"` (e: the zone's abbreviation, empty when naive)."""
    local = _local(value, tz)
    return f"{local:%Y-%m-%d %H:%M} {(local.tzname() or '') if local.tzinfo else ''}"


def list_rows(
    tickets: Iterable[ListRow | Ticket],
    *,
    terms: list[str],
    selected_ids: set[int],
    results_by_id: Mapping[int, Any],
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """One dict per row with what `tickets/agent/ticket_list.html#results`
    prints. The rows are `workspace.ListRow`s (tickets, with queue,
    requester and assignee selected, are converted)."""
    now = now or timezone.now()
    url = reverse("tickets:agent-ticket-detail", args=[ID_PLACEHOLDER])
    placeholder = str(ID_PLACEHOLDER)
    months, statuses, priorities = _row_labels(get_language())
    sla = SlaTexts(now)
    mark = highlighter(terms) if terms else None
    tz = timezone.get_current_timezone()
    rows = []
    for t in tickets:
        if isinstance(t, Ticket):
            t = ListRow.from_ticket(t, organisation=bool(terms))
        pk = t.pk
        organisation = t.organisation if terms else None
        updated = _local(t.updated_at, tz)
        rows.append(
            {
                "pk": pk,
                "url": url.replace(placeholder, str(pk)),
                "kind": t.kind,
                "selected": pk in selected_ids,
                "subject": _text(t.subject, mark),
                "result": results_by_id.get(pk),
                "requester": _text(t.requester_name, mark),
                "organisation": _text(organisation, mark) if organisation is not None else "",
                "status": t.status,
                "status_label": statuses[t.status] if t.status in statuses else status_label(t.status),
                "priority": t.priority,
                "priority_label": priorities.get(t.priority, t.priority),
                "queue": t.queue_name,
                "assignee": t.assignee_name,
                "updated_iso": updated.isoformat(),  # date:"c"
                "updated": f"{months[updated.month]} {updated.day}, {updated:%H:%M}",  # date:"M j, H:i"
                **sla.badge(t.status, t.sla_due_at),
            }
        )
    return rows


class SlaTexts:
    """`sla_badge_context` for a page, its sentences and duration formats
    translated once (tickets/templatetags/sla_tags.py is the reference;
    tests/workspace/test_render_cost.py compares the two)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.due_in = gettext("due in %(time)s")
        self.breached = gettext("breached %(time)s ago")
        self._human = coarse_duration_formatter()  # sla_tags._human, formats translated once
        self._tz = timezone.get_current_timezone()

    def badge(self, status: str, due: datetime | None) -> dict[str, Any]:
        if due is None or status not in SLA_STATUSES:
            return {"sla_state": "none", "sla_text": "", "sla_due": ""}
        delta = (due - self.now).total_seconds()
        if delta <= 0:
            state, text = "breached", self.breached % {"time": self._human(delta)}
        else:
            state = "at_risk" if delta <= AT_RISK_S else "ok"
            text = self.due_in % {"time": self._human(delta)}
        return {"sla_state": state, "sla_text": text, "sla_due": _due(due, self._tz)}


def _kind_labels() -> dict[str, str]:
    return {value: str(label) for value, label in QueueKind.choices}


@functools.lru_cache(maxsize=32)
def _row_labels(language: str | None) -> tuple[dict[int, str], dict[str, str], dict[str, str]]:
    """Months (`date:"M"`: capitalised, three letters), status and priority
    labels in `language`: the same for every page in it, so translated once
    per process and language (~30 lazy strings a page before)."""
    with translation.override(language):
        return (
            {m: str(name).title() for m, name in MONTHS_3.items()},
            {value: str(status_label(value)) for value in Ticket.Status.values},
            {value: str(label) for value, label in PRIORITY_LABELS.items()},
        )


# Settings a test overrides (languages, locale paths) change the translations.
setting_changed.connect(lambda **_: _row_labels.cache_clear(), dispatch_uid="list_rows_labels_clear", weak=False)


def _escape(value: Any) -> str:
    """`conditional_escape` without its per-call overhead (~700 calls a
    page): markup-safe values (`highlight`) as they are, the rest through
    `html.escape`, as `django.utils.html.escape` does; a text with none of
    the five characters is its own escape (the common case, and 2.5x cheaper
    to test than to escape)."""
    if type(value) is str:
        text = value
    elif hasattr(value, "__html__"):
        return str(value.__html__())
    else:
        text = str(value)
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return html.escape(text)
    return text


def rows_html(rows: Iterable[Mapping[str, Any]]) -> SafeString:
    """The `<tr>`s of `tickets/agent/ticket_list.html#results` for `rows`
    (list_rows), the markup the template's row loop wrote: same elements,
    attributes, classes and texts (tests/workspace/test_list_rows_html.py
    compares the two). Every value is escaped here; the labels are
    translated once (gettext of the template's own msgids; as in
    `{% blocktranslate %}` the translation itself is not escaped, its
    values are)."""
    e = _escape
    label = {  # the `{% translate %}` of each cell's data-label
        "Requester": e(gettext("Requester")),
        "Status": e(gettext("Status")),
        "Priority": e(gettext("Priority")),
        "Queue": e(gettext("Queue")),
        "Assignee": e(gettext("Assignee")),
        "SLA due": e(gettext("SLA due")),
        "Updated": e(gettext("Updated")),
    }
    select, due_title = gettext("Select #%(pk)s"), gettext("SLA due %(due)s")
    kinds = {value: e(text) for value, text in _kind_labels().items()}
    muted = '<span class="muted">—</span>'
    out = []
    for r in rows:
        url, kind, pk = e(r["url"]), e(r["kind"]), r["pk"]
        result = r["result"]
        result_html = (
            f' <span class="bulk-row-result {"ok" if result.ok else "failed"}">{e(result.message)}</span>'
            if result
            else ""
        )
        organisation = f' <span class="muted">· {e(r["organisation"])}</span>' if r["organisation"] else ""
        sla_state = r["sla_state"]
        sla = (
            f'<span class="badge sla sla-{e(sla_state)}{" badge-warn" if sla_state == "breached" else ""}"'
            f' title="{due_title % {"due": e(r["sla_due"])}}">{e(r["sla_text"])}</span>'
            if r["sla_text"]
            else muted
        )
        out.append(
            f'<tr data-row data-href="{url}" class="kind-row-{kind}">'
            f'<td class="cell-select"><input type="checkbox" name="ids" value="{pk}"'
            f' aria-label="{select % {"pk": pk}}"{" checked" if r["selected"] else ""}></td>'
            f'<td class="cell-id"><a href="{url}">#{pk}</a></td>'
            f'<td class="cell-subject"><a href="{url}" class="subject">{e(r["subject"])}</a>{result_html}</td>'
            f'<td data-label="{label["Requester"]}">{e(r["requester"])}{organisation}</td>'
            f'<td data-label="{label["Status"]}"><span class="status status-{e(r["status"])}">'
            f"{e(r['status_label'])}</span></td>"
            f'<td data-label="{label["Priority"]}"><span class="prio prio-{e(r["priority"])}">'
            f"{e(r['priority_label'])}</span></td>"
            f'<td data-label="{label["Queue"]}"><span class="kind-dot kind-{kind}"></span>{e(r["queue"])}'
            f' <span class="kind-label">{kinds.get(r["kind"], kind)}</span></td>'
            f'<td data-label="{label["Assignee"]}">{e(r["assignee"]) if r["assignee"] else muted}</td>'
            f'<td data-label="{label["SLA due"]}">{sla}</td>'
            f'<td data-label="{label["Updated"]}"><time datetime="{e(r["updated_iso"])}">{e(r["updated"])}</time></td>'
            "</tr>\n"
        )
    return mark_safe("".join(out))  # every value above is escaped


def form_fragment_key(*, form: Form | type[Form], queues: Iterable[Any], agents: Iterable[Any]) -> str:
    """The `{% cache %}` key of a list form's rendered fields.

    The HTML of the filter form and the bulk bar is a function of the
    language, the submitted values of the form's fields and its choices (the
    user's queues and their agents; the other choices are constants), so the
    key is a digest of exactly those: two users share an entry only when
    they would be shown the same markup. Nothing derived from other
    permissions is inside these fragments. See docs/workspace-list.md.
    A form class stands for its unbound form (the same key, without
    building the form).
    """
    if isinstance(form, type):
        name, submitted = form.__name__, None
    else:
        data = form.data
        name = type(form).__name__
        submitted = (
            [(field, data.getlist(field) if hasattr(data, "getlist") else data.get(field)) for field in form.fields]
            if form.is_bound
            else None
        )
    parts = (
        get_language(),
        name,
        submitted,
        [(q.pk, q.name, q.kind) for q in queues],
        [(u.pk, u.display_name) for u in agents],
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def hidden_input_html(*, name: str, value: str, id_: str) -> SafeString:
    """What Django's `HiddenInput` renders for a text value (its two widget
    templates): no `value` when empty, as `Widget.format_value` does."""
    shown = f' value="{html.escape(value)}"' if value != "" else ""
    return mark_safe(f'<input type="hidden" name="{html.escape(name)}"{shown} id="{html.escape(id_)}">')


def unbound_bulk_form(*, agents: Any, queues: Any, query: str) -> tuple[Any, SafeString]:
    """The list's unbound bulk form, built on first use, and the markup of
    its hidden `query` field. Every other field is inside the kept fragment
    (`{% cache %}`, keyed by `form_fragment_key(form=BulkForm, ...)`), so on
    a repeated page the form (a deep copy of 12 fields, choices from the
    agents and queues) and its widget templates are never needed; the test
    compares the markup with the form's own (tests/workspace/test_list_view_cost.py)."""
    from tickets.forms import BulkForm

    form = SimpleLazyObject(lambda: BulkForm(agents=agents, queues=queues, initial={"query": query}))
    return form, hidden_input_html(name="query", value=query, id_="bulk_query")


def portal_rows_html(rows: Iterable[PortalRow], *, user_id: int) -> SafeString:
    """The `<tr>`s of "My requests" (`tickets/customer/ticket_list.html`), the
    markup its row loop wrote (two `{% url %}`, the status include, two
    `date` filters and four `{% translate %}` a row): labels translated once
    a page, every value escaped (tests/workspace/test_render_cost.py compares
    the two in three languages)."""
    e = _escape
    status, requested_by, updated = e(gettext("Status")), e(gettext("Requested by")), e(gettext("Updated"))
    you = e(gettext("You"))
    url = reverse("tickets:customer-ticket-detail", args=[ID_PLACEHOLDER])
    placeholder = str(ID_PLACEHOLDER)
    labels: dict[str, str] = {}
    short = get_format("SHORT_DATETIME_FORMAT")
    tz = timezone.get_current_timezone()
    out = []
    for r in rows:
        pk = r.pk
        href = e(url.replace(placeholder, str(pk)))
        label = labels.get(r.status)
        if label is None:
            label = labels[r.status] = e(customer_status_label(r.status))
        local = _local(r.updated_at, tz)
        who = you if r.requester_id == user_id else e(r.requester_name)
        out.append(
            "\n    <tr data-row>\n"
            f'      <td class="cell-id"><a href="{href}">#{pk}</a></td>\n'
            f'      <td class="cell-subject"><a href="{href}">{e(r.subject)}</a></td>\n'
            f'      <td data-label="{status}"><span class="status status-{e(r.status)}">{label}</span></td>\n'
            f'      <td data-label="{requested_by}">{who}</td>\n'
            f'      <td data-label="{updated}"><time datetime="{e(local.isoformat())}">'
            f"{e(dateformat.format(local, short))}</time></td>\n"
            "    </tr>\n  "
        )
    return mark_safe("".join(out))  # every value above is escaped


def rail_views_html(counts: Any, *, view: Any) -> SafeString:
    """The built-in views of the list's rail (`tickets/agent/ticket_list.html#counts`),
    the markup its loop wrote (a dozen nodes a view, ~110 a page, redrawn by
    every 30-s poll): labels in the active language, values escaped, the
    "oldest" note through the template's own filters
    (tests/workspace/test_render_cost.py compares the two)."""
    e = _escape
    current = "" if view is None else str(view)
    oldest = ""
    if counts.awaiting_oldest:
        since = date_filter(_local(counts.awaiting_oldest), "Y-m-d H:i")  # as the template: local time
        oldest = (
            f' <span class="muted ws-oldest" data-oldest-age="{e(floatformat(counts.awaiting_oldest_age_s, 0))}"'
            f' title="{e(gettext("Oldest waiting since"))} {e(since)}">'
            f"{e(gettext('oldest'))} {e(timesince_filter(counts.awaiting_oldest, counts.now))}</span>"
        )
    out = []
    for key, label, n in counts.rail:
        k = e(key)
        count = f'<span class="count" data-count="{k}">{e(n)}</span>' if key != "all" else ""
        out.append(
            f'\n          <li><a href="?view={k}" class="ws-view{" is-current" if current == key else ""}"'
            f' data-view="{k}">{e(label)}\n            {count}'
            f"{oldest if key == 'awaiting_first_reply' else ''}</a></li>\n        "
        )
    return mark_safe("".join(out))  # every value above is escaped


def rail_queues_html(counts: Any, *, view: Any) -> SafeString:
    """The rail's queues with their open counts, the markup of the template's
    loop (its `{% empty %}` included)."""
    e = _escape
    current = "" if view is None else str(view)
    if not counts.queues:
        return mark_safe(f'<li class="muted">{e(gettext("No queues."))}</li>\n        ')
    kinds = {value: e(text) for value, text in _kind_labels().items()}
    out = []
    for q in counts.queues:
        kind = e(q["kind"])
        label = kinds.get(q["kind"], kind)
        out.append(
            f'\n          <li><a href="?view={e(q["view"])}" class="ws-view kind-{kind}'
            f'{" is-current" if current == q["view"] else ""}"><span class="kind-dot kind-{kind}"'
            f' title="{label}"></span>{e(q["name"])} <span class="kind-label">{label}</span>'
            f' <span class="count">{e(q["open"])}</span></a></li>\n        '
        )
    return mark_safe("".join(out))  # every value above is escaped
