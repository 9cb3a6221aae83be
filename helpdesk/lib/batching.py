"""Hold back per-ticket side work to the end of a block (tickets.events.events_batched,
tickets.search.search_refresh_batched): ids are collected in a context variable while the
block runs, and the work runs once for all of them at its end."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar


@contextmanager
def ids_collected(var: ContextVar[set[int] | None], at_end: Callable[[list[int]], None]) -> Iterator[None]:
    """Collect ids in `var` during the block, then call `at_end` with them (sorted) once.
    If the block raises, nothing is called (the writing transaction rolls back anyway).
    Nested blocks join the outermost."""
    if var.get() is not None:
        yield
        return
    pending: set[int] = set()
    token = var.set(pending)
    try:
        yield
    finally:
        var.reset(token)
    if pending:
        at_end(sorted(pending))
