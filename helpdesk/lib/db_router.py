"""Read replicas (docs/scaling.md): reads stay on the primary unless a view
or command opts in with `use_replica()`; writes always go to the primary.

A replica is used only when it is close enough: its lag (how far its replay
is behind) must be under HELPDESK_REPLICA_MAX_LAG_SECONDS, and after a user's
own write (an unsafe request) it must already have replayed the primary's
WAL position taken right after that write (read-your-writes, carried in a
cookie). Otherwise, or when the replica cannot be reached, the primary
answers. Without DATABASE_REPLICA_URL nothing here changes anything.
"""

import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

logger = logging.getLogger(__name__)

# The primary's WAL position after this browser's last write (read-your-writes).
WRITE_COOKIE = "helpdesk_wal"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class ReadTarget:
    alias: str
    as_of: datetime  # every write committed before this instant is visible


_READ: ContextVar[ReadTarget | None] = ContextVar("helpdesk_read_target", default=None)


def replica_aliases() -> list[str]:
    return list(getattr(settings, "HELPDESK_DB_REPLICAS", []))


def read_alias() -> str:
    """The database the current reads go to."""
    target = _READ.get()
    return target.alias if target else DEFAULT_DB_ALIAS


def read_connection() -> Any:
    """The connection for raw SQL reads (the router sees only ORM queries)."""
    return connections[read_alias()]


def data_as_of() -> datetime:
    """The instant the data being read is current as of: now on the primary,
    the replica's replay position on a replica."""
    target = _READ.get()
    return target.as_of if target else timezone.now()


def lsn_value(lsn: str | None) -> int | None:
    """A PostgreSQL LSN ('16/B374D848') as a number; None when unreadable."""
    try:
        high, low = (lsn or "").split("/")
        return (int(high, 16) << 32) + int(low, 16)
    except ValueError:
        return None


@dataclass(frozen=True)
class ReplicaState:
    lag_s: float
    replay_lsn: int | None


STATE_SQL = """
    SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,
           CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END
"""


def replica_state(alias: str) -> ReplicaState | None:
    """Lag and replay position of one replica; None when it cannot answer.

    Lag is 0 when everything received is replayed (an idle primary sends
    nothing, so the last replay time alone would look old)."""
    try:
        with connections[alias].cursor() as cur:
            cur.execute(STATE_SQL)
            in_recovery, replay_lsn, lag = cur.fetchone()
    except DatabaseError:
        logger.warning("read replica %s unreachable; reading from the primary", alias, exc_info=True)
        connections[alias].close()
        return None
    if not in_recovery:  # promoted, or not a standby at all: it is current
        return ReplicaState(lag_s=0.0, replay_lsn=None)
    return ReplicaState(lag_s=max(float(lag), 0.0), replay_lsn=lsn_value(replay_lsn))


def replica_choose(*, min_lsn: int | None = None) -> ReadTarget | None:
    """A replica fit to read from (lag under the bound, the caller's last
    write replayed), chosen at random among the fit ones; None: use the primary."""
    bound = settings.HELPDESK_REPLICA_MAX_LAG_SECONDS
    fit: list[ReadTarget] = []
    for alias in replica_aliases():
        state = replica_state(alias)
        if state is None or state.lag_s > bound:
            continue
        if min_lsn is not None and state.replay_lsn is not None and state.replay_lsn < min_lsn:
            continue
        fit.append(ReadTarget(alias=alias, as_of=timezone.now() - timedelta(seconds=state.lag_s)))
    return random.choice(fit) if fit else None  # noqa: S311 - load spreading, not security


@contextmanager
def use_replica(*, min_lsn: int | None = None) -> Iterator[ReadTarget | None]:
    """Send the reads inside to a fit replica (or the primary when none is)."""
    target = replica_choose(min_lsn=min_lsn) if replica_aliases() else None
    token = _READ.set(target)
    try:
        yield target
    finally:
        _READ.reset(token)


@contextmanager
def use_primary() -> Iterator[None]:
    token = _READ.set(None)
    try:
        yield
    finally:
        _READ.reset(token)


def _stream_in(target: ReadTarget | None, content: Iterator[Any]) -> Iterator[Any]:
    """A streamed body (CSV exports) is produced after the view returns."""
    token = _READ.set(target)
    try:
        yield from content
    finally:
        _READ.reset(token)


def replica_reads(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Opt a read-only view in: its reads go to a fit replica, except right
    after this browser's own write when no replica has replayed it yet.
    Put it below the access decorators: those read the session and the user
    on the primary. Works for functions (request, ...) and methods (self, request, ...)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> HttpResponse:
        request = next(a for a in args if hasattr(a, "COOKIES"))
        with use_replica(min_lsn=lsn_value(request.COOKIES.get(WRITE_COOKIE))) as target:
            response: Any = view(*args, **kwargs)
        if getattr(response, "streaming", False):
            response.streaming_content = _stream_in(target, response.streaming_content)
        return response

    return wrapped


def primary_wal_lsn() -> str | None:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cur:
            cur.execute("SELECT pg_current_wal_lsn()::text")
            return cur.fetchone()[0]
    except DatabaseError:
        return None


class ReadYourWritesMiddleware:
    """After an unsafe request, remember the primary's WAL position in a
    cookie: this browser's next reads use a replica only once it has
    replayed that far (helpdesk.lib.db_router.replica_reads)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method in UNSAFE_METHODS and replica_aliases():
            lsn = primary_wal_lsn()
            if lsn:
                response.set_cookie(
                    WRITE_COOKIE,
                    lsn,
                    max_age=int(settings.HELPDESK_REPLICA_MAX_LAG_SECONDS) + 1,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
        return response


class ReplicaRouter:
    """Writes and migrations: the primary. Reads: the primary, unless inside
    `use_replica()`. The replicas are copies of the primary's database."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
