"""The ticket state machine: pure tables and predicates, no queries."""

from collections.abc import Mapping
from typing import Final

from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy

from helpdesk.lib.exceptions import ApplicationError
from tickets.models import Ticket

S = Ticket.Status

UNSOLVED: Final = frozenset({S.NEW, S.OPEN, S.PENDING, S.ON_HOLD})
RESOLVED: Final = frozenset({S.SOLVED, S.CLOSED})

# The one table of allowed moves. Closed is terminal: a customer reply to a
# closed ticket creates a follow-up ticket instead (services.message_post).
TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED, S.CLOSED}),
    S.OPEN: frozenset({S.PENDING, S.ON_HOLD, S.SOLVED, S.CLOSED}),
    S.PENDING: frozenset({S.OPEN, S.ON_HOLD, S.SOLVED, S.CLOSED}),
    S.ON_HOLD: frozenset({S.OPEN, S.PENDING, S.SOLVED, S.CLOSED}),
    S.SOLVED: frozenset({S.OPEN, S.PENDING, S.ON_HOLD, S.CLOSED}),
    S.CLOSED: frozenset(),
}

# What a customer may ask for directly: mark their ticket solved. They reopen
# it only by replying (services.message_post moves it, with the reply as the
# reason), never with a bare status change.
CUSTOMER_TARGETS: Final = frozenset({S.SOLVED})


class InvalidTransition(ApplicationError):
    code = "invalid_transition"
    status_code = 409

    def __init__(self, *, current: str, target: str, reason: str = ""):
        self.current, self.target = current, target
        allowed = ", ".join(sorted(TRANSITIONS.get(current, frozenset()))) or gettext("none (closed is final)")
        message = reason or gettext(
            "A ticket cannot move from '%(current)s' to '%(target)s'. Allowed from '%(current)s': %(allowed)s."
        ) % {"current": current, "target": target, "allowed": allowed}
        super().__init__(message, extra={"from": current, "to": target})


def check_transition(current: str, target: str) -> None:
    """Raise InvalidTransition unless `current` -> `target` is in the table."""
    if target not in S.values:
        raise InvalidTransition(current=current, target=target, reason=gettext("Unknown status '%s'.") % target)
    if current == target:
        raise InvalidTransition(current=current, target=target, reason=gettext("The ticket is already '%s'.") % current)
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current=current, target=target)


def check_actor_may_transition(*, actor_role: str, current: str, target: str) -> None:
    """Customers only mark their ticket solved; staff use the full table."""
    check_transition(current, target)
    if actor_role == "customer" and target not in CUSTOMER_TARGETS:
        raise InvalidTransition(
            current=current,
            target=target,
            reason=gettext("Customers can only mark a ticket solved; reply to reopen it."),
        )


def is_resolution(source: str, target: str) -> bool:
    """docs/metrics.md §1.3: entering solved, or closed straight from an unsolved status."""
    return target == S.SOLVED or (target == S.CLOSED and source in UNSOLVED)


def is_reopen(source: str, target: str) -> bool:
    return source in RESOLVED and target in UNSOLVED


def status_after_customer_reply(current: str) -> str | None:
    """A customer reply reopens a solved or pending ticket; None = no change.

    Closed tickets never reopen (the caller creates a follow-up ticket).
    """
    if current in (S.SOLVED, S.PENDING):
        return S.OPEN
    return None


def status_after_agent_reply(current: str, *, visibility: str, is_automated: bool) -> str | None:
    """The first public human agent reply takes a New ticket to Open.

    Only what docs/portal.md calls a public agent reply counts: an internal
    note or an automated message leaves the ticket New. None = no change.
    """
    if current == S.NEW and visibility == "public" and not is_automated:
        return S.OPEN
    return None


# What customers read for each status (portal, customer e-mails, API). The
# agent-side names (On hold, Pending) describe our side of the work; the
# customer only needs to know whose turn it is.
CUSTOMER_STATUS_LABELS: Final[Mapping[str, str | Promise]] = {
    S.NEW: pgettext_lazy("customer status", "Received"),
    S.OPEN: pgettext_lazy("customer status", "In progress"),
    S.PENDING: pgettext_lazy("customer status", "Awaiting your reply"),
    S.ON_HOLD: pgettext_lazy("customer status", "In progress"),
    S.SOLVED: pgettext_lazy("customer status", "Solved"),
    S.CLOSED: pgettext_lazy("customer status", "Closed"),
}


def customer_status_label(status: str) -> str:
    """The customer-facing label of a status (one place for every surface)."""
    return str(CUSTOMER_STATUS_LABELS.get(status, status))
