"""Agent workspace reads: views with live counts, filters, sorts with keyset
pagination, saved views. Access control comes from tickets.selectors.

Every sort pages on (sort key, id) with a matching index (Ticket.Meta):
    updated   (-updated_at, -id)        ticket_updated / ticket_*_upd
    created   (-created_at, -id)        ticket_created_id / ticket_queue_created
    priority  (-priority_rank, -id)     ticket_priority_id / ticket_queue_priority
    sla       (sla_due_at, id) nulls last   ticket_sla_id / ticket_open_queue_sla
The cursor holds the last row's key; the next page is `WHERE key <= v AND
(key < v OR id < last_id)` (the first term is the index bound), never OFFSET.
"""

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any, Protocol

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from tickets import selectors
from tickets.models import Queue, QueueKind, SavedView, Ticket

UNSOLVED = list(Ticket.UNSOLVED)
AT_RISK_WINDOW = timedelta(hours=2)
RECENT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Sort:
    key: str
    label: Any
    field: str
    descending: bool


SORTS: dict[str, Sort] = {
    s.key: s
    for s in (
        Sort("updated", _("Last updated"), "updated_at", True),
        Sort("created", _("Newest"), "created_at", True),
        Sort("priority", _("Priority"), "priority_rank", True),
        Sort("sla", _("SLA due"), "sla_due_at", False),
    )
}
DEFAULT_SORT = "updated"

# The built-in views (the left rail). "queue:<id>" is per queue.
VIEW_LABELS = {
    "mine": _("My open tickets"),
    "unassigned": _("Unassigned in my queues"),
    "pending": _("Pending"),
    "on_hold": _("On hold"),
    "at_risk": _("SLA at risk"),
    "breached": _("SLA breached"),
    "recent": _("Recently updated"),
    "awaiting_first_reply": _("Awaiting first reply"),
    "all": _("All tickets"),
}


def visible_queue_ids(*, user: Any) -> list[int]:
    """Queue ids `user` works in (as a literal list so the planner can use
    the (queue, ...) indexes); managers: every active queue."""
    return list(selectors.queue_list_for_user(user=user).values_list("pk", flat=True))


def workspace_base_qs(*, user: Any, queue_ids: list[int] | None = None) -> QuerySet[Ticket]:
    """Tickets `user` may see (same predicate as selectors.ticket_list_for_user,
    with the agent's queues inlined)."""
    if getattr(user, "role", None) != User.Role.AGENT:
        return selectors.ticket_list_for_user(user=user)
    # Built once: the agent's queryset is not the selector's with a filter on top
    # (that one, with its queue sub-query, was compiled into Python and thrown away).
    ids = visible_queue_ids(user=user) if queue_ids is None else queue_ids
    return Ticket.objects.select_related("queue", "requester", "assignee").filter(
        queue_id__in=ids, is_spam=False, is_deleted=False
    )


def view_q(view: str, *, user: Any, now: datetime) -> Q:
    """The predicate of a built-in view."""
    if view == "mine":
        return Q(assignee_id=user.pk, status__in=UNSOLVED)
    if view == "unassigned":
        return Q(assignee__isnull=True, status__in=UNSOLVED)
    if view == "pending":
        return Q(status=Ticket.Status.PENDING)
    if view == "on_hold":
        return Q(status=Ticket.Status.ON_HOLD)
    if view == "at_risk":
        return Q(status__in=UNSOLVED, sla_due_at__gte=now, sla_due_at__lt=now + AT_RISK_WINDOW)
    if view == "breached":
        return Q(status__in=UNSOLVED, sla_due_at__lt=now)
    if view == "recent":
        return Q(updated_at__gte=now - RECENT_WINDOW)
    if view == "awaiting_first_reply":  # docs/metrics.md#awaiting-first-reply-now
        return Q(status__in=UNSOLVED, awaiting_first_reply_since__isnull=False)
    if view.startswith("queue:"):
        try:
            return Q(queue_id=int(view.split(":", 1)[1]), status__in=UNSOLVED)
        except ValueError:
            return Q(pk__in=[])
    return Q()


