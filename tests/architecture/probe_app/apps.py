"""A consumer app used only by the tests: it follows the event log the way
metrics, mail and webhooks do (tickets.subscribers), one handler per phase."""

from typing import Any

from django.apps import AppConfig
from django.db import connection

from tickets import subscribers

# What the handlers saw: (phase, event id or ticket ids, in an atomic block?).
SEEN: list[tuple[str, Any, bool]] = []
TABLE = "probe_seen"  # created by the tests


def in_transaction_handler(event: Any) -> None:
    # A row written by a consumer in the writer's transaction (like an
    # outbox row): it must commit or roll back with the event.
    with connection.cursor() as cur:
        cur.execute("INSERT INTO probe_seen (event_id, kind) VALUES (%s, %s)", [event.pk, event.kind])
    SEEN.append(("in_transaction", event.pk, connection.in_atomic_block))


def on_commit_handler(ticket_ids: list[int]) -> None:
    SEEN.append(("on_commit", list(ticket_ids), connection.in_atomic_block))


class ProbeConfig(AppConfig):
    name = "tests.architecture.probe_app"
    label = "probe_app"

    def ready(self) -> None:
        subscribers.subscribe("probe.rows", in_transaction_handler, phase=subscribers.IN_TRANSACTION)
        subscribers.subscribe(
            "probe.after", on_commit_handler, topic=subscribers.TICKETS_CHANGED, phase=subscribers.ON_COMMIT
        )

    @staticmethod
    def unready() -> None:
        subscribers.unsubscribe("probe.rows")
        subscribers.unsubscribe("probe.after")
