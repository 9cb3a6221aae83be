"""Reads of tickets, and access control: the one place that decides who sees
what. Pages, API, search, exports and notifications all go through here.
"""

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, connections, router
from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import User
from tickets.models import Message, Queue, QueueKind, QueueMembership, RequestType, Ticket, TicketEvent


def ticket_visibility_q(*, user: User) -> Q | None:
    """The predicate of tickets `user` may see; None means every ticket.

    - manager/admin: all tickets
    - agent: tickets in the queues they are a member of
    - customer: tickets they requested or are CC'd on, plus their
      organisation's tickets when the organisation shares tickets
    - anyone else (inactive/anonymous): nothing
    """
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_manager_role:
        return None
    if user.role == User.Role.AGENT:
        return Q(queue__in=_member_queue_ids(user))
    q = Q(requester=user) | _cc_q(user)
    if user.organisation_id and user.organisation and user.organisation.shares_tickets:
        q |= Q(organisation_id=user.organisation_id)
    return q


def ticket_visible_queue_ids(*, user: User) -> list[int] | None:
    """The queues that bound what `user` sees: an agent's queues (those of
    ticket_visibility_q, as a list); None when what they see is not bounded
    by queue (managers: everything; customers: by requester)."""
    if user.is_authenticated and user.is_active and not user.is_manager_role and user.role == User.Role.AGENT:
        return list(_member_queue_ids(user))
    return None


def _member_queue_ids(user: User) -> QuerySet[Queue, int]:
    """The queues an agent sees tickets in (both functions above)."""
    return Queue.objects.filter(members=user).values_list("pk", flat=True)


# A customer's CC'd tickets are read first (a customer has few): `requester =
# X OR id = ANY(...)` lets PostgreSQL OR two indexes, where the subquery form
# is estimated at half the table and walks the whole `ORDER BY` index
# (114 ms -> a few ms for "My requests" at 100k tickets).
CC_IDS_INLINE_MAX = 1000


def _cc_q(user: User) -> Q:
    through = Ticket.ccs.through.objects.filter(user_id=user.pk)
    ids = list(through.values_list("ticket_id", flat=True)[: CC_IDS_INLINE_MAX + 1])
    if len(ids) > CC_IDS_INLINE_MAX:
        return Q(pk__in=through.values("ticket_id"))
    return Q(pk__in=ids) if ids else Q(pk__in=[])


def ticket_list_for_user(*, user: Any, include_hidden: bool = False) -> QuerySet[Ticket]:
    """Tickets `user` may see. Spam and deleted tickets are hidden unless
    `include_hidden` (agents' trash and spam views)."""
    qs = Ticket.objects.select_related("queue", "requester", "assignee")
    q = ticket_visibility_q(user=user)
    if q is not None:
        qs = qs.filter(q)
    if not include_hidden or not getattr(user, "is_staff_role", False):
        qs = qs.filter(is_spam=False, is_deleted=False)
    return qs


