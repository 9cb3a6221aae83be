"""The held-mail panel of the agent ticket page."""

from typing import Any

from django import template

from mail import selectors

register = template.Library()


@register.inclusion_tag("mail/agent/_held_panel.html", takes_context=True)
def held_mail_panel(context: dict[str, Any], ticket: Any) -> dict[str, Any]:
    """Held mail threaded to `ticket` that the viewer may act on."""
    request = context["request"]
    rows: list[dict[str, object]] = []
    # Nearly every ticket has none: one plain check first instead of compiling the
    # visibility sub-query on every ticket page (docs/workspace-list.md, "Third round").
    if selectors.inbound_held_on_ticket(ticket_id=ticket.pk):
        rows = selectors.inbound_held_rows(selectors.inbound_held_list_for_user(user=request.user, ticket_id=ticket.pk))
    return {"rows": rows, "next": request.get_full_path(), "csrf_token": context.get("csrf_token")}
