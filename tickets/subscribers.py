"""Who follows the event log: a small publish/subscribe registry.

`tickets` records events (tickets.events) and publishes them here; the apps
that follow them (metrics, mail, webhooks, the SLA and the live page of
tickets itself) subscribe from their own `AppConfig.ready`, so `tickets`
imports none of them (docs/architecture.md).

Topics:

* EVENT_RECORDED: one new `TicketEvent` (handler(event)); `kinds` narrows it.
* TICKETS_CHANGED: a batch of tickets that gained events in the writing
  transaction (handler(ticket_ids)); published before EVENT_RECORDED.
* SLA_NOTIFY: an SLA escalation asks for people to be told
  (handler(event=, ticket=, users=, on=, target=)).

Each subscriber declares its phase: IN_TRANSACTION handlers run inside the
writing transaction (their rows commit or roll back with the event: dirty
marks, outbox rows); ON_COMMIT handlers run after it commits and never when
it rolls back (cache hints). Handlers of a topic run in `order`, then in
registration order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from django.db import transaction

Phase = Literal["in_transaction", "on_commit"]
IN_TRANSACTION: Phase = "in_transaction"
ON_COMMIT: Phase = "on_commit"

EVENT_RECORDED = "event.recorded"
TICKETS_CHANGED = "tickets.changed"
SLA_NOTIFY = "sla.notify"
TOPICS = (EVENT_RECORDED, TICKETS_CHANGED, SLA_NOTIFY)


@dataclass(frozen=True)
class Subscriber:
    name: str
    handler: Callable[..., Any]
    topic: str
    phase: Phase
    kinds: frozenset[str] | None
    order: int


_registry: dict[str, Subscriber] = {}


def subscribe(
    name: str,
    handler: Callable[..., Any],
    *,
    topic: str = EVENT_RECORDED,
    phase: Phase = IN_TRANSACTION,
    kinds: Iterable[str] | None = None,
    order: int = 100,
) -> Subscriber:
    """Register `handler` under a unique `name` (registering a name again
    replaces it, so a reloaded AppConfig.ready does not double up)."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    if phase not in (IN_TRANSACTION, ON_COMMIT):
        raise ValueError(f"unknown phase {phase!r}")
    if kinds is not None and topic != EVENT_RECORDED:
        raise ValueError("kinds narrow EVENT_RECORDED only")
    sub = Subscriber(name, handler, topic, phase, frozenset(kinds) if kinds is not None else None, order)
    _registry.pop(name, None)
    _registry[name] = sub
    return sub


def unsubscribe(name: str) -> None:
    _registry.pop(name, None)


def subscribers(topic: str) -> list[Subscriber]:
    """The topic's subscribers in the order they run."""
    subs = [s for s in _registry.values() if s.topic == topic]
    return sorted(subs, key=lambda s: s.order)  # stable: registration order within an order


def publish(topic: str, *args: Any, kind: str | None = None, **kwargs: Any) -> None:
    """Call the topic's subscribers; `kind` is matched against `kinds`."""
    for sub in subscribers(topic):
        if sub.kinds is not None and kind not in sub.kinds:
            continue
        if sub.phase == IN_TRANSACTION:
            sub.handler(*args, **kwargs)
        else:
            # Outside an atomic block Django runs it at once (autocommit).
            transaction.on_commit(partial(sub.handler, *args, **kwargs))
