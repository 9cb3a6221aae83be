"""Ticket search: the full-text documents (written on every ticket/message
write, in the writer's transaction) and the agent search selector.

PostgreSQL: `TicketSearch.public_doc` (subject + public messages) and
`internal_doc` (internal notes only), each with a GIN index. A search by
someone who may not see internal notes never reads `internal_doc`, so a
note can neither match nor be shown. Other databases: icontains.
"""

import math
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value

from helpdesk.lib.batching import ids_collected
from tickets.models import Message, Ticket

SEARCH_CONFIG = "english"  # must match _REFRESH_SELECT

# Subject (weight A) + public messages, and internal notes, per ticket.
# Config 'english'; at most 200,000 characters of messages per document.
# The queue is the ticket's; an update leaves it to the trigger that copies
# every change of the ticket's queue (migration 0023), so a rewrite reading
# an older snapshot of the ticket never puts back a queue it has left.
_REFRESH_SELECT = """
INSERT INTO tickets_ticketsearch (ticket_id, queue_id, public_doc, internal_doc)
SELECT t.id, t.queue_id,
       setweight(to_tsvector('english', t.subject), 'A')
       || to_tsvector('english', coalesce((
            SELECT left(string_agg(m.body, ' ' ORDER BY m.id), 200000)
            FROM tickets_message m WHERE m.ticket_id = t.id AND m.visibility = 'public'), '')),
       to_tsvector('english', coalesce((
            SELECT left(string_agg(m.body, ' ' ORDER BY m.id), 200000)
            FROM tickets_message m WHERE m.ticket_id = t.id AND m.visibility = 'internal'), ''))
FROM tickets_ticket t
"""
_REFRESH_UPSERT = """
ON CONFLICT (ticket_id) DO UPDATE
SET public_doc = EXCLUDED.public_doc, internal_doc = EXCLUDED.internal_doc
"""
_REFRESH_BY_IDS = "".join([_REFRESH_SELECT, "WHERE t.id = ANY(%s)", _REFRESH_UPSERT])
_REFRESH_BY_RANGE = "".join([_REFRESH_SELECT, "WHERE t.id >= %s AND t.id < %s", _REFRESH_UPSERT])


# Ticket ids whose documents are rewritten at the end of a
# search_refresh_batched() block; None outside one.
_batched: ContextVar[set[int] | None] = ContextVar("tickets_search_batched", default=None)


@contextmanager
def search_refresh_batched() -> Iterator[None]:
    """Rewrite the documents of every ticket written in the block with one
    statement at its end (a bulk create: one statement, not one per ticket).
    Use inside the writing transaction; if the block raises, nothing runs
    (the transaction rolls back anyway). Nested blocks join the outermost."""
    with ids_collected(_batched, lambda ids: ticket_search_refresh(ticket_ids=ids)):
        yield


def ticket_search_refresh(*, ticket_ids: Iterable[int]) -> None:
    """Rewrite the search documents of these tickets (one statement).

    Called by the services in their transaction after a ticket or message is
    written; a no-op outside PostgreSQL. Inside search_refresh_batched() the
    ids are only collected.
    """
    ids = [int(i) for i in ticket_ids]
    pending = _batched.get()
    if pending is not None:
        pending.update(ids)
        return
    if not ids or connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        cur.execute(_REFRESH_BY_IDS, [ids])


def ticket_search_reindex_range(*, start_id: int, end_id: int) -> None:
    """Backfill documents for ids in [start_id, end_id) (bulk import, bench)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        cur.execute(_REFRESH_BY_RANGE, [start_id, end_id])


FEW_MATCHES = 1_000
# The few-hits plan reads every hit (~9 buffers each); the walk reads about
# 51 × tickets / hits rows of the list. They cost the same near
# sqrt(12 × tickets) hits: measured 1,100-1,350 at 100k tickets, 2,000-4,000
# at 1M (docs/workspace-list.md). FEW_MATCHES is the floor.
FEW_MATCHES_PER_TICKET_ROOT = 12
_ESTIMATE_SECONDS = 600.0
_estimate: dict[str, float] = {}


def few_matches() -> int:
    """The most hits in the user's queues still read by the few-hits plan."""
    return max(FEW_MATCHES, math.isqrt(FEW_MATCHES_PER_TICKET_ROOT * _ticket_estimate()))


def _ticket_estimate() -> int:
    """PostgreSQL's row estimate of the ticket table (kept by ANALYZE), read
    at most every ten minutes per process: no count on the search path."""
    now = time.monotonic()
    if now - _estimate.get("at", -_ESTIMATE_SECONDS) >= _ESTIMATE_SECONDS:
        with connection.cursor() as cur:
            cur.execute("SELECT reltuples FROM pg_class WHERE oid = 'tickets_ticket'::regclass")
            row = cur.fetchone()
        _estimate.update(at=now, rows=max(float(row[0]) if row else 0.0, 0.0))
    return int(_estimate["rows"])


def few_matches_forget() -> None:
    """Read the estimate again on the next search (tests, after a bulk load)."""
    _estimate.clear()


class _IdInArray(Func):
    """`column = ANY(ARRAY(subquery))` (PostgreSQL): the subquery runs once as
    an InitPlan whose array the planner treats as a short list."""

    template = "(%(expressions)s))"
    arg_joiner = " = ANY("
    output_field = BooleanField()


class _BigintArray(Value):
    """`%s::bigint[]`: the ids as one array parameter of the column's type.
    btree_gin's operator classes have no cross-type operators, so
    `queue_id = 64` (an int4 literal: what `queue_id__in=[64]` becomes)
    cannot be read from a GIN index; `queue_id = ANY('{64}'::bigint[])` can."""

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        return "%s::bigint[]", [[int(v) for v in self.value]]


