"""Proactive outreach from the customer success view: an agent-created
ticket (kind service, channel agent, Pending: we wrote first) to one of the
account's contacts, so it belongs to the organisation (docs/customer-success.md)."""

from typing import Any

from django.utils.translation import gettext as _

from success.policy import success_viewer
from success.selectors import Key, account_contacts
from tickets import policy
from tickets.models import QueueKind, Ticket
from tickets.workspace_services import ticket_create_on_behalf


def outreach_create(
    *, actor: Any, key: Key, contact_id: int, queue: Any, subject: str, body: str, priority: str
) -> Ticket:
    """Raises policy.Refused (with the field at fault) or ApplicationError."""
    if not success_viewer(actor):
        raise policy.Refused(_("Only managers and service agents can reach out from here."), field="contact")
    contact = account_contacts(key).filter(pk=contact_id).first()
    if contact is None:
        raise policy.Refused(_("Choose one of this account's contacts."), field="contact")
    if queue is None or queue.kind != QueueKind.SERVICE:
        raise policy.Refused(_("Outreach is customer service: choose a service queue."), field="queue")
    return ticket_create_on_behalf(
        agent=actor,
        requester_email=contact.email,
        queue=queue,
        subject=subject,
        body=body,
        priority=priority,
        how="outbound",
    )
