"""`{% cache %}` keys of rendered form fields on the agent ticket page.

The markup of a form's fields (labels, widgets, `<option>`s; Django renders
each widget and option through its own templates) is a function of the
language, the form class and prefix, each field's value and the choices of
its select fields: the key is a digest of exactly those, so two users share
an entry only when they would be shown the same markup. A bound form (its
errors can depend on more than its input) and a form whose choices are
queried while rendering (a ModelChoiceField's iterator: not part of the key)
are never cached (timeout 0). The CSRF token, hidden fields and the error
summary stay outside the fragments. Why and figures:
docs/workspace-list.md, "Rendering cost".
"""

import hashlib
from typing import Any

from django.forms import Form
from django.utils.functional import Promise
from django.utils.translation import get_language

TIMEOUT = 600


def _plain(value: Any) -> Any:
    """Lazy labels as text (a proxy's repr is its address), recursively."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def form_fields_fragment(form: Form) -> tuple[str, int]:
    """(key, timeout) of the `{% cache %}` around `form`'s field includes."""
    parts: list[Any] = [get_language(), type(form).__module__, type(form).__qualname__, form.prefix, form.is_bound]
    cacheable = not form.is_bound
    for name, field in form.fields.items():
        choices = getattr(field, "choices", None)
        if choices is not None and not isinstance(choices, list):
            cacheable = False  # queried on render: the key could not cover it
        parts.append((name, _plain(form[name].value()), _plain(choices)))
    key = hashlib.sha256(repr(parts).encode()).hexdigest()
    return key, TIMEOUT if cacheable else 0


def form_field_fragments(form: Form) -> dict[str, tuple[str, int]]:
    """{field name: (key, timeout)} of a `{% cache %}` around each field's
    include, for a form whose values change from ticket to ticket (the
    properties panel): a field's key is a digest of what `form_fields_fragment`
    puts in the form's, for that field alone, so a ticket seen for the
    first time still finds its status, priority, assignee and queue selects
    rendered for another ticket with the same value and choices (a select is
    most of the panel's markup and ~40 template includes). Same rules:
    never cached when bound or when the choices are queried on render."""
    head: list[Any] = [get_language(), type(form).__module__, type(form).__qualname__, form.prefix, form.is_bound]
    fragments: dict[str, tuple[str, int]] = {}
    for name, field in form.fields.items():
        choices = getattr(field, "choices", None)
        cacheable = not form.is_bound and (choices is None or isinstance(choices, list))
        parts = [*head, name, _plain(form[name].value()), _plain(choices)]
        key = hashlib.sha256(repr(parts).encode()).hexdigest()
        fragments[name] = (key, TIMEOUT if cacheable else 0)
    return fragments