@dataclass
class WorkspaceCounts:
    views: dict[str, int]
    queues: list[dict[str, Any]] = field(default_factory=list)  # {id, name, kind, open}
    # The oldest ticket awaiting its first reply in these queues: its FRT start (docs/metrics.md).
    awaiting_oldest: datetime | None = None
    now: datetime | None = None

    @property
    def rail(self) -> list[tuple[str, str, int | str]]:
        """(view, label, count) of each built-in view in VIEW_LABELS order,
        the label in the active language: one loop in the template instead of
        a search of `views` per view ("" where there is no count, as "all")."""
        return [(key, str(label), self.views.get(key, "")) for key, label in VIEW_LABELS.items()]

    @property
    def awaiting_oldest_age_s(self) -> float | None:
        if self.awaiting_oldest is None or self.now is None:
            return None
        return max((self.now - self.awaiting_oldest).total_seconds(), 0.0)


COUNT_NAMES = ("mine", "unassigned", "pending", "on_hold", "at_risk", "breached", "recent", "awaiting_first_reply")


def _counts_sql(n_queues: int) -> str:
    """The grouped counts statement for `n_queues` queues, written out (the
    ORM took ~4 ms of CPU a page to compile its 20 filtered aggregates and
    the UNION; the statement is the same, so is the plan: docs/workspace-list.md).
    Each view's predicate is `view_q`'s; tests/workspace/test_views.py compares
    the counts with `view_q` over the same tickets. COUNT(CASE ...) rather than
    FILTER: the same on PostgreSQL and the embedded SQLite."""
    t = '"tickets_ticket"'
    unsolved = f'{t}."status" IN (%s, %s, %s, %s)'
    aggregates = ", ".join(
        [
            f'COUNT(CASE WHEN {t}."assignee_id" = %s AND {unsolved} THEN 1 END) AS "mine"',
            f'COUNT(CASE WHEN {t}."assignee_id" IS NULL AND {unsolved} THEN 1 END) AS "unassigned"',
            f'COUNT(CASE WHEN {t}."status" = %s THEN 1 END) AS "pending"',
            f'COUNT(CASE WHEN {t}."status" = %s THEN 1 END) AS "on_hold"',
            f'COUNT(CASE WHEN {t}."sla_due_at" >= %s AND {t}."sla_due_at" < %s AND {unsolved} THEN 1 END) AS "at_risk"',
            f'COUNT(CASE WHEN {t}."sla_due_at" < %s AND {unsolved} THEN 1 END) AS "breached"',
            f'COUNT(CASE WHEN {t}."updated_at" >= %s THEN 1 END) AS "recent"',
            f'COUNT(CASE WHEN {t}."awaiting_first_reply_since" IS NOT NULL AND {unsolved} THEN 1 END)'
            ' AS "awaiting_first_reply"',
            f'COUNT(CASE WHEN {unsolved} THEN 1 END) AS "open"',
            f'MIN(CASE WHEN {unsolved} THEN {t}."awaiting_first_reply_since" END) AS "awaiting_oldest"',
        ]
    )
    queues = ", ".join(["%s"] * n_queues)
    visible = f'NOT {t}."is_deleted" AND NOT {t}."is_spam" AND {t}."queue_id" IN ({queues})'
    # Only constants and placeholders are formatted in; every value is a parameter.
    select = f'SELECT {t}."queue_id" AS "queue_id", {aggregates} FROM {t} WHERE {visible}'  # noqa: S608
    return (
        f"{select} AND {unsolved} GROUP BY 1"
        " UNION ALL "
        f'{select} AND {t}."status" IN (%s, %s) AND {t}."updated_at" >= %s GROUP BY 1'
    )


