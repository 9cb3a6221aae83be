"""Live ticket page: what changed on a ticket since an agent last looked.

The event log is the truth. The page polls about once a second with the
last event id it has shown (`since`); the answer lists newer events and
who is viewing or typing (docs/live-updates.md).

Redis, when it is the cache, only saves the poll its database query: every
commit that writes events bumps a per-ticket version key (`INCR`) after
the commit. A poll that brings the version it saw last and finds it
unchanged skips the event query. The bump happens after the commit, so a
poll that sees the new version always finds the new rows. Without a shared
cache (the embedded default's per-process memory, or Redis down: the
breaker is open) every poll reads the database instead, which is one
indexed query. The page asks for a database read every tenth poll anyway,
bounding the delay if a bump was lost while Redis was unreachable from
the writing process only.
"""

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import F, Max

from tickets.models import Message, Ticket, TicketEvent

log = logging.getLogger(__name__)

VERSION_TTL = 24 * 3600
MAX_EVENTS = 50  # per answer; the page refetches itself anyway


def _version_key(ticket_id: int) -> str:
    return f"live:v:{ticket_id}"


def cache_is_shared() -> bool:
    """Only a cache all processes see can carry the version (Redis)."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    return isinstance(caches["default"], RedisCache)


def _fresh_version() -> int:
    # Unique per (re)initialisation, so a key lost with a Redis restart
    # never comes back equal to a version a page still holds.
    return secrets.randbits(52)


def _bump(ticket_ids: list[int]) -> None:
    bump_many = getattr(cache, "versions_bump", None)  # helpdesk.lib.cache: one round trip for all
    if bump_many is not None and len(ticket_ids) > 1:
        try:
            bump_many([_version_key(t) for t in ticket_ids], [_fresh_version() for _ in ticket_ids], VERSION_TTL)
        except Exception:
            log.debug("live version bump skipped", exc_info=True)  # as below: pages poll the database
        return
    bump = getattr(cache, "version_bump", None)  # helpdesk.lib.cache: one round trip
    for ticket_id in ticket_ids:
        key = _version_key(ticket_id)
        try:
            if bump is not None:
                bump(key, _fresh_version(), VERSION_TTL)
                continue
            try:
                cache.incr(key)
            except ValueError:  # missing key
                cache.set(key, _fresh_version(), VERSION_TTL)
        except Exception:
            # Redis down: pages poll the database meanwhile (and every tenth
            # poll in any case), so nothing is lost; it is only later.
            log.debug("live version bump skipped", exc_info=True)


def tickets_changed(ticket_ids: list[int]) -> None:
    """After a commit that wrote events (an ON_COMMIT subscriber of
    tickets.subscribers): bump the tickets' versions. A no-op without a
    shared cache."""
    if not cache_is_shared():
        return
    _bump(list(ticket_ids))


def ticket_version(*, ticket_id: int) -> int | None:
    """The ticket's current version, or None when the cache cannot say
    (not shared, Redis down): the caller then reads the database."""
    if not cache_is_shared():
        return None
    key = _version_key(ticket_id)
    try:
        value = cache.get(key)
        if value is None:
            cache.add(key, _fresh_version(), VERSION_TTL)
            value = cache.get(key)
    except Exception:
        return None
    return int(value) if value is not None else None


def last_event_id(*, ticket_id: int) -> int:
    """The newest event id of the ticket (0 if none).

    `max(id + 0)`, not `max(id)`: for a bare `max(id)` PostgreSQL may walk
    the primary key backwards until it meets one of the ticket's events,
    which read millions of rows (6 s) for an older ticket at 1M tickets
    (bench/WORKSPACE.md). The expression leaves it the ticket's few events
    on the `event_ticket_occurred` index."""
    return TicketEvent.objects.filter(ticket_id=ticket_id).aggregate(m=Max(F("id") + 0))["m"] or 0


@dataclass
class LiveState:
    """One poll's answer."""

    version: int | None
    last: int
    changed: bool
    events: list[dict[str, Any]] = field(default_factory=list)


def ticket_live_state(*, ticket: Ticket, since: int, seen_version: int | None, force_db: bool) -> LiveState:
    """What is new on `ticket` after event `since`.

    With a shared cache and `seen_version` equal to the current version,
    nothing changed and no query runs. Otherwise the event log is read.
    Callers check access first (staff only: events include internal notes).
    """
    version = ticket_version(ticket_id=ticket.pk)
    if version is not None and seen_version == version and not force_db:
        return LiveState(version=version, last=since, changed=False)
    rows = list(
        TicketEvent.objects.filter(ticket_id=ticket.pk, pk__gt=since)
        .select_related("actor")
        .order_by("id")[:MAX_EVENTS]
    )
    events = [
        {
            "id": e.pk,
            "kind": e.kind,
            "public": e.kind == TicketEvent.Kind.MESSAGE and e.visibility == Message.Visibility.PUBLIC,
            "actor_id": e.actor_id,
            "actor": e.actor.display_name if e.actor else "System",
        }
        for e in rows
    ]
    last = max(since, rows[-1].pk if rows else since)
    return LiveState(version=version, last=last, changed=bool(rows), events=events)


def public_replies_since(*, ticket: Ticket, after: int, user: Any) -> list[str]:
    """Names of the others who posted a public message after event `after`
    (the collision warning); [] if none."""
    rows = (
        TicketEvent.objects.filter(
            ticket_id=ticket.pk,
            pk__gt=after,
            kind=TicketEvent.Kind.MESSAGE,
            visibility=Message.Visibility.PUBLIC,
        )
        .exclude(actor_id=user.pk)
        .select_related("actor")
        .order_by("id")
    )
    names: list[str] = []
    for e in rows:
        name = e.actor.display_name if e.actor else "The system"
        if name not in names:
            names.append(name)
    return names
