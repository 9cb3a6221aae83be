"""Macros: canned text with placeholders plus actions (docs/automation.md).

The body is a Django template rendered by a bare engine (no loaders, no
libraries) against a whitelist of plain strings, never model objects, with
autoescape on: `{{ requester.first_name }}` cannot reach anything else and a
name such as `<script>` comes out escaped. Actions go through the ordinary
services, so each is an event; a refused status move undoes the whole macro.

Language (docs/languages.md, Macros): text for a public reply is filled in
the requester's language, the one their e-mail is written in (as Zendesk
renders dynamic content in the requester's language): status, priority,
dates and any filter output. An internal note stays in the language of the
agent who writes it (the active one).
"""

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.template import Context, Engine, Library, TemplateSyntaxError, defaulttags
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from accounts.language import recipient_language
from accounts.models import User
from helpdesk.lib.exceptions import ApplicationError
from tickets.models import Macro, Message, Queue, Ticket
from tickets.workflow import customer_status_label

PLACEHOLDERS = (
    "requester.first_name",
    "requester.name",
    "requester.email",
    "ticket.number",
    "ticket.subject",
    "ticket.status",
    "ticket.priority",
    "ticket.queue",
    "ticket.created",
    "agent.name",
    "agent.first_name",
    "agent.email",
)

# Only {% if %}, {% for %}, {% comment %} and the default filters: no
# {% include %}, {% load %}, {% debug %} (which would print sys.modules).
register = Library()
register.tag("if", defaulttags.do_if)
register.tag("for", defaulttags.do_for)
register.tag("comment", defaulttags.comment)


class _MacroEngine(Engine):
    default_builtins = ["django.template.defaultfilters", "tickets.macros"]


_ENGINE = _MacroEngine(dirs=[], app_dirs=False, loaders=[], libraries={}, autoescape=True, debug=False)


class MacroError(ApplicationError):
    code = "macro_error"
    status_code = 400


def _for_customer(visibility: str | None) -> bool:
    return (visibility or Message.Visibility.PUBLIC) == Message.Visibility.PUBLIC


def macro_context(*, ticket: Ticket, agent: User, visibility: str | None = None) -> dict[str, dict[str, str]]:
    """Plain strings only (the whitelist), in the active language. A public
    reply names the status as the customer reads it everywhere else
    (portal, e-mails: workflow.customer_status_label)."""
    requester = ticket.requester
    status = customer_status_label(ticket.status) if _for_customer(visibility) else ticket.get_status_display()
    return {
        "requester": {
            "first_name": requester.first_name_or_name,
            "name": requester.display_name,
            "email": requester.email,
        },
        "ticket": {
            "number": str(ticket.pk),
            "subject": ticket.subject,
            "status": str(status),
            "priority": str(ticket.get_priority_display()),
            "queue": ticket.queue.name,
            "created": formats.date_format(timezone.localtime(ticket.created_at), "DATE_FORMAT"),
        },
        "agent": {"name": agent.display_name, "first_name": agent.first_name_or_name, "email": agent.email},
    }


def macro_language(*, ticket: Ticket, visibility: str | None = None) -> str:
    """The language the macro text is filled in: the requester's for a
    public reply, else the active one (the writing agent's)."""
    if _for_customer(visibility):
        return recipient_language(ticket.requester)
    return translation.get_language() or recipient_language(None)


def macro_render(*, body: str, ticket: Ticket, agent: User, visibility: str | None = None) -> str:
    """The macro text for this ticket, filled in `macro_language` (`visibility`:
    of the message it becomes, public by default); MacroError on a broken
    template."""
    try:
        template = _ENGINE.from_string(body)
        with translation.override(macro_language(ticket=ticket, visibility=visibility)):
            return template.render(
                Context(macro_context(ticket=ticket, agent=agent, visibility=visibility), autoescape=True)
            )
    except TemplateSyntaxError as exc:
        raise MacroError(gettext("The macro text has a template error: %s") % exc) from None
    except Exception as exc:
        raise MacroError(gettext("The macro text could not be rendered: %s") % exc.__class__.__name__) from None


