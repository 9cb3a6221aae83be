"""Consumers of the event log run in the phase they declare (real PostgreSQL).

A consumer registered from a test app (probe_app) writes a row in the
writer's transaction and notes what it saw after the commit: the row rolls
back with the event; the after-commit consumer is not called at all when
the transaction rolls back.
"""

import pytest
from django.db import connection, transaction

from tests.architecture.probe_app import apps as probe
from tests.factories import QueueFactory, ticket_make
from tickets import services, subscribers
from tickets.models import Ticket, TicketEvent


class Boom(Exception):
    pass


@pytest.fixture
def probe_app(transactional_db):
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS probe_seen (event_id bigint, kind text)")
        cur.execute("TRUNCATE probe_seen")
    config = probe.ProbeConfig("tests.architecture.probe_app", probe)
    config.ready()
    probe.SEEN.clear()
    yield probe
    config.unready()
    with connection.cursor() as cur:
        cur.execute("DROP TABLE probe_seen")


def _probe_rows() -> list[tuple[int, str]]:
    with connection.cursor() as cur:
        cur.execute("SELECT event_id, kind FROM probe_seen ORDER BY event_id")
        return [tuple(r) for r in cur.fetchall()]


def test_in_transaction_consumer_commits_with_the_write_and_on_commit_runs_after(probe_app):
    queue = QueueFactory()
    with transaction.atomic():
        ticket = ticket_make(queue=queue)
        services.message_post(ticket_id=ticket.pk, author=ticket.requester, body="More details")
        # Inside the writer's transaction: the consumer ran and its rows are
        # there; the after-commit consumer has not run yet.
        inside = list(TicketEvent.objects.filter(ticket=ticket).order_by("pk").values_list("pk", "kind"))
        assert _probe_rows() == inside
        assert [p for p, *_ in probe.SEEN] == ["in_transaction"] * len(inside)
        assert all(in_atomic for _, _, in_atomic in probe.SEEN)
    events = list(TicketEvent.objects.filter(ticket=ticket).order_by("pk").values_list("pk", "kind"))
    assert len(events) >= 2
    assert _probe_rows() == events
    after = [(ids, in_atomic) for phase, ids, in_atomic in probe.SEEN if phase == "on_commit"]
    # Once per batch of new events (each event_record), after the commit.
    assert after == [([ticket.pk], False)] * len(events)


def test_rollback_takes_the_consumer_rows_with_it_and_skips_on_commit(probe_app):
    queue = QueueFactory()
    with pytest.raises(Boom), transaction.atomic():
        ticket_make(queue=queue, subject="never saved")
        assert _probe_rows()  # written, in the transaction
        raise Boom
    assert not Ticket.objects.filter(subject="never saved").exists()
    assert _probe_rows() == []
    assert [p for p, *_ in probe.SEEN if p == "on_commit"] == []
    assert any(p == "in_transaction" for p, *_ in probe.SEEN)


def test_kinds_narrow_what_a_consumer_receives(probe_app):
    seen: list[str] = []
    subscribers.subscribe("probe.priority", lambda event: seen.append(event.kind), kinds={TicketEvent.Kind.PRIORITY})
    try:
        ticket = ticket_make(queue=QueueFactory())
        services.message_post(ticket_id=ticket.pk, author=ticket.requester, body="More details")
        assert seen == []
        services.ticket_set_priority(ticket_id=ticket.pk, priority="high", actor=None)
        assert seen == [TicketEvent.Kind.PRIORITY]
    finally:
        subscribers.unsubscribe("probe.priority")


def test_the_apps_consumers_are_registered_in_their_order_and_phase():
    """The order the event path had when tickets called them itself."""

    def names(topic):
        return [(s.name, s.phase) for s in subscribers.subscribers(topic) if not s.name.startswith("probe.")]

    assert names(subscribers.TICKETS_CHANGED) == [
        ("metrics.dirty", "in_transaction"),
        ("tickets.sla_refresh", "in_transaction"),
        ("tickets.first_reply_refresh", "in_transaction"),
        ("tickets.live", "on_commit"),
    ]
    assert names(subscribers.EVENT_RECORDED) == [
        ("mail.notifications", "in_transaction"),
        ("webhooks.outbox", "in_transaction"),
    ]
    assert names(subscribers.SLA_NOTIFY) == [("mail.sla_escalation", "in_transaction")]
