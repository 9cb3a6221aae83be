"""Many tickets in one transaction (the API's create-many, docs/api-bulk.md).

Each ticket is written by `services.ticket_create`, exactly as a single
create writes it (message, `ticket.created` event, routing, outbox rows);
what is shared is the per-write overhead: one transaction (no savepoint per
ticket), one set of dirty marks for every ticket (events_batched), one
search-document statement (search_refresh_batched) and one read of the
routing rules (routing_rules_held). All or nothing: an item the service
refuses rolls the whole batch back.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django.db import transaction

from accounts.models import User
from helpdesk.lib.exceptions import ApplicationError
from tickets.events import events_batched
from tickets.models import Ticket
from tickets.routing import routing_rules_held
from tickets.search import search_refresh_batched

MAX_TICKETS = 100

P = ParamSpec("P")
R = TypeVar("R")

# True while tickets_create_many's transaction runs: the services inside it
# join that transaction without a savepoint of their own.
_in_bulk: ContextVar[bool] = ContextVar("tickets_in_bulk", default=False)


def atomic_batched(fn: Callable[P, R]) -> Callable[P, R]:
    """A service's own transaction with one set of dirty marks for all its
    events (routing's events join the creation's), or, inside a bulk write,
    the bulk's transaction as it is (no savepoint: an error rolls the whole
    batch back anyway)."""

    @wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if _in_bulk.get():
            return fn(*args, **kwargs)
        with transaction.atomic(), events_batched():
            return fn(*args, **kwargs)

    return run


@dataclass
class ItemRefused(Exception):
    """The service refused item `index` (nothing of the batch was written)."""

    index: int
    error: ApplicationError


@contextmanager
def _bulk() -> Iterator[None]:
    token = _in_bulk.set(True)
    try:
        yield
    finally:
        _in_bulk.reset(token)


def tickets_create_many(*, items: Sequence[dict[str, Any]], actor: User) -> list[Ticket]:
    """Create one ticket per item (the keyword arguments of ticket_create,
    checked by the caller for access) in one transaction; the tickets in
    item order. Raises ItemRefused (and writes nothing) when the service
    refuses an item."""
    from tickets.services import ticket_create

    if len(items) > MAX_TICKETS:
        raise ApplicationError(f"At most {MAX_TICKETS} tickets per request.", code="too_many")
    created: list[Ticket] = []
    with transaction.atomic(), events_batched(), search_refresh_batched(), routing_rules_held(), _bulk():
        for index, kwargs in enumerate(items):
            try:
                created.append(ticket_create(**kwargs, actor=actor))
            except ApplicationError as exc:
                raise ItemRefused(index, exc) from exc
    return created