def ticket_get_for_user(*, user: Any, ticket_id: int) -> Ticket:
    """The ticket if `user` may see it; Http404 otherwise (never 403)."""
    try:
        return ticket_list_for_user(user=user, include_hidden=True).get(pk=ticket_id)
    except (Ticket.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such ticket.") from None


def user_may_see_internal(*, user: Any) -> bool:
    """Internal notes and internal events are for staff only."""
    return bool(getattr(user, "is_authenticated", False) and user.is_staff_role)


def message_list_for_ticket(*, user: Any, ticket: Ticket) -> QuerySet[Message]:
    """Messages of the ticket (and of tickets merged into it) for `user`.

    Customers get public messages only, whatever the path.
    """
    # The ticket and those merged into it, in the same statement (a
    # sub-select on the primary key and the partial `merged_into` index).
    ticket_ids = Ticket.objects.filter(Q(pk=ticket.pk) | Q(merged_into=ticket.pk)).values("pk")
    qs = (
        Message.objects.filter(ticket_id__in=ticket_ids)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
    if not user_may_see_internal(user=user):
        qs = qs.filter(visibility=Message.Visibility.PUBLIC)
    return qs


# Event kinds a customer may see on their ticket's timeline.
CUSTOMER_EVENT_KINDS = (
    TicketEvent.Kind.CREATED,
    TicketEvent.Kind.STATUS,
    TicketEvent.Kind.MERGED_INTO,
    TicketEvent.Kind.MERGED_FROM,
)


def event_list_for_ticket(*, user: Any, ticket: Ticket) -> QuerySet[TicketEvent]:
    """The ticket's timeline events for `user`; customers see a safe subset."""
    qs = TicketEvent.objects.filter(ticket=ticket).select_related("actor").order_by("occurred_at", "id")
    if not user_may_see_internal(user=user):
        qs = qs.filter(kind__in=CUSTOMER_EVENT_KINDS).exclude(visibility=Message.Visibility.INTERNAL)
    return qs


def linked_ticket_ids(*, ticket_id: int) -> list[int]:
    """Ids of the tickets linked to `ticket_id`, whoever may see them: no
    access control, callers filter through ticket_list_for_user."""
    from django.db import connections, router

    through = Ticket.related.through
    table = through._meta.db_table
    with connections[router.db_for_read(through)].cursor() as cursor:
        cursor.execute(f'SELECT "to_ticket_id" FROM "{table}" WHERE "from_ticket_id" = %s', [ticket_id])  # noqa: S608 (table name from the model)
        return [row[0] for row in cursor.fetchall()]


def ticket_requester_other_tickets(*, user: Any, ticket: Ticket, limit: int = 10) -> list[Ticket]:
    """The requester's `limit` newest other tickets that staff `user` may
    see (the ticket page's "Other requests from ..." card): id, subject,
    status and created_at only.

    Read per queue (agents: their member queues, as ticket_visibility_q;
    managers: every queue), each the newest `limit` of the requester in that
    queue from the partial index `ticket_requester_queue_created`, then
    merged. PostgreSQL reads at most `limit` + 1 visible rows per queue,
    however many tickets the requester has elsewhere: walking the requester's
    tickets newest first through the queue filter read every one of them
    when the agent's queues held none (bench/TICKET_PAGE.md, "Fourth round").
    """
    if not (user.is_manager_role or user.role == User.Role.AGENT):
        return []  # staff pages only; customers never reach the card
    if connection.vendor != "postgresql":
        return list(
            ticket_list_for_user(user=user)
            .filter(requester_id=ticket.requester_id)
            .exclude(pk=ticket.pk)
            .order_by("-created_at", "-id")
            .select_related(None)  # the list's joins: only() drops their columns
            .only("pk", "subject", "status", "created_at")[:limit]
        )
    qn = connection.ops.quote_name
    tickets = qn(Ticket._meta.db_table)
    if user.is_manager_role:
        queues = f"SELECT {qn('id')} AS {qn('queue_id')} FROM {qn(Queue._meta.db_table)}"  # noqa: S608
        params: list[Any] = []
    else:
        queues = f"SELECT {qn('queue_id')} FROM {qn(QueueMembership._meta.db_table)} WHERE {qn('user_id')} = %s"  # noqa: S608
        params = [user.pk]
    # Names from the models; every value is a parameter.
    sql = (
        f"SELECT t.{qn('id')}, t.{qn('subject')}, t.{qn('status')}, t.{qn('created_at')} FROM ({queues}) q"  # noqa: S608
        f" CROSS JOIN LATERAL (SELECT {qn('id')}, {qn('subject')}, {qn('status')}, {qn('created_at')}"
        f" FROM {tickets} WHERE {qn('requester_id')} = %s AND {qn('queue_id')} = q.{qn('queue_id')}"
        f" AND NOT {qn('is_spam')} AND NOT {qn('is_deleted')} AND {qn('id')} <> %s"
        f" ORDER BY {qn('created_at')} DESC, {qn('id')} DESC LIMIT %s) t"
        f" ORDER BY t.{qn('created_at')} DESC, t.{qn('id')} DESC LIMIT %s"
    )
    return list(Ticket.objects.raw(sql, [*params, ticket.requester_id, ticket.pk, limit, limit]))


def attachment_get_for_user(*, user: Any, attachment_id: int | str) -> Any:
    """An attachment if `user` may see its message; Http404 otherwise."""
    from tickets.models import Attachment

    try:
        att = Attachment.objects.select_related("message").get(pk=attachment_id)
    except (Attachment.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such file.") from None
    ticket = ticket_get_for_user(user=user, ticket_id=att.message.ticket_id)
    del ticket
    if att.message.visibility != Message.Visibility.PUBLIC and not user_may_see_internal(user=user):
        raise Http404("No such file.")
    return att


def queue_list_for_user(*, user: Any) -> QuerySet[Queue]:
    if user.is_manager_role:
        return Queue.objects.filter(is_active=True)
    if user.role == User.Role.AGENT:
        return Queue.objects.filter(is_active=True, members=user)
    return Queue.objects.none()


def queue_rows_for_user(*, user: Any) -> list[Queue]:
    """`queue_list_for_user`'s queues, the statement written out: the agent
    list and its 30-s counts poll read them every time, and compiling the
    ORM query cost more CPU than running it (~0.5 ms). Same rule, rows and
    order (tests/workspace/test_render_cost.py compares the two)."""
    if not (user.is_manager_role or user.role == User.Role.AGENT):
        return []
    qn = connection.ops.quote_name
    table = qn(Queue._meta.db_table)
    sql = f"SELECT {table}.* FROM {table}"  # noqa: S608 (names from the models; values are parameters)
    params: list[Any] = []
    if not user.is_manager_role:
        members = qn(QueueMembership._meta.db_table)
        sql += f" INNER JOIN {members} ON {members}.{qn('queue_id')} = {table}.{qn('id')}"
        sql += f" WHERE {members}.{qn('user_id')} = %s AND {table}.{qn('is_active')} = %s"
        params += [user.pk, True]
    else:
        sql += f" WHERE {table}.{qn('is_active')} = %s"
        params.append(True)
    return list(Queue.objects.raw(f"{sql} ORDER BY {table}.{qn('name')} ASC", params))


def agent_list_for_queues(queue_ids: list[int]) -> list[User]:
    """The active staff who are members of any of `queue_ids` (the list's
    assignee choices), by name then e-mail, with pk, name and e-mail only;
    written out like `queue_rows_for_user` (read on every list page)."""
    if not queue_ids:
        return []
    qn = connection.ops.quote_name
    roles = [str(role) for role in User.STAFF_ROLES]
    users, members = qn(User._meta.db_table), qn(QueueMembership._meta.db_table)
    # Names from the models; every value is a parameter.
    sql = (
        f"SELECT DISTINCT {users}.{qn('id')}, {users}.{qn('name')}, {users}.{qn('email')} FROM {users}"  # noqa: S608
        f" INNER JOIN {members} ON {members}.{qn('user_id')} = {users}.{qn('id')}"
        f" WHERE {members}.{qn('queue_id')} IN ({', '.join(['%s'] * len(queue_ids))})"
        f" AND {users}.{qn('is_active')} = %s AND {users}.{qn('role')} IN ({', '.join(['%s'] * len(roles))})"
        f" ORDER BY {users}.{qn('name')} ASC, {users}.{qn('email')} ASC"
    )
    return list(User.objects.raw(sql, [*queue_ids, True, *roles]))


# --- Pages (keyset pagination) -------------------------------------------
# Lists are ordered by (updated_at desc, id desc) and paged with an opaque
# cursor holding the last row's sort key: `WHERE (updated_at, id) < (...)`
# walks the index (see Ticket.Meta.indexes), never an OFFSET scan.

AGENT_VIEWS = ("all", "mine", "unassigned")
STATUS_FILTER_UNSOLVED = "unsolved"


@dataclass(frozen=True)
class TicketPage:
    items: list[Any]  # Ticket, or PortalRow
    next_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def cursor_encode(ticket: Ticket) -> str:
    raw = json.dumps([ticket.updated_at.isoformat(), ticket.pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(cursor: str | None) -> tuple[datetime, int] | None:
    """The (updated_at, id) in a cursor; None for a missing or garbled one."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, pk = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None or not isinstance(pk, int):
            return None
        return at, pk
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


def ticket_page(
    qs: QuerySet[Ticket],
    *,
    cursor: str | None,
    limit: int,
    fetch: Callable[[QuerySet[Ticket]], list[Any]] = list,
) -> TicketPage:
    """One keyset page of `qs` by (updated_at desc, id desc); `fetch` turns
    the sliced queryset into the items (default: the tickets)."""
    limit = max(1, min(limit, 200))
    position = cursor_decode(cursor)
    if position is not None:
        at, pk = position
        qs = qs.filter(Q(updated_at__lt=at) | Q(updated_at=at, pk__lt=pk))
    rows = fetch(qs.order_by("-updated_at", "-id")[: limit + 1])
    items = rows[:limit]
    next_cursor = cursor_encode(items[-1]) if len(rows) > limit else None
    return TicketPage(items=items, next_cursor=next_cursor)


def ticket_page_for_agent(
    *, user: Any, filters: Mapping[str, Any], cursor: str | None = None, limit: int = 50
) -> TicketPage:
    """A page of the tickets `user` may see, filtered for the agent list.

    filters: view (all|mine|unassigned), queue (id), status (a status or
    "unsolved"), kind. Unknown values are ignored rather than erroring.
    Customers get an empty page (they never reach the agent list).
    """
    if not getattr(user, "is_staff_role", False):
        return TicketPage(items=[], next_cursor=None)
    qs = ticket_list_for_user(user=user)
    view = filters.get("view") or "all"
    if view == "mine":
        qs = qs.filter(assignee=user)
    elif view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    queue_id = filters.get("queue")
    if queue_id:
        qs = qs.filter(queue_id=queue_id)
    status = filters.get("status")
    if status == STATUS_FILTER_UNSOLVED:
        qs = qs.filter(status__in=Ticket.UNSOLVED)
    elif status in Ticket.Status.values:
        qs = qs.filter(status=status)
    kind = filters.get("kind")
    if kind in QueueKind.values:
        qs = qs.filter(kind=kind)
    return ticket_page(qs, cursor=cursor, limit=limit)


def ticket_page_for_customer(*, user: Any, cursor: str | None = None, limit: int = 25) -> TicketPage:
    """My requests: own, CC'd and (when shared) organisation tickets."""
    return ticket_page(ticket_list_for_user(user=user), cursor=cursor, limit=limit)


@dataclass(slots=True)
class PortalRow:
    """What a row of "My requests" shows, read as plain values."""

    pk: int
    subject: str
    status: str
    requester_id: int
    requester_name: str  # display name: name, else e-mail
    updated_at: datetime


def _portal_rows(qs: QuerySet[Ticket]) -> list[PortalRow]:
    names = ("id", "subject", "status", "requester_id", "requester__name", "requester__email", "updated_at")
    return [
        PortalRow(pk=v[0], subject=v[1], status=v[2], requester_id=v[3], requester_name=v[4] or v[5], updated_at=v[6])
        for v in qs.values_list(*names)
    ]


def ticket_rows_page_for_customer(*, user: Any, cursor: str | None = None, limit: int = 25) -> TicketPage:
    """`ticket_page_for_customer` as PortalRows: the same visibility, order
    and pages, the row's columns only (no ticket, queue, requester and
    assignee instances: docs/portal.md)."""
    return ticket_page(ticket_list_for_user(user=user), cursor=cursor, limit=limit, fetch=_portal_rows)


def request_type_list_active() -> QuerySet[RequestType]:
    """What a customer may pick on the portal, in display order."""
    return RequestType.objects.filter(is_active=True, queue__is_active=True).select_related("queue")


def user_names_by_id(*, ids: Iterable[int]) -> dict[int, str]:
    """Display names for the people an event log mentions (one query)."""
    wanted = {i for i in ids if isinstance(i, int)}
    if not wanted:
        return {}
    return {u.pk: u.display_name for u in User.objects.filter(pk__in=wanted).only("pk", "name", "email")}


def queue_names_by_id(*, ids: Iterable[int]) -> dict[int, str]:
    wanted = {i for i in ids if isinstance(i, int)}
    if not wanted:
        return {}
    return dict(Queue.objects.filter(pk__in=wanted).values_list("pk", "name"))


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    message: Message | None = None
    event: TicketEvent | None = None


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    people: dict[int, str]  # user id -> display name, for event sentences
    queues: dict[int, str]  # queue id -> name
    # The newest event id among those read (staff: the ticket's newest event,
    # the live page's marker, read with what it marks: docs/live-updates.md).
    last_event_id: int = 0


Hydrator = tuple[str, int, Callable[[tuple[Any, ...], str], Any]]
_HYDRATORS: dict[str, Hydrator] = {}


def _hydrator(model: type[Any]) -> Hydrator:
    """(column list, width, (row, db alias) -> instance) for `model`'s
    concrete fields: what the ORM's select does for a model (its converters
    applied, e.g. a JSONField's decoding), without compiling a statement.
    Made once per model and process."""
    label = model._meta.label
    if label not in _HYDRATORS:
        _HYDRATORS[label] = _hydrator_make(model)
    return _HYDRATORS[label]


def _hydrator_make(model: type[Any]) -> Hydrator:
    fields = model._meta.concrete_fields
    table = model._meta.db_table
    columns = ", ".join(f"{connection.ops.quote_name(table)}.{connection.ops.quote_name(f.column)}" for f in fields)
    # Field converters only (the database backend adds none for these
    # columns on PostgreSQL or SQLite; tests compare with the ORM's read).
    converters = [(i, f.get_db_converters(connection), f.get_col(table)) for i, f in enumerate(fields)]
    converters = [c for c in converters if c[1]]
    attnames = [f.attname for f in fields]

    def build(values: tuple[Any, ...], db: str) -> Any:
        if converters:
            row = list(values)
            for i, funcs, col in converters:
                for func in funcs:
                    row[i] = func(row[i], col, connections[db])
            values = tuple(row)
        return model.from_db(db, attnames, values)

    return columns, len(fields), build


def _read_with_user(model: type[Any], fk: str, where: str, params: list[Any], order: str) -> list[Any]:
    """`model` rows with their `fk` user joined, as `select_related(fk)`
    reads them (LEFT OUTER JOIN: the user may be null), the statement
    written out, on the connection the ORM would read from; `where` and
    `order` name the model's table."""
    columns, width, build = _hydrator(model)
    user_columns, _, build_user = _hydrator(User)
    qn = connection.ops.quote_name
    table, users = qn(model._meta.db_table), qn(User._meta.db_table)
    field = model._meta.get_field(fk)
    sql = (
        f"SELECT {columns}, {user_columns} FROM {table} LEFT OUTER JOIN {users}"  # noqa: S608 (names from the models)
        f" ON ({table}.{qn(field.column)} = {users}.{qn('id')}) WHERE {where} ORDER BY {order}"
    )
    db = router.db_for_read(model)
    out = []
    for row in rows_read(sql, params, db=db):
        obj = build(row[:width], db)
        field.set_cached_value(obj, build_user(row[width:], db) if row[width] is not None else None)
        out.append(obj)
    return out


def timeline_messages(*, user: Any, ticket: Ticket) -> list[Message]:
    """`message_list_for_ticket` read (author and attachments included),
    the statement written out: the ticket page reads it on every view and
    compiling it cost more CPU than running it (docs/workspace-ticket-page.md,
    "Sixth round"). Same rule: customers get public messages only.
    tests/workspace/test_ticket_page_reads.py compares the two."""
    from django.db.models import prefetch_related_objects

    qn = connection.ops.quote_name
    table, tickets = qn(Message._meta.db_table), qn(Ticket._meta.db_table)
    where = (
        f"{table}.{qn('ticket_id')} IN (SELECT {qn('id')} FROM {tickets}"  # noqa: S608 (names from the models)
        f" WHERE ({qn('id')} = %s OR {qn('merged_into_id')} = %s))"
    )
    params: list[Any] = [ticket.pk, ticket.pk]
    if not user_may_see_internal(user=user):
        where += f" AND {table}.{qn('visibility')} = %s"
        params.append(str(Message.Visibility.PUBLIC))
    order = f"{table}.{qn('created_at')} ASC, {table}.{qn('id')} ASC"
    messages = _read_with_user(Message, "author", where, params, order)
    prefetch_related_objects(messages, "attachments")
    return messages


def timeline_events(*, user: Any, ticket: Ticket) -> list[TicketEvent]:
    """`event_list_for_ticket` read (actor included), the statement written
    out like `timeline_messages`. Same rule: customers get the safe kinds
    and no internal event."""
    qn = connection.ops.quote_name
    table = qn(TicketEvent._meta.db_table)
    where = f"{table}.{qn('ticket_id')} = %s"
    params: list[Any] = [ticket.pk]
    if not user_may_see_internal(user=user):
        kinds = [str(kind) for kind in CUSTOMER_EVENT_KINDS]
        where += f" AND {table}.{qn('kind')} IN ({', '.join(['%s'] * len(kinds))})"
        where += f" AND NOT ({table}.{qn('visibility')} = %s)"
        params += [*kinds, str(Message.Visibility.INTERNAL)]
    order = f"{table}.{qn('occurred_at')} ASC, {table}.{qn('id')} ASC"
    return _read_with_user(TicketEvent, "actor", where, params, order)


def ticket_timeline_for_user(*, user: Any, ticket: Ticket) -> Timeline:
    """Messages and events of the ticket in time order, as `user` may see them.

    Message events are folded into their message. Customers get public
    messages and the customer-safe event kinds only (see the two selectors
    above, read by `timeline_messages` and `timeline_events`); staff see
    everything, internal notes included.
    """
    messages = timeline_messages(user=user, ticket=ticket)
    read = timeline_events(user=user, ticket=ticket)
    events = [e for e in read if e.kind != TicketEvent.Kind.MESSAGE]
    entries = [TimelineEntry(at=m.created_at, message=m) for m in messages]
    entries += [TimelineEntry(at=e.occurred_at, event=e) for e in events]
    # Events before messages at the same instant: "created" precedes the
    # description, a reopen follows the reply that caused it.
    entries.sort(key=lambda x: (x.at, 0 if x.event and x.event.kind == TicketEvent.Kind.CREATED else 1))
    person_ids: set[int] = set()
    queue_ids: set[int] = set()
    for e in events:
        if e.kind == TicketEvent.Kind.ASSIGNEE:
            person_ids.update(v for v in (e.data.get("from"), e.data.get("to")) if isinstance(v, int))
        elif e.kind == TicketEvent.Kind.QUEUE:
            queue_ids.update(v for v in (e.data.get("from"), e.data.get("to")) if isinstance(v, int))
    return Timeline(
        entries=entries,
        people=user_names_by_id(ids=person_ids),
        queues=queue_names_by_id(ids=queue_ids),
        last_event_id=max((e.pk for e in read), default=0),
    )


def assignee_list_for_ticket(*, user: Any, ticket: Ticket) -> QuerySet[User]:
    """Who `user` may assign the ticket to: the queue's members, plus
    themselves (a manager may take a ticket outside their queues)."""
    # `id IN (members UNION me)`: PostgreSQL reads the few ids, then each
    # user by primary key. The join form (`queues = q OR id = me`, DISTINCT)
    # scanned every user (customers included: 2.6 ms, 737 buffers at 100k
    # tickets, growing with the customers; bench/TICKET_PAGE.md).
    ids = QueueMembership.objects.filter(queue_id=ticket.queue_id).values("user_id")
    if getattr(user, "is_staff_role", False):
        ids = ids.union(User.objects.filter(pk=user.pk).values("pk"))
    return User.objects.filter(pk__in=ids, is_active=True, role__in=User.STAFF_ROLES).order_by("name", "email")


def rows_read(sql: str, params: list[Any], *, db: str | None = None) -> list[tuple[Any, ...]]:
    """A written-out read, on the connection the ORM reads from (a replica
    inside `use_replica()`, docs/scaling.md) unless `db` names one."""
    with connections[db or router.db_for_read(Ticket)].cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


def assignee_choice_rows(*, user: Any, ticket: Ticket) -> list[tuple[int, str]]:
    """`assignee_list_for_ticket` as (id, display name) pairs, the statement
    written out: the properties panel's assignee select, read on every view
    of the ticket page (compiling the ORM statement and building the users
    cost ~1 ms of CPU; docs/workspace-ticket-page.md, "Sixth round"). Same
    people, same order (tests/workspace/test_ticket_page_reads.py compares
    the two); the panel's validation still asks the queryset."""
    qn = connection.ops.quote_name
    users, members = qn(User._meta.db_table), qn(QueueMembership._meta.db_table)
    ids = f"SELECT {qn('user_id')} FROM {members} WHERE {qn('queue_id')} = %s"  # noqa: S608 (names from the models)
    params: list[Any] = [ticket.queue_id]
    if getattr(user, "is_staff_role", False):
        ids += " UNION SELECT %s"
        params.append(user.pk)
    roles = [str(role) for role in User.STAFF_ROLES]
    sql = (
        f"SELECT {qn('id')}, {qn('name')}, {qn('email')} FROM {users}"  # noqa: S608 (names from the models)
        f" WHERE {qn('id')} IN ({ids}) AND {qn('is_active')} AND {qn('role')} IN ({', '.join(['%s'] * len(roles))})"
        f" ORDER BY {qn('name')} ASC, {qn('email')} ASC"
    )
    return [(pk, name or email) for pk, name, email in rows_read(sql, [*params, *roles])]


def ticket_cc_emails(*, ticket_id: int) -> list[str]:
    """The CCs' addresses in address order (the properties panel's CC field)."""
    qn = connection.ops.quote_name
    users, ccs = qn(User._meta.db_table), qn(Ticket.ccs.through._meta.db_table)
    sql = (
        f"SELECT u.{qn('email')} FROM {users} u INNER JOIN {ccs} c ON c.{qn('user_id')} = u.{qn('id')}"  # noqa: S608
        f" WHERE c.{qn('ticket_id')} = %s ORDER BY u.{qn('email')} ASC"
    )
    return [row[0] for row in rows_read(sql, [ticket_id])]


# Columns of TicketEvent the metrics engine reads (metrics.compute.Ev).
METRICS_EVENT_FIELDS = (
    "ticket_id",
    "id",
    "kind",
    "occurred_at",
    "actor_id",
    "actor_role",
    "visibility",
    "is_automated",
    "data",
)


def ticket_events_for_metrics(*, ticket_ids: Any) -> Any:
    """Event tuples (METRICS_EVENT_FIELDS) of the given tickets, in log order.

    No access control: for the metrics workers only, never for users.
    """
    return (
        TicketEvent.objects.filter(ticket_id__in=ticket_ids)
        .order_by("ticket_id", "occurred_at", "id")
        .values_list(*METRICS_EVENT_FIELDS)
    )


# --- Survey events with their attribution (docs/surveys.md, issue 22) --------

SURVEY_EVENT_FIELDS = (
    "ticket_id",
    "id",
    "kind",
    "occurred_at",
    "actor_id",
    "data",
    "survey",  # survey.offered: data.survey (default csat)
    "answered",  # survey.offered: the ticket has an answer to that survey (any time)
    "requester_id",  # data.requester_id of ticket.created before the event
    "kind_now",  # queue kind / id at the event (kind: NULL_KIND for a null value)
    "queue_now",
    "kind_res",  # ... at the last resolution before the event (NULL: none)
    "queue_res",
)


NULL_KIND = "~null~"


def _before(at: Any, pk: Any) -> Q:
    """Strictly earlier in log order (occurred_at, id) than (at, pk)."""
    return Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=pk)


def _after(at: Any, pk: Any) -> Q:
    return Q(occurred_at__gt=at) | Q(occurred_at=at, id__gt=pk)


def _survey_place_subqueries() -> dict[str, Any]:
    """Correlated subqueries on the outer event's ticket: the queue kind and id at the event
    and at the last resolution before it, and the requester (metrics.surveys.ticket_surveys)."""
    from django.db.models import BigIntegerField, Case, Exists, OuterRef, Subquery, TextField, Value, When
    from django.db.models.fields.json import KT
    from django.db.models.functions import Cast

    from tickets.workflow import UNSOLVED

    K, text = TicketEvent.Kind, TextField()
    same = {"ticket_id": OuterRef("ticket_id")}
    this = _before(OuterRef("occurred_at"), OuterRef("id"))
    kind_key = Q(kind=K.CREATED, data__has_key="kind") | Q(kind=K.QUEUE, data__has_key="to_kind")
    # A kind key holding null reads as NULL_KIND (no place event before: NULL; the walk's "").
    # (`data__kind=None` is JSON null; KT would read it as NULL on PostgreSQL, "null" on SQLite.)
    kind_val = Case(
        When(kind=K.CREATED, data__kind=None, then=Value(NULL_KIND)),
        When(kind=K.CREATED, then=KT("data__kind")),
        When(data__to_kind=None, then=Value(NULL_KIND)),
        default=KT("data__to_kind"),
        output_field=text,
    )
    queue_key = Q(kind=K.CREATED, data__has_key="queue_id") | Q(kind=K.QUEUE, data__has_key="to")
    queue_at = Case(When(kind=K.CREATED, then=KT("data__queue_id")), default=KT("data__to"), output_field=text)
    queue_val = Cast(queue_at, BigIntegerField())
    resolution = Q(kind=K.STATUS) & (
        Q(data__to=Ticket.Status.SOLVED) | Q(data__to=Ticket.Status.CLOSED, data__from__in=sorted(UNSOLVED))
    )
    # A resolution after the place event (outer) and before the survey event (outer's outer).
    res_between = TicketEvent.objects.filter(
        resolution,
        _after(OuterRef("occurred_at"), OuterRef("id")),
        _before(OuterRef(OuterRef("occurred_at")), OuterRef(OuterRef("id"))),
        **same,
    )

    def latest(key: Q, val: Any, *extra: Any) -> Subquery:
        place = TicketEvent.objects.filter(key, this, *extra, **same).order_by("-occurred_at", "-id")
        return Subquery(place.annotate(v=val).values("v")[:1])

    created = TicketEvent.objects.filter(kind=K.CREATED, **same).filter(this).order_by("-occurred_at", "-id")
    return {
        "requester_id": Subquery(created.annotate(v=Cast(KT("data__requester_id"), BigIntegerField())).values("v")[:1]),
        "kind_now": latest(kind_key, kind_val),
        "queue_now": latest(queue_key, queue_val),
        "kind_res": latest(kind_key, kind_val, Exists(res_between)),
        "queue_res": latest(queue_key, queue_val, Exists(res_between)),
    }


def survey_events_for_metrics(*, start: datetime, end: datetime, surveys: Iterable[str]) -> Any:
    """The events of `surveys` (offers and answers) on non-excluded tickets in [start, end),
    as SURVEY_EVENT_FIELDS tuples in log order, with only what the survey KPIs need:
    a `survey.offered` only if it is the ticket's first offer of that survey, a
    CSAT/CES answer only if it is the ticket's latest one, every NPS answer.

    The ticket's other events are read by index probes per row (queue at the event
    and at the last resolution before it, exclusion), never loaded: the cost is
    O(survey events in the window), not O(history of the surveyed tickets). The
    same walk in Python is metrics.surveys.ticket_surveys (the reference).
    No access control: metrics only.
    """
    from django.db.models import BooleanField, Case, Exists, OuterRef, TextField, Value, When
    from django.db.models.fields.json import KT

    K = TicketEvent.Kind
    wanted = sorted(set(surveys))
    answers = {"csat": K.CSAT, "ces": K.CES, "nps": K.NPS}
    same = {"ticket_id": OuterRef("ticket_id")}
    after = _after(OuterRef("occurred_at"), OuterRef("id"))
    survey_name = Case(
        When(data__has_key="survey", then=KT("data__survey")), default=Value("csat"), output_field=TextField()
    )
    restored_after = TicketEvent.objects.filter(kind=K.RESTORED, **same).filter(after)
    spam_or_deleted = TicketEvent.objects.filter(kind__in=[K.SPAM, K.DELETED], **same).filter(~Exists(restored_after))
    earlier_offer = (
        TicketEvent.objects.filter(kind=K.SURVEY_OFFERED, **same)
        .filter(_before(OuterRef("occurred_at"), OuterRef("id")))
        .annotate(s=survey_name)
        .filter(s=OuterRef("survey"))
    )
    later_answer = TicketEvent.objects.filter(kind=OuterRef("kind"), **same).filter(after)
    answer_to = Case(
        *(When(survey=s, then=Exists(TicketEvent.objects.filter(kind=k, **same))) for s, k in answers.items()),
        default=Value(False),
        output_field=BooleanField(),
    )
    kinds = [K.SURVEY_OFFERED, *(answers[s] for s in wanted if s in answers)]
    return (
        TicketEvent.objects.filter(ticket__isnull=False, kind__in=kinds, occurred_at__gte=start, occurred_at__lt=end)
        .annotate(survey=survey_name)
        .filter(
            (Q(kind=K.SURVEY_OFFERED, survey__in=wanted) & ~Exists(earlier_offer))
            | (Q(kind__in=[K.CSAT, K.CES]) & ~Exists(later_answer))
            | Q(kind=K.NPS)
        )
        .exclude(Exists(TicketEvent.objects.filter(kind=K.MERGED_INTO, **same)))
        .exclude(Exists(spam_or_deleted))
        .annotate(answered=answer_to, **_survey_place_subqueries())
        .order_by("ticket_id", "occurred_at", "id")
        .values_list(*SURVEY_EVENT_FIELDS)
    )


# --- SLA lists (issue 7): "at risk" and "breached" over open tickets -----------


def ticket_sla_at_risk_for_user(*, user: Any, within_s: int = 3600, now: datetime | None = None) -> QuerySet[Ticket]:
    """Open tickets `user` may see whose earliest SLA target is due within
    `within_s` seconds and not yet breached, soonest first (index
    ticket_open_sla_due)."""
    from datetime import timedelta

    from django.utils import timezone

    now = now or timezone.now()
    return (
        ticket_list_for_user(user=user)
        .filter(status__in=Ticket.UNSOLVED, sla_due_at__gt=now, sla_due_at__lte=now + timedelta(seconds=within_s))
        .order_by("sla_due_at", "id")
    )


def ticket_sla_breached_for_user(*, user: Any, now: datetime | None = None) -> QuerySet[Ticket]:
    """Open tickets `user` may see with an unfulfilled SLA target past its
    due instant, longest overdue first."""
    from django.utils import timezone

    now = now or timezone.now()
    return (
        ticket_list_for_user(user=user)
        .filter(status__in=Ticket.UNSOLVED, sla_due_at__lte=now)
        .order_by("sla_due_at", "id")
    )


def ticket_ids_with_survey_events(*, start: datetime, end: datetime) -> list[int]:
    """Tickets with a survey offer or answer in [start, end) (metrics only)."""
    kinds = [
        TicketEvent.Kind.SURVEY_OFFERED,
        TicketEvent.Kind.CSAT,
        TicketEvent.Kind.CES,
        TicketEvent.Kind.NPS,
    ]
    return list(
        TicketEvent.objects.filter(kind__in=kinds, occurred_at__gte=start, occurred_at__lt=end, ticket__isnull=False)
        .values_list("ticket_id", flat=True)
        .distinct()
    )


def relationship_nps_events(*, start: datetime, end: datetime) -> Any:
    """Event tuples (METRICS_EVENT_FIELDS) of the relationship NPS answers
    (ticketless `nps.responded`, docs/surveys.md) in [start, end), in log
    order. No access control: metrics only."""
    return (
        TicketEvent.objects.filter(
            ticket__isnull=True, kind=TicketEvent.Kind.NPS, occurred_at__gte=start, occurred_at__lt=end
        )
        .order_by("occurred_at", "id")
        .values_list(*METRICS_EVENT_FIELDS)
    )