def _counts_rows(*, qids: list[int], user_id: int, now: datetime) -> list[dict[str, Any]]:
    from helpdesk.lib.db_router import read_connection

    if not qids:
        return []
    connection = read_connection()
    ops = connection.ops

    def at(value: datetime) -> Any:
        return ops.adapt_datetimefield_value(value)

    unsolved = list(UNSOLVED)
    resolved = [s for s in Ticket.Status.values if s not in UNSOLVED]
    aggregate_params = [
        *[user_id, *unsolved],  # mine
        *unsolved,  # unassigned
        Ticket.Status.PENDING.value,
        Ticket.Status.ON_HOLD.value,
        *[at(now), at(now + AT_RISK_WINDOW), *unsolved],  # at_risk
        *[at(now), *unsolved],  # breached
        at(now - RECENT_WINDOW),  # recent
        *unsolved,  # awaiting_first_reply
        *unsolved,  # open
        *unsolved,  # awaiting_oldest
    ]
    params = [
        *aggregate_params,
        *qids,
        *unsolved,
        *aggregate_params,
        *qids,
        *resolved,
        at(now - RECENT_WINDOW),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_counts_sql(len(qids)), params)
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
    for row in rows:
        value = row["awaiting_oldest"]
        if value is not None and not isinstance(value, datetime):  # SQLite answers text
            row["awaiting_oldest"] = ops.convert_datetimefield_value(value, None, connection)
    return rows


def workspace_counts(*, user: Any, queues: list[Queue] | None = None, now: datetime | None = None) -> WorkspaceCounts:
    """Live counts of every built-in view and each queue: ONE statement, two
    grouped branches (UNION ALL): the user's unsolved tickets (an index-only
    scan of the partial covering index `ticket_ws_counts`) and the solved or
    closed ones updated recently (the only view they count in), plus the
    (cached by Django) queue list. See docs/workspace-list.md."""
    now = now or timezone.now()
    if queues is None:
        queues = selectors.queue_rows_for_user(user=user)
    queues = sorted(queues, key=lambda q: (q.kind, q.name))
    qids = [q.pk for q in queues]
    totals = dict.fromkeys(COUNT_NAMES, 0)
    per_queue: dict[int, int] = {}
    oldest = []
    for row in _counts_rows(qids=qids, user_id=user.pk, now=now):
        for name in COUNT_NAMES:
            totals[name] += row[name]
        per_queue[row["queue_id"]] = per_queue.get(row["queue_id"], 0) + row["open"]
        if row["awaiting_oldest"] is not None:
            oldest.append(row["awaiting_oldest"])
    return WorkspaceCounts(
        awaiting_oldest=min(oldest) if oldest else None,
        now=now,
        views=totals,
        queues=[
            {"id": q.pk, "view": f"queue:{q.pk}", "name": q.name, "kind": q.kind, "open": per_queue.get(q.pk, 0)}
            for q in queues
        ],
    )


# --- Filters --------------------------------------------------------------


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def filters_q(filters: Mapping[str, Any], *, user: Any) -> Q:
    """The predicate of the list's filters (already cleaned by the form).

    queue (id), kind, status (a status or "unsolved"), priority, assignee
    ("me", "none" or an id), tags (all of them), requester (email or id),
    created/updated from/to (dates, inclusive).
    """
    q = Q()
    if filters.get("queue"):
        q &= Q(queue_id=filters["queue"])
    if filters.get("kind") in QueueKind.values:
        q &= Q(kind=filters["kind"])
    status = filters.get("status")
    if status == "unsolved":
        q &= Q(status__in=UNSOLVED)
    elif status in Ticket.Status.values:
        q &= Q(status=status)
    if filters.get("priority") in Ticket.Priority.values:
        q &= Q(priority=filters["priority"])
    assignee = filters.get("assignee")
    if assignee == "me":
        q &= Q(assignee_id=user.pk)
    elif assignee == "none":
        q &= Q(assignee__isnull=True)
    elif assignee is not None and str(assignee).isdigit():
        q &= Q(assignee_id=int(assignee))
    for tag in filters.get("tags") or []:
        q &= Q(pk__in=Ticket.tags.through.objects.filter(tag__name=tag).values("ticket_id"))
    requester = (filters.get("requester") or "").strip()
    if requester:
        q &= Q(requester__email__iexact=requester) if "@" in requester else Q(requester__email__istartswith=requester)
    if filters.get("created_from"):
        q &= Q(created_at__gte=_day_start(filters["created_from"]))
    if filters.get("created_to"):
        q &= Q(created_at__lt=_day_start(filters["created_to"] + timedelta(days=1)))
    if filters.get("updated_from"):
        q &= Q(updated_at__gte=_day_start(filters["updated_from"]))
    if filters.get("updated_to"):
        q &= Q(updated_at__lt=_day_start(filters["updated_to"] + timedelta(days=1)))
    return q


