"""The one validation layer, seen from a form (docs/settings.md).

Every Settings form turns its inputs into the item shape of the
configuration document and asks `tickets.config.config_validate`, the
same function the config file, `PUT /api/v1/config/` and the Django admin
use. Each problem comes back with its path inside the item
(`hours.mon[0]`, `targets.high.first_response`...); the form maps that
path to the input that produced it.
"""

from collections.abc import Callable
from typing import Any

from django import forms

from tickets.config import config_validate


def item_problems(section: str, item: dict[str, Any]) -> list[tuple[str, str]]:
    """(path inside the item, message) for every problem of one item."""
    prefix = f"{section}[0]"
    return [(p.path.removeprefix(prefix).lstrip("."), p.message) for p in config_validate({section: [item]})]


def add_item_errors(
    form: forms.Form, section: str, item: dict[str, Any], field_for: Callable[[str], str | None]
) -> None:
    """Put each problem of `item` on the form field `field_for(path)` names
    (a non-field error, prefixed with the path, when none does)."""
    for path, message in item_problems(section, item):
        name = field_for(path)
        if name in form.fields:
            if name not in form.errors:
                form.add_error(name, message)
        else:
            form.add_error(None, f"{path}: {message}")