def macro_list_for_ticket(*, ticket: Ticket, agent: Any = None) -> QuerySet[Macro]:
    """Active macros for every queue or for the ticket's queue: the shared
    ones and `agent`'s personal ones."""
    mine = Q(owner__isnull=True) | Q(owner_id=getattr(agent, "pk", None))
    return Macro.objects.filter(Q(queue__isnull=True) | Q(queue_id=ticket.queue_id), mine, is_active=True)


def macro_validate_actions(actions: Any) -> dict[str, Any]:
    """Raise MacroError unless `actions` has only known, valid keys."""
    if not isinstance(actions, dict):
        raise MacroError(gettext("Macro actions must be an object."))
    allowed = {"status", "priority", "add_tags", "remove_tags", "assignee", "queue"}
    unknown = set(actions) - allowed
    if unknown:
        raise MacroError(gettext("Unknown macro actions: %s.") % ", ".join(sorted(unknown)))
    if actions.get("status") and actions["status"] not in Ticket.Status.values:
        raise MacroError(gettext("Unknown status '%s'.") % actions["status"])
    if actions.get("priority") and actions["priority"] not in Ticket.Priority.values:
        raise MacroError(gettext("Unknown priority '%s'.") % actions["priority"])
    if actions.get("assignee") not in (None, "", "me", "none"):
        raise MacroError(gettext("Macro assignee must be 'me' or 'none'."))
    if (
        actions.get("queue") not in (None, "")
        and not Queue.objects.filter(pk=actions["queue"], is_active=True).exists()
    ):
        raise MacroError(gettext("Macro queue must be an active queue."))
    return actions


@transaction.atomic
def macro_apply(
    *,
    macro: Macro,
    ticket_id: int,
    agent: User,
    body: str | None = None,
    visibility: str | None = None,
    attachments: Any = (),
) -> Ticket:
    """Post the macro's message (`body` = the agent's edited text, default the
    rendered macro) and apply its actions, all or nothing.

    Raises ApplicationError / InvalidTransition (with the reason) and then
    nothing was changed.
    """
    from tickets import services

    ticket = Ticket.objects.select_related("requester", "queue").get(pk=ticket_id)
    actions = macro_validate_actions(macro.actions or {})
    visibility = visibility or macro.visibility or Message.Visibility.PUBLIC
    text = macro_render(body=macro.body, ticket=ticket, agent=agent, visibility=visibility) if body is None else body
    if text.strip() or attachments:
        services.message_post(
            ticket_id=ticket.pk,
            author=agent,
            body=text,
            visibility=visibility,
            attachments=attachments,
        )
    if actions.get("priority"):
        services.ticket_set_priority(ticket_id=ticket.pk, priority=actions["priority"], actor=agent)
    if actions.get("add_tags") or actions.get("remove_tags"):
        services.ticket_tag(
            ticket_id=ticket.pk,
            actor=agent,
            add=list(actions.get("add_tags") or []),
            remove=list(actions.get("remove_tags") or []),
        )
    if actions.get("queue") and ticket.queue_id != int(actions["queue"]):
        # First, so an assignment below is checked against the new queue.
        services.ticket_move_queue(
            ticket_id=ticket.pk,
            queue=Queue.objects.get(pk=actions["queue"]),
            actor=agent,
            reason=f"macro: {macro.name}",
        )
    if actions.get("assignee") in ("me", "none"):
        services.ticket_assign(
            ticket_id=ticket.pk,
            assignee=agent if actions["assignee"] == "me" else None,
            actor=agent,
            reason=f"macro: {macro.name}",
        )
    if actions.get("status"):
        current = Ticket.objects.only("status").get(pk=ticket.pk).status
        if current != actions["status"]:
            services.ticket_transition(
                ticket_id=ticket.pk, target=actions["status"], actor=agent, note=f"macro: {macro.name}"
            )
    return Ticket.objects.get(pk=ticket.pk)
