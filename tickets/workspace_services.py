"""Agent workspace writes: bulk actions, saved views, presence (collision
notice) and handle-time work sessions (docs/metrics.md M9, §6.5).

Presence and open work sessions live in the Django cache (Redis in
production, locmem in the embedded default) with TTLs; any cache failure
degrades silently (no notice, the session is recorded at the next chance).
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from helpdesk.lib.cache import REDIS_DOWN_ERRORS
from helpdesk.lib.exceptions import ApplicationError
from tickets import policy, selectors, services
from tickets.models import SavedView, Ticket

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30
SESSION_IDLE_SECONDS = 120
SESSION_MAX = timedelta(hours=4)
PRESENCE_TTL = 45  # > one heartbeat interval


# --- Bulk actions -------------------------------------------------------------

BULK_ACTIONS = ("update", "assign", "status", "priority", "tag", "merge")
BULK_BATCH = 200
BULK_MATCHING_MAX = 5000


@dataclass(frozen=True)
class BulkResult:
    ticket_id: int
    ok: bool
    message: str
    found: bool = True


def tickets_bulk_apply(*, user: User, ticket_ids: list[int], action: str, value: Any) -> list[BulkResult]:
    """Apply one action to each ticket through its service, each in its own
    transaction: a refused move on one ticket is reported and the others go
    on. Tickets the user may not see are reported as not found.

    Every other object the action touches is checked by `tickets.policy`
    too: the merge target once, up front (raises policy.Refused on the
    `merge_target` field), the assignee against each ticket's queue."""
    if action not in BULK_ACTIONS:
        raise ApplicationError(gettext("Unknown bulk action '%s'.") % action, code="invalid_action")
    if action == "merge":
        value = policy.merge_target_get(actor=user, target_id=value, field="merge_target").pk
    visible = set(selectors.ticket_list_for_user(user=user).filter(pk__in=ticket_ids).values_list("pk", flat=True))
    results: list[BulkResult] = []
    for pk in dict.fromkeys(ticket_ids):
        if pk not in visible:
            results.append(BulkResult(pk, False, gettext("not found"), found=False))
            continue
        try:
            results.append(BulkResult(pk, True, _bulk_one(user=user, ticket_id=pk, action=action, value=value)))
        except ApplicationError as exc:
            results.append(BulkResult(pk, False, exc.message))
    return results


