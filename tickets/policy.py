"""Who may do what to which ticket: the one module the pages, the bulk
actions and the API all ask (docs/access-control.md).

Seeing a ticket is `selectors.ticket_visibility_q`. An action touches more
than its ticket: a merge touches its target, an assignment its assignee, an
escalation its destination queue. Each of those is decided here, so no path
can check the ticket and forget the other object.

Refusals are `Refused` errors naming the input field they are about; pages
show them next to that field, the API answers a 400 keyed by it.
"""

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext

from accounts.models import User
from helpdesk.lib.exceptions import ApplicationError
from tickets import selectors, workflow
from tickets.models import Queue, Ticket


class Refused(ApplicationError):
    """An action refused because of one of its inputs (`field`)."""

    code = "refused"
    status_code = 400

    def __init__(self, message: str, *, field: str, code: str | None = None):
        super().__init__(message, code=code, extra={"field": field})
        self.field = field


# --- status moves ---------------------------------------------------------------


def transition_check(*, actor_role: str, current: str, target: str) -> None:
    """The state machine's table, narrowed by role: customers may only mark
    their ticket solved (a reply reopens it, through the reply service).

    Raises workflow.InvalidTransition (409)."""
    workflow.check_actor_may_transition(actor_role=actor_role, current=current, target=target)


# --- merge ------------------------------------------------------------------------


def merge_target_get(*, actor: Any, target_id: Any, field: str) -> Ticket:
    """The ticket `actor` may merge into: one they may see, by the same
    predicate as every page (a merge shows the source's messages to the
    target's requester, so an unseen target would leak them).

    Raises Refused(field) for a missing, unseen, spam or deleted target."""
    try:
        target = selectors.ticket_get_for_user(user=actor, ticket_id=target_id)
    except Http404:
        raise Refused(
            gettext("There is no ticket #%s that you can see.") % target_id, field=field, code="not_found"
        ) from None
    if target.is_spam or target.is_deleted:
        raise Refused(
            gettext("Ticket #%s is in spam or trash; choose another.") % target.pk, field=field, code="invalid_merge"
        )
    return target


# --- assignment -------------------------------------------------------------------


def assignee_choices(*, actor: Any, ticket: Ticket) -> QuerySet[User]:
    """Who `actor` may assign `ticket` to: active staff in its queue, and
    the actor themselves (a manager may take a ticket outside their queues)."""
    return selectors.assignee_list_for_ticket(user=actor, ticket=ticket)


def assignee_check(*, actor: Any, ticket: Ticket, assignee: User | None, field: str) -> None:
    """Raises Refused(field) unless `assignee` is None (unassign) or one of
    `assignee_choices`."""
    if assignee is None:
        return
    if not assignee_choices(actor=actor, ticket=ticket).filter(pk=assignee.pk).exists():
        raise Refused(
            gettext("%(name)s is not an active agent of the queue %(queue)s.")
            % {"name": assignee.display_name, "queue": ticket.queue.name},
            field=field,
            code="invalid_assignee",
        )


# --- queue moves and escalation ----------------------------------------------------


def queue_choices(*, actor: Any, ticket: Ticket) -> QuerySet[Queue]:
    """The queues `actor` may move `ticket` to: any active queue they work
    in (managers and admins: every active queue), and, for an escalation
    between the functions (docs/access-control.md), any active queue of the other kind; a
    support agent is rarely a member of the service queues. A same-kind
    queue they do not work in is refused."""
    own = selectors.queue_list_for_user(user=actor)
    if getattr(actor, "is_manager_role", False) or not getattr(actor, "is_staff_role", False):
        return own
    return Queue.objects.filter(Q(pk__in=own.values("pk")) | ~Q(kind=ticket.kind), is_active=True)


