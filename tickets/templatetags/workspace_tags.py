"""Template helpers of the workspace list: search highlights."""

import html
import re
from collections.abc import Callable, Sequence
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def highlight(text: Any, terms: Any) -> SafeString:
    """`text` escaped, each of `terms` (search.search_terms) wrapped in
    <mark>; matching is case-insensitive and never touches the markup."""
    return highlighter(terms or [])(text)


def highlighter(terms: Sequence[str]) -> Callable[[Any], SafeString]:
    """`highlight` for one set of terms: the pattern compiled once (the list
    highlights three values a row with the same terms). `html.escape` is what
    Django's `escape` calls, without its lazy-string wrapper per piece."""
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE) if terms else None

    def mark(text: Any) -> SafeString:
        text = "" if text is None else str(text)
        if pattern is None:
            return mark_safe(html.escape(text))
        out: list[str] = []
        last = 0
        for match in pattern.finditer(text):
            out.append(html.escape(text[last : match.start()]))
            out.append(f"<mark>{html.escape(match.group(0))}</mark>")
            last = match.end()
        out.append(html.escape(text[last:]))
        return mark_safe("".join(out))  # every piece is escaped above

    return mark


@register.filter
def kind_label(kind: Any) -> str:
    """A queue kind ("support", "service") in the reader's language."""
    from tickets.models import QueueKind

    return str(QueueKind(kind).label) if kind in QueueKind.values else str(kind or "")


@register.simple_tag
def rail_views(counts: Any, view: Any) -> SafeString:
    """The rail's built-in views, written in Python (tickets/views/list_rows.py)."""
    from tickets.views.list_rows import rail_views_html

    return rail_views_html(counts, view=view)


@register.simple_tag
def rail_queues(counts: Any, view: Any) -> SafeString:
    """The rail's queues, written in Python (tickets/views/list_rows.py)."""
    from tickets.views.list_rows import rail_queues_html

    return rail_queues_html(counts, view=view)