# --- Keyset pages ---------------------------------------------------------


@dataclass(frozen=True)
class Page:
    items: list[Any]  # what the fetch read: Ticket, or ListRow (fetch_list_rows)
    next_cursor: str | None
    sort: str

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def _encode(sort: Sort, ticket: Any) -> str:
    value = getattr(ticket, sort.field)
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort.key, value, ticket.pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(sort: Sort, cursor: str | None) -> tuple[Any, int] | None:
    """(value, id) of a cursor made for `sort`; None if missing/garbled."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key, value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if key != sort.key or not isinstance(pk, int) or isinstance(pk, bool):
            return None
        if sort.field.endswith("_at") and value is not None:
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                return None
        elif sort.field == "priority_rank" and not isinstance(value, int):
            return None
        return value, pk
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


def _after(sort: Sort, value: Any, pk: int) -> Q:
    f = sort.field
    if sort.descending:
        return Q(**{f"{f}__lte": value}) & (Q(**{f"{f}__lt": value}) | Q(pk__lt=pk))
    return Q(**{f"{f}__gte": value}) & (Q(**{f"{f}__gt": value}) | Q(pk__gt=pk))


def _ordered(qs: QuerySet[Ticket], sort: Sort) -> QuerySet[Ticket]:
    if sort.descending:
        return qs.order_by(F(sort.field).desc(), "-id")
    return qs.order_by(F(sort.field).asc(), "id")


def keyset_page(
    qs: QuerySet[Ticket],
    *,
    sort_key: str,
    cursor: str | None,
    limit: int = 50,
    fetch: Callable[[QuerySet[Ticket]], list[Any]] = list,
) -> Page:
    """One page of `qs` in `sort_key` order, after `cursor`; `fetch` turns a
    sliced queryset into the page's items (default: the tickets).

    The SLA sort puts tickets without a due time last: its pages walk the
    dated tickets by (sla_due_at, id), then the undated ones by id.
    """
    sort = SORTS.get(sort_key) or SORTS[DEFAULT_SORT]
    limit = max(1, min(limit, 200))
    position = _decode(sort, cursor)
    nullable = sort.key == "sla"
    rows: list[Any] = []
    if not (nullable and position is not None and position[0] is None):
        page_qs = qs.filter(**{f"{sort.field}__isnull": False}) if nullable else qs
        if position is not None:
            page_qs = page_qs.filter(_after(sort, *position))
        rows = fetch(_ordered(page_qs, sort)[: limit + 1])
    if nullable and len(rows) <= limit:
        tail = qs.filter(sla_due_at__isnull=True)
        if position is not None and position[0] is None:
            tail = tail.filter(pk__gt=position[1])
        rows += fetch(tail.order_by("id")[: limit + 1 - len(rows)])
    items = rows[:limit]
    next_cursor = _encode(sort, items[-1]) if len(rows) > limit else None
    return Page(items=items, next_cursor=next_cursor, sort=sort.key)


@dataclass(slots=True)
class ListRow:
    """What a list row shows (tickets/views/list_rows.py) and the sort keys
    of its cursor, read as plain values: the list's page is ~50 of these
    instead of ~200 model instances (ticket, queue, requester, assignee)."""

    pk: int
    subject: str
    kind: str
    status: str
    priority: str
    sla_due_at: datetime | None
    updated_at: datetime
    created_at: datetime
    priority_rank: int
    queue_name: str
    requester_name: str  # display name: name, else e-mail
    assignee_id: int | None
    assignee_name: str  # "" when unassigned
    organisation: str | None  # the requester's, when searching

    @classmethod
    def from_ticket(cls, t: Ticket, *, organisation: bool = False) -> "ListRow":
        requester, assignee = t.requester, t.assignee if t.assignee_id else None
        org = requester.organisation if organisation and requester.organisation_id else None
        return cls(
            t.pk,
            t.subject,
            t.kind,
            t.status,
            t.priority,
            t.sla_due_at,
            t.updated_at,
            t.created_at,
            t.priority_rank,
            t.queue.name,
            requester.display_name,
            t.assignee_id,
            assignee.display_name if assignee is not None else "",
            org.name if org is not None else None,
        )


# The columns of a ListRow, in its field order (the two names: name, else e-mail).
ROW_VALUES = (
    "id",
    "subject",
    "kind",
    "status",
    "priority",
    "sla_due_at",
    "updated_at",
    "created_at",
    "priority_rank",
    "queue__name",
    "requester__name",
    "requester__email",
    "assignee_id",
    "assignee__name",
    "assignee__email",
)


def fetch_list_rows(qs: QuerySet[Ticket], *, searching: bool) -> list[ListRow]:
    """The page as ListRows (what the HTML list shows): the row's columns read
    as values, no model instances (docs/workspace-list.md, "Rendering cost
    of the list")."""
    names = (*ROW_VALUES, "requester__organisation__name") if searching else ROW_VALUES
    return [
        ListRow(
            pk=v[0],
            subject=v[1],
            kind=v[2],
            status=v[3],
            priority=v[4],
            sla_due_at=v[5],
            updated_at=v[6],
            created_at=v[7],
            priority_rank=v[8],
            queue_name=v[9],
            requester_name=v[10] or v[11],
            assignee_id=v[12],
            assignee_name=(v[13] or v[14] or "") if v[12] is not None else "",
            organisation=v[15] if searching else None,
        )
        for v in qs.values_list(*names)
    ]


# What a list row shows (tickets/views/list_rows.py) and the sort keys of the
# cursor: the page reads these columns only, not every column of the ticket,
# its queue, requester and assignee (~200 model instances a page).
LIST_COLUMNS = (
    "id",
    "subject",
    "kind",
    "status",
    "priority",
    "queue_id",
    "requester_id",
    "assignee_id",
    "sla_due_at",
    "updated_at",
    "created_at",
    "priority_rank",
    "queue__name",
    "requester__name",
    "requester__email",
    "requester__organisation_id",
    "assignee__name",
    "assignee__email",
)


def fetch_tickets(qs: QuerySet[Ticket], *, searching: bool) -> list[Ticket]:
    """The page as tickets (with queue, requester and assignee), the list's
    columns only."""
    return list(qs.only(*LIST_COLUMNS, *(("requester__organisation__name",) if searching else ())))


class PageFetch(Protocol):
    def __call__(self, qs: QuerySet[Ticket], *, searching: bool) -> list[Any]: ...


def workspace_ticket_page(
    *,
    user: Any,
    view: str = "all",
    filters: Mapping[str, Any] | None = None,
    search: str = "",
    sort: str = DEFAULT_SORT,
    cursor: str | None = None,
    limit: int = 50,
    now: datetime | None = None,
    queue_ids: list[int] | None = None,
    fetch: PageFetch = fetch_tickets,
) -> Page:
    """A page of the workspace list: built-in view AND filters AND search.
    `fetch` reads the page from the sliced statement: `fetch_tickets` (model
    instances, the default) or `fetch_list_rows` (ListRows, the HTML list);
    both read the same statement's joins, filters and order. `searching`
    tells it the requester's organisation is joined (a search shows it)."""
    if not getattr(user, "is_staff_role", False):
        return Page(items=[], next_cursor=None, sort=sort)
    qs = workspace_matching_qs(user=user, view=view, filters=filters, search=search, now=now, queue_ids=queue_ids)
    related = qs.query.select_related
    searching = isinstance(related, dict) and "organisation" in related.get("requester", {})
    return keyset_page(qs, sort_key=sort, cursor=cursor, limit=limit, fetch=partial(fetch, searching=searching))


def workspace_matching_qs(
    *,
    user: Any,
    view: str = "all",
    filters: Mapping[str, Any] | None = None,
    search: str = "",
    now: datetime | None = None,
    queue_ids: list[int] | None = None,
) -> QuerySet[Ticket]:
    """Every ticket of the list (unordered): what the pages walk, what a
    bulk action on "all matching" applies to and what the count counts."""
    if not getattr(user, "is_staff_role", False):
        return Ticket.objects.none()
    now = now or timezone.now()
    if getattr(user, "role", None) == User.Role.AGENT and queue_ids is None:
        queue_ids = visible_queue_ids(user=user)
    qs = workspace_base_qs(user=user, queue_ids=queue_ids).filter(view_q(view, user=user, now=now))
    if filters:
        qs = qs.filter(filters_q(filters, user=user))
    if search.strip():
        from tickets.search import ticket_search_q

        # An agent's hits are read in their queues only (the list's own
        # restriction); managers' in every queue.
        in_queues = queue_ids if getattr(user, "role", None) == User.Role.AGENT else None
        sq = ticket_search_q(user=user, query=search, queue_ids=in_queues)
        if sq is not None:
            # The rows then show the requester's organisation (highlighted).
            qs = qs.filter(sq).select_related("requester__organisation")
    return qs


# --- Saved views ------------------------------------------------------------


def saved_view_list_for_user(*, user: Any) -> QuerySet[SavedView]:
    """The user's own views and every shared one, the enabled ones only;
    shared views in the order managers set (Settings → Saved views)."""
    return (
        SavedView.objects.filter(Q(owner=user) | Q(is_shared=True), is_active=True)
        .select_related("owner")
        .order_by("position", "name", "id")
    )


def saved_view_rows_for_user(*, user: Any) -> list[SavedView]:
    """`saved_view_list_for_user`'s views for the rail (id, name, shared,
    owner), the statement written out like `selectors.queue_rows_for_user`:
    the list and its 30-s counts poll read them every time, and the ORM took
    ~1 ms of CPU to compile the OR, the join and the order of a statement that
    runs in a tenth of that. Same rule, rows and order
    (tests/workspace/test_list_view_cost.py compares the two)."""
    from django.db import connection

    qn = connection.ops.quote_name
    views, users = qn(SavedView._meta.db_table), qn(User._meta.db_table)
    # Names from the models; every value is a parameter. The join is the
    # ORM's select_related("owner") (an inner join on a non-null key).
    sql = (
        f"SELECT {views}.{qn('id')}, {views}.{qn('name')}, {views}.{qn('is_shared')}, {views}.{qn('owner_id')}"  # noqa: S608
        f" FROM {views} INNER JOIN {users} ON {views}.{qn('owner_id')} = {users}.{qn('id')}"
        f" WHERE ({views}.{qn('owner_id')} = %s OR {views}.{qn('is_shared')} = %s) AND {views}.{qn('is_active')} = %s"
        f" ORDER BY {views}.{qn('position')} ASC, {views}.{qn('name')} ASC, {views}.{qn('id')} ASC"
    )
    return list(SavedView.objects.raw(sql, [user.pk, True, True]))


def saved_view_get_for_user(*, user: Any, view_id: int) -> SavedView:
    from django.http import Http404

    try:
        return saved_view_list_for_user(user=user).get(pk=view_id)
    except (SavedView.DoesNotExist, ValueError, TypeError):
        raise Http404("No such view.") from None


def queue_kinds() -> dict[str, str]:
    return {value: str(label) for value, label in QueueKind.choices}


# --- Recent searches ----------------------------------------------------------

RECENT_SEARCHES_KEY = "ws_recent_searches"
RECENT_SEARCHES_MAX = 8


def recent_search_add(session: Any, query: str) -> None:
    """Put `query` first in the user's recent searches (in their session:
    small, private, gone at log-out); a repeat moves up, no duplicates."""
    query = query.strip()[:200]
    if not query:
        return
    current = session.get(RECENT_SEARCHES_KEY, [])
    if current[:1] == [query]:
        return  # already first (the next page, another sort): no session write
    recent = [q for q in current if q.lower() != query.lower()]
    session[RECENT_SEARCHES_KEY] = [query, *recent][:RECENT_SEARCHES_MAX]


def recent_search_list(session: Any) -> list[str]:
    return list(session.get(RECENT_SEARCHES_KEY, []))