def queue_choice_rows(*, actor: Any, ticket: Ticket) -> list[tuple[int, str]]:
    """The properties panel's queue select as (id, name) pairs by name: the
    ticket's own queue and `queue_choices`, the statement written out (read
    on every view of the ticket page; compiling the ORM statement cost
    ~0.8 ms of CPU, docs/workspace-ticket-page.md, "Sixth round"). Same
    rule as `queue_choices`, compared on random data by
    tests/workspace/test_ticket_page_reads.py; a posted queue is still
    checked by `queue_check`."""
    from django.db import connection

    from tickets.models import QueueMembership

    qn = connection.ops.quote_name
    queues, members = qn(Queue._meta.db_table), qn(QueueMembership._meta.db_table)
    params: list[Any] = [ticket.queue_id]
    if getattr(actor, "is_manager_role", False):
        allowed = f"{qn('is_active')}"
    elif getattr(actor, "is_staff_role", False):
        # An agent: the active queues they work in, and any active queue of
        # the other kind (an escalation between the functions).
        mine = f"SELECT {qn('queue_id')} FROM {members} WHERE {qn('user_id')} = %s"  # noqa: S608 (names from the models)
        allowed = f"{qn('is_active')} AND ({qn('id')} IN ({mine}) OR NOT ({qn('kind')} = %s))"
        params += [actor.pk, ticket.kind]
    else:
        allowed = "FALSE"
    sql = (
        f"SELECT {qn('id')}, {qn('name')} FROM {queues}"  # noqa: S608 (names from the models; values are parameters)
        f" WHERE {qn('id')} = %s OR ({allowed}) ORDER BY {qn('name')} ASC"
    )
    return [(pk, name) for pk, name in selectors.rows_read(sql, params)]


def queue_check(*, actor: Any, ticket: Ticket, queue: Queue | None, field: str) -> Queue:
    """Raises Refused(field) unless `queue` is one of `queue_choices`."""
    if queue is None or not queue_choices(actor=actor, ticket=ticket).filter(pk=queue.pk).exists():
        raise Refused(
            gettext("No such queue among those you may move this ticket to (your queues, or one of the other kind)."),
            field=field,
            code="invalid_queue",
        )
    return queue


# --- ticket operations (issue #14): who may act, on which second ticket -------------


def staff_check(*, actor: Any) -> None:
    """Ticket operations (link, CCs, spam, split, properties) are staff
    work. Raises PermissionDenied (403) for anyone else."""
    from helpdesk.lib.exceptions import PermissionDenied

    if not getattr(actor, "is_staff_role", False):
        raise PermissionDenied(gettext("Only agents and managers can do this."))


def delete_check(*, actor: Any) -> None:
    """Deleting a ticket, and bringing one back from the trash, is for
    managers and admins: it removes the ticket from every list and metric,
    for everyone. Marking spam (and undoing it) is any agent's."""
    from helpdesk.lib.exceptions import PermissionDenied

    if not getattr(actor, "is_manager_role", False):
        raise PermissionDenied(gettext("Only managers and admins can delete tickets or restore deleted ones."))


def related_target_get(*, actor: Any, target_id: Any, field: str, ticket: Ticket) -> Ticket:
    """The second ticket of a link or unlink: one `actor` may see (a link
    shows its number and subject on both pages), not the ticket itself.

    Raises Refused(field) for a missing, unseen or identical target."""
    try:
        target = selectors.ticket_get_for_user(user=actor, ticket_id=target_id)
    except Http404:
        raise Refused(
            gettext("There is no ticket #%s that you can see.") % target_id, field=field, code="not_found"
        ) from None
    if target.pk == ticket.pk:
        raise Refused(gettext("A ticket cannot be linked to itself."), field=field, code="invalid_link")
    return target


def cc_users_get(*, emails: list[str], field: str) -> list[User]:
    """The active people behind `emails` (a CC sees the ticket and its
    public replies, so only known, active accounts may be added; the mail
    path creates accounts for Cc addresses, agents do not).

    Raises Refused(field) naming the first unknown address."""
    from django.conf import settings

    wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()))
    limit = int(getattr(settings, "HELPDESK_MAIL_MAX_CCS", 20))
    if len(wanted) > limit:
        raise Refused(gettext("At most %s CCs.") % limit, field=field, code="too_many_ccs")
    match = Q(pk__in=[])
    for email in wanted:
        match |= Q(email__iexact=email)
    found = {u.email.lower(): u for u in User.objects.filter(match, is_active=True)}
    for email in wanted:
        if email not in found:
            raise Refused(gettext("No active user with the address %s.") % email, field=field, code="unknown_cc")
    return [found[e] for e in wanted]