NUMBER_RE = re.compile(r"^#?(\d{1,12})$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


def ticket_search_q(*, user: Any, query: str, queue_ids: Sequence[int] | None = None) -> Q | None:
    """The predicate for `query`, or None for an empty query.

    `#123` / `123`: that ticket number; an email: that requester's tickets;
    anything else: full text over subjects and messages (internal notes only
    for users who may see them), or the requester's name, e-mail or
    organisation.

    `queue_ids`: the queues the caller's tickets are already restricted to
    (an agent's), or None. The full-text hits are then read in those queues
    only, from the (queue, document) indexes: the same tickets once ANDed
    with the caller's restriction, but what is read, counted and planned on
    is the hits in the agent's queues, not in every queue.
    """
    query = (query or "").strip()
    if not query:
        return None
    number = NUMBER_RE.match(query)
    if number:
        return Q(pk=int(number.group(1)))
    if EMAIL_RE.match(query):
        # Resolve the person first (a small table), then the indexed
        # requester_id; UPPER(email) on the ticket join has no index.
        from accounts.models import User

        return Q(requester_id__in=list(User.objects.filter(email__iexact=query).values_list("pk", flat=True)))
    return _text_q(user=user, query=query, queue_ids=queue_ids) | _requester_q(query)


PEOPLE_CAP = 2_000


def _requester_q(query: str) -> Q:
    """Tickets whose requester's name, e-mail or organisation's name
    contains `query` ("walker", "acme"): the people first, then the indexed
    requester_id, as for an e-mail."""
    from accounts.models import User

    # Each branch is one trigram index (accounts 0004); the organisations as
    # `organisation_id = ANY(ARRAY(...))`, an index condition too, so
    # PostgreSQL ORs three bitmaps instead of scanning every person (a join
    # to the organisation in the OR, as before, cannot use an index).
    people = User.objects.filter(Q(name__icontains=query) | Q(email__icontains=query) | _organisation_q(query)).values(
        "pk"
    )
    ids = list(people.values_list("pk", flat=True)[: PEOPLE_CAP + 1])
    return Q(requester_id__in=ids if len(ids) <= PEOPLE_CAP else people)


def _organisation_q(query: str) -> Q:
    """People whose organisation's name contains `query`."""
    from accounts.models import Organisation

    orgs = Organisation.objects.filter(name__icontains=query).order_by().values("pk")
    if connection.vendor == "postgresql":
        from django.contrib.postgres.expressions import ArraySubquery

        return Q(_IdInArray(F("organisation_id"), ArraySubquery(orgs)))
    return Q(organisation_id__in=orgs)


def _text_q(*, user: Any, query: str, queue_ids: Sequence[int] | None) -> Q:
    """Full text over subjects and messages (notes only for staff), in
    `queue_ids` when given."""
    from tickets.selectors import user_may_see_internal

    staff = user_may_see_internal(user=user)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.expressions import ArraySubquery
        from django.contrib.postgres.search import SearchQuery

        from tickets.models import TicketSearch

        sq = SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch")
        docs = Q(public_doc=sq)
        if staff:
            docs |= Q(internal_doc=sq)
        matches = TicketSearch.objects.filter(docs).values("ticket_id")
        mine = matches
        if queue_ids is not None:
            if not queue_ids:
                return Q(pk__in=[])
            mine = matches.filter(_IdInArray(F("queue_id"), _BigintArray(list(queue_ids))))
        # Adaptive plan (docs/workspace-list.md), the statement never grows
        # with the hits. Up to few_matches() hits in the user's queues (counted
        # from the (queue, document) indexes): `id = ANY(ARRAY(subquery))`,
        # an InitPlan run once (GIN bitmap, primary-key probes, top-N sort).
        # More: a semi-join on every queue's hits, which the planner
        # estimates from the word's frequency and runs as a walk of the sort
        # index that stops after one page. Not on the hits in the queues:
        # their estimate multiplies the word's and the queues' frequencies,
        # and a word that belongs to a queue ("refund": 3,725 hits in
        # billing, estimated 818) was then joined whole and sorted (27,827
        # buffers at 100k instead of the walk's 2,051).
        few = few_matches()
        if mine[: few + 1].count() <= few:
            return Q(_IdInArray(F("pk"), ArraySubquery(mine)))
        return Q(pk__in=matches)
    visible = [Message.Visibility.PUBLIC, Message.Visibility.INTERNAL] if staff else [Message.Visibility.PUBLIC]
    hits = Message.objects.filter(body__icontains=query, visibility__in=visible).values("ticket_id")
    return Q(subject__icontains=query) | Q(pk__in=hits)


def ticket_search_for_user(*, user: Any, query: str) -> QuerySet[Ticket]:
    """Tickets `user` may see that match `query` (empty for an empty query)."""
    from tickets.selectors import ticket_list_for_user, ticket_visible_queue_ids

    q = ticket_search_q(user=user, query=query, queue_ids=ticket_visible_queue_ids(user=user))
    if q is None:
        return Ticket.objects.none()
    return ticket_list_for_user(user=user).filter(q)


TERM_RE = re.compile(r"[\w@.+-]{2,}")


def search_terms(query: str) -> list[str]:
    """The words of `query` to highlight in results (no operators)."""
    words = {w.strip(".-+").lower() for w in TERM_RE.findall(query or "")}
    return sorted((w for w in words if len(w) > 1 and w not in {"or", "and"}), key=len, reverse=True)


def ticket_number(query: str) -> int | None:
    """The ticket number of `#123` or `123`, else None."""
    match = NUMBER_RE.match((query or "").strip())
    return int(match.group(1)) if match else None