def tickets_bulk_apply_matching(
    *, user: User, tickets: "QuerySet[Ticket]", action: str, value: Any, limit: int = BULK_MATCHING_MAX
) -> tuple[list[BulkResult], bool]:
    """`tickets_bulk_apply` over every ticket of `tickets` (the list's
    query, already narrowed to what `user` may see), walked in id order in
    batches of BULK_BATCH: an update that takes a ticket out of the list
    cannot make the walk skip or repeat one. Each batch goes through
    `tickets_bulk_apply`, which re-checks every ticket against the access
    rule. Returns (results, truncated): at most `limit` tickets are done.
    Merge is refused (it needs a confirmed, explicit selection)."""
    if action == "merge":
        raise policy.Refused(gettext("Merge works on selected tickets only."), field="scope")
    results: list[BulkResult] = []
    last = 0
    while len(results) < limit:
        size = min(BULK_BATCH, limit - len(results))
        ids = list(tickets.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return results, False
        results += tickets_bulk_apply(user=user, ticket_ids=ids, action=action, value=value)
        last = ids[-1]
    return results, tickets.filter(pk__gt=last).exists()


def _bulk_update(*, user: User, ticket_id: int, changes: dict[str, Any]) -> str:
    """Every chosen property of one ticket, all or nothing (one
    transaction; each service writes its own event). The queue moves
    first so the assignee is checked against the ticket's new queue; the
    status moves last (a solved ticket refuses no other change)."""
    done: list[str] = []
    with transaction.atomic():
        ticket = Ticket.objects.select_related("queue").get(pk=ticket_id)
        if "queue" in changes and changes["queue"].pk != ticket.queue_id:
            queue = policy.queue_check(actor=user, ticket=ticket, queue=changes["queue"], field="queue")
            if queue.kind != ticket.kind:
                services.ticket_escalate(ticket_id=ticket_id, queue=queue, actor=user, reason="bulk action")
            else:
                services.ticket_move_queue(ticket_id=ticket_id, queue=queue, actor=user, reason="bulk action")
            ticket = Ticket.objects.select_related("queue").get(pk=ticket_id)
            done.append(gettext("moved to %s") % queue.name)
        if "assignee" in changes:
            assignee = changes["assignee"]
            if assignee is None or assignee.pk != ticket.assignee_id:
                policy.assignee_check(actor=user, ticket=ticket, assignee=assignee, field="assignee")
                services.ticket_assign(ticket_id=ticket_id, assignee=assignee, actor=user, reason="bulk action")
            done.append(_assigned_to(assignee))
        if "priority" in changes:
            if changes["priority"] != ticket.priority:
                services.ticket_set_priority(ticket_id=ticket_id, priority=changes["priority"], actor=user)
            done.append(gettext("priority %s") % Ticket.Priority(changes["priority"]).label)
        if changes.get("tags"):
            services.ticket_tag(ticket_id=ticket_id, actor=user, add=list(changes["tags"]))
            done.append(gettext("tagged %s") % ", ".join(changes["tags"]))
        if "status" in changes:
            if changes["status"] != ticket.status:
                services.ticket_transition(
                    ticket_id=ticket_id, target=changes["status"], actor=user, note="bulk action"
                )
            done.append(gettext("status %s") % Ticket.Status(changes["status"]).label)
    return "; ".join(done)


def _assigned_to(assignee: User | None) -> str:
    if assignee is None:
        return gettext("assigned to nobody")
    return gettext("assigned to %s") % assignee.display_name


def _bulk_one(*, user: User, ticket_id: int, action: str, value: Any) -> str:
    if action == "update":
        return _bulk_update(user=user, ticket_id=ticket_id, changes=value)
    if action == "status":
        services.ticket_transition(ticket_id=ticket_id, target=value, actor=user, note="bulk action")
        return gettext("status set to %s") % Ticket.Status(value).label
    if action == "priority":
        services.ticket_set_priority(ticket_id=ticket_id, priority=value, actor=user)
        return gettext("priority set to %s") % Ticket.Priority(value).label
    if action == "tag":
        services.ticket_tag(ticket_id=ticket_id, actor=user, add=list(value))
        return gettext("tagged %s") % ", ".join(value)
    if action == "assign":
        assignee = value  # a User or None
        ticket = Ticket.objects.select_related("queue").get(pk=ticket_id)
        policy.assignee_check(actor=user, ticket=ticket, assignee=assignee, field="assignee")
        services.ticket_assign(ticket_id=ticket_id, assignee=assignee, actor=user, reason="bulk action")
        return _assigned_to(assignee)
    # merge: value is the target ticket id
    if ticket_id == value:
        return gettext("merge target")
    services.ticket_merge(source_id=ticket_id, target_id=value, actor=user)
    return gettext("merged into #%s") % (value,)


# --- Saved views --------------------------------------------------------------


def saved_view_create(*, owner: User, name: str, filters: dict[str, Any], sort: str, is_shared: bool) -> SavedView:
    name = name.strip()
    if not name:
        raise ApplicationError(gettext("Give the view a name."), code="name_required")
    if SavedView.objects.filter(owner=owner, name=name).exists():
        raise ApplicationError(gettext("You already have a view with this name."), code="duplicate_name")
    return SavedView.objects.create(owner=owner, name=name[:100], filters=filters, sort=sort, is_shared=is_shared)


def saved_view_delete(*, user: User, view_id: int) -> None:
    deleted, _ = SavedView.objects.filter(pk=view_id, owner=user).delete()
    if not deleted:
        raise ApplicationError(gettext("Only the owner can delete a view."), code="not_owner")


# --- Presence (collision notice) -----------------------------------------------


def _presence_key(ticket_id: int) -> str:
    return f"ws:presence:{ticket_id}"


def presence_touch(*, ticket_id: int, user: User, typing: bool, now: datetime | None = None) -> None:
    """Mark `user` as viewing (or typing on) the ticket for PRESENCE_TTL s."""
    now = now or timezone.now()
    try:
        entries = cache.get(_presence_key(ticket_id)) or {}
        entries = {k: v for k, v in entries.items() if now.timestamp() - v["at"] < PRESENCE_TTL}
        entries[str(user.pk)] = {"name": user.display_name, "typing": bool(typing), "at": now.timestamp()}
        cache.set(_presence_key(ticket_id), entries, PRESENCE_TTL)
    except Exception:
        log.debug("presence unavailable", exc_info=True)


def presence_leave(*, ticket_id: int, user: User) -> None:
    try:
        entries = cache.get(_presence_key(ticket_id)) or {}
        entries.pop(str(user.pk), None)
        cache.set(_presence_key(ticket_id), entries, PRESENCE_TTL)
    except Exception:
        log.debug("presence unavailable", exc_info=True)


def presence_others(*, ticket_id: int, user: User, now: datetime | None = None) -> list[dict[str, Any]]:
    """Other agents on this ticket now: [{"name", "typing"}]; [] without a cache."""
    now = now or timezone.now()
    try:
        entries = cache.get(_presence_key(ticket_id)) or {}
    except Exception:
        return []
    return sorted(
        (
            {"name": v["name"], "typing": v["typing"]}
            for k, v in entries.items()
            if k != str(user.pk) and now.timestamp() - v["at"] < PRESENCE_TTL
        ),
        key=lambda e: e["name"],
    )


# --- Handle time: work sessions -----------------------------------------------------

OPEN_INDEX_KEY = "ws:sessions:open"
INDEX_TTL = 6 * 3600


def _session_key(user_id: int, ticket_id: int) -> str:
    return f"ws:session:{user_id}:{ticket_id}"


def _index_update(key: str, last: float | None) -> None:
    index = cache.get(OPEN_INDEX_KEY) or {}
    if last is None:
        index.pop(key, None)
    else:
        index[key] = last
    cache.set(OPEN_INDEX_KEY, index, INDEX_TTL)


def _record(user_id: int, ticket_id: int, started: float, ended: float) -> bool:
    """Write the work_session.recorded event (capped at 4 h); False if empty."""
    start = datetime.fromtimestamp(started, tz=UTC)
    end = datetime.fromtimestamp(ended, tz=UTC)
    end = min(end, start + SESSION_MAX)
    if end <= start:
        return False
    agent = User.objects.get(pk=user_id)
    try:
        services.work_session_record(ticket_id=ticket_id, agent=agent, started_at=start, ended_at=end)
    except (ApplicationError, Ticket.DoesNotExist):
        return False
    return True


def work_heartbeat(
    *, ticket_id: int, user: User, active: bool, final: bool = False, now: datetime | None = None
) -> str:
    """One heartbeat from the ticket page. Returns what happened:
    "started", "extended", "recorded" (a session ended and was written),
    "idle" (nothing open, page not active) or "unavailable" (no cache).

    - active: the page is visible and had input recently; extends (or starts)
      the session. A gap over 120 s closes the old session at its last
      heartbeat and starts a new one. A session reaching 4 h is written
      and a new one starts.
    - final (page hidden/unload beacon): closes the session now.
    """
    if not user.is_staff_role:
        return "idle"
    now_ts = (now or timezone.now()).timestamp()
    try:
        return _work_heartbeat(ticket_id=ticket_id, user=user, active=active, final=final, now_ts=now_ts)
    except REDIS_DOWN_ERRORS:  # Redis went away mid-way: the page must not fail
        log.debug("work session unavailable", exc_info=True)
        return "unavailable"


def _work_heartbeat(*, ticket_id: int, user: User, active: bool, final: bool, now_ts: float) -> str:
    key = _session_key(user.pk, ticket_id)
    session = cache.get(key)
    outcome = "idle"
    if session and (now_ts - session["last"] > SESSION_IDLE_SECONDS):
        _record(user.pk, ticket_id, session["started"], session["last"])
        session, outcome = None, "recorded"
    if session and now_ts - session["started"] >= SESSION_MAX.total_seconds():
        _record(user.pk, ticket_id, session["started"], now_ts)
        session, outcome = None, "recorded"
    if final:
        if session:
            ended = now_ts if active else session["last"]
            _record(user.pk, ticket_id, session["started"], max(ended, session["last"]))
            outcome = "recorded"
        cache.delete(key)
        _index_update(key, None)
        return outcome
    if not active:
        return outcome
    if session:
        session["last"] = now_ts
        outcome = "extended" if outcome == "idle" else outcome
    else:
        session = {"started": now_ts, "last": now_ts}
        outcome = "started" if outcome == "idle" else outcome
    cache.set(key, session, INDEX_TTL)
    _index_update(key, now_ts)
    return outcome


def work_sessions_close_idle(*, now: datetime | None = None) -> int:
    """Periodic: write every open session idle for over 120 s. Returns count."""
    now_ts = (now or timezone.now()).timestamp()
    closed = 0
    try:
        index = cache.get(OPEN_INDEX_KEY) or {}
        for key in list(index):
            closed += _session_close_if_idle(key, now_ts)
    except REDIS_DOWN_ERRORS:  # the rest waits for the next run
        log.warning("work sessions: cache unavailable", exc_info=True)
    return closed


def _session_close_if_idle(key: str, now_ts: float) -> int:
    """1 if the session under `key` was idle and is now written, else 0."""
    session = cache.get(key)
    if session is None:
        _index_update(key, None)
        return 0
    if now_ts - session["last"] <= SESSION_IDLE_SECONDS:
        return 0
    _, _, user_id, ticket_id = key.split(":")
    # Claim it: a concurrent heartbeat may be closing the same session.
    if not cache.add(f"{key}:closing", 1, 30):
        return 0
    cache.delete(key)
    _index_update(key, None)
    return int(_record(int(user_id), int(ticket_id), session["started"], session["last"]))


# --- Tickets on behalf of a customer ----------------------------------------------


class CustomerNotFound(ApplicationError):
    code = "customer_not_found"
    status_code = 400


def customer_get_or_create(*, email: str, name: str = "", create: bool) -> User:
    """The active person with this e-mail, or (with `create`) a new
    customer without a password (they log in by e-mail link or reset).
    Raises CustomerNotFound; staff addresses are found, never created."""
    email = User.objects.normalize_email(email.strip())
    found = User.objects.filter(email__iexact=email).first()
    if found is not None:
        if not found.is_active:
            raise CustomerNotFound(gettext("This account is deactivated."))
        return found
    if not create:
        raise CustomerNotFound(gettext("No customer with this e-mail. Tick “Create the customer” to add one."))
    user = User(email=email, username=email, name=name.strip()[:200], role=User.Role.CUSTOMER)
    user.set_unusable_password()
    user.save()
    return user


@transaction.atomic
def ticket_create_on_behalf(
    *,
    agent: User,
    requester_email: str,
    requester_name: str = "",
    create_customer: bool = False,
    queue: Any,
    subject: str,
    body: str,
    priority: str,
    how: str,
) -> Ticket:
    """A ticket an agent opens for a customer (the same service as the
    API's `requester_email`): a phone call (channel phone, New) or an
    outbound follow-up (channel agent, service queue, Pending: we already
    wrote to them, now their answer is awaited). The queue must be one the agent works in.

    Raises CustomerNotFound, policy.Refused (queue), ApplicationError."""
    if not selectors.queue_list_for_user(user=agent).filter(pk=queue.pk).exists():
        raise policy.Refused(gettext("No such queue among yours."), field="queue")
    requester = customer_get_or_create(email=requester_email, name=requester_name, create=create_customer)
    outbound = how == "outbound"
    return services.ticket_create(
        subject=subject,
        body=body,
        queue=queue,
        requester=requester,
        actor=agent,
        channel=Ticket.Channel.AGENT if outbound else Ticket.Channel.PHONE,
        priority=priority,
        status=Ticket.Status.PENDING if outbound else Ticket.Status.NEW,
    )


def customer_search(*, query: str, limit: int = 10) -> list[User]:
    """Customers whose e-mail or name contains `query` (the picker)."""
    from django.db.models import Q

    query = query.strip()
    if len(query) < 2:
        return []
    return list(
        User.objects.filter(Q(email__icontains=query) | Q(name__icontains=query), is_active=True)
        .filter(role=User.Role.CUSTOMER)
        .select_related("organisation")
        .order_by("name", "email")[:limit]
    )
