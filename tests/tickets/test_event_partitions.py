# ruff: noqa: S608 - table names here are partition names built by tickets.partitions.
"""The partitioned event log (docs/event-partitions.md), on the real
PostgreSQL test database: each test converts the table inside its own
transaction (DDL is transactional), so the next test sees the plain table
again. This is the "test on a copy" of the opt-in conversion."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from mail.models import Notification
from tests.factories import ticket_make
from tickets import partitions, services, tasks
from tickets.api.selectors import event_feed_for_user
from tickets.models import Message, TicketEvent

pytestmark = pytest.mark.django_db
REFUSED = (InternalError, ProgrammingError, IntegrityError)


def _sql(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params or [])
        return cur.fetchall() if cur.description else []


def _refused(sql: str, params: list | None = None) -> str:
    with pytest.raises(REFUSED) as exc, transaction.atomic():
        _sql(sql, params)
    return str(exc.value)


@pytest.fixture
def history(queue, customer, agent):
    """Two tickets with events recorded over three months (back-dated rows
    as an old installation would have them) and today."""
    tickets = [ticket_make(queue=queue, requester=customer) for _ in range(2)]
    old = []
    for months_ago, day in ((3, 5), (2, 17)):
        at = datetime.now(UTC).replace(day=day, hour=12) - timedelta(days=31 * months_ago)
        old.append(
            TicketEvent(ticket=tickets[0], kind=TicketEvent.Kind.FIELDS, occurred_at=at, recorded_at=at, data={"n": 1})
        )
    TicketEvent.objects.bulk_create(old)
    services.message_post(ticket_id=tickets[1].pk, author=agent, body="hi", visibility=Message.Visibility.PUBLIC)
    return tickets


def _snapshot() -> list[tuple]:
    return list(TicketEvent.objects.order_by("id").values_list("id", "ticket_id", "kind", "recorded_at", "data"))


def test_plain_table_is_left_alone_until_converted(history):
    assert not partitions.is_partitioned()
    assert partitions.partitions_ensure() == [] and partitions.partitions_list() == []
    assert tasks.event_partitions_ensure.apply().get() == []


def test_convert_keeps_every_row_the_ids_the_feed_and_the_trigger(history, agent, settings):
    settings.HELPDESK_API_EVENTS_SETTLE_SECONDS = 0
    before = _snapshot()
    feed_before, _ = event_feed_for_user(user=agent, after=0, limit=1000)
    copied = partitions.convert(batch=2, log=lambda line: None)  # many small batches
    assert copied == len(before)
    assert partitions.is_partitioned()
    assert _snapshot() == before
    assert [e.pk for e in event_feed_for_user(user=agent, after=0, limit=1000)[0]] == [e.pk for e in feed_before]
    months = [p.month for p in partitions.partitions_list()]
    this_month = date.today().replace(day=1)
    assert months[0] == min(r[3] for r in before).date().replace(day=1)
    assert months[-1] == partitions.add_months(this_month, 3) and len(months) == len(set(months))
    # The primary key includes the partition key; ids continue from the old sequence.
    assert _sql(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'tickets_ticketevent'::regclass"
        " AND contype = 'p'"
    ) == [("PRIMARY KEY (id, recorded_at)",)]
    services.message_post(ticket_id=history[0].pk, author=agent, body="after", visibility=Message.Visibility.PUBLIC)
    newest = TicketEvent.objects.order_by("-id").first()
    assert newest.pk > before[-1][0]
    assert "append-only" in _refused("UPDATE tickets_ticketevent SET kind = 'x' WHERE id = %s", [newest.pk])
    assert "append-only" in _refused("DELETE FROM tickets_ticketevent WHERE id = %s", [before[0][0]])
    assert "append-only" in _refused(f"DELETE FROM {partitions.partition_name(this_month)}")
    with pytest.raises(partitions.PartitionError):
        partitions.convert(log=lambda line: None)


def test_the_task_creates_a_new_partition_with_the_trigger_and_the_indexes(history):
    partitions.convert(log=lambda line: None)
    ahead = partitions.add_months(date.today().replace(day=1), 5)
    with time_machine.travel(datetime(ahead.year, ahead.month, 2, tzinfo=UTC), tick=False):
        created = tasks.event_partitions_ensure.apply().get()
    name = partitions.partition_name(ahead)
    assert name in created
    indexes = {row[0] for row in _sql("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [name])}
    assert any("(id, recorded_at)" in d and "UNIQUE" in d for d in indexes)  # its part of the primary key
    assert any("(ticket_id, occurred_at, id)" in d for d in indexes)  # the timeline index
    assert any("(kind, occurred_at)" in d for d in indexes)
    at = datetime(ahead.year, ahead.month, 3, tzinfo=UTC)
    _sql(
        "INSERT INTO tickets_ticketevent (ticket_id, kind, actor_role, occurred_at, visibility, is_automated,"
        " data, recorded_at) VALUES (%s, 'ticket.updated', 'system', %s, '', false, '{}', %s)",
        [history[0].pk, at, at],
    )
    assert _sql(f"SELECT count(*) FROM {name}") == [(1,)]  # really in the new partition
    assert "append-only: UPDATE refused" in _refused(f"UPDATE {name} SET kind = 'status.changed'")
    assert "append-only: DELETE refused" in _refused(f"DELETE FROM {name}")
    # Running it again changes nothing.
    with time_machine.travel(datetime(ahead.year, ahead.month, 2, tzinfo=UTC), tick=False):
        assert tasks.event_partitions_ensure.apply().get() == []


def test_detach_archives_an_old_month_and_keeps_it_append_only(history, agent, capsys):
    call_command("events_partition", "--convert", "--batch", "3")
    oldest = partitions.partitions_list()[0]
    assert oldest.month < date.today().replace(day=1)
    count = _sql(f"SELECT count(*) FROM {oldest.name}")[0][0]
    assert count == 1
    event_id = _sql(f"SELECT id FROM {oldest.name}")[0][0]
    pending = Notification.objects.create(
        event_id=event_id, ticket=history[0], recipient=agent, to_email=agent.email, kind="assigned", subject="s",
        body="b",
    )  # fmt: skip
    with pytest.raises(partitions.PartitionError, match="pending"):
        partitions.partition_detach(oldest.month)
    Notification.objects.filter(pk=pending.pk).update(status=Notification.Status.SENT)
    call_command("events_partition", "--detach", f"{oldest.month:%Y-%m}")
    assert oldest.name not in {p.name for p in partitions.partitions_list()}
    assert not TicketEvent.objects.filter(pk=event_id).exists()  # gone from the live log...
    assert _sql(f"SELECT count(*) FROM {oldest.name}") == [(1,)]  # ...kept in the archive table
    assert "append-only" in _refused(f"DELETE FROM {oldest.name}")
    with pytest.raises(partitions.PartitionError, match="before the current"):
        partitions.partition_detach(date.today())
    assert "detached" in capsys.readouterr().out


def test_the_privacy_redaction_still_passes_the_trigger_after_the_conversion(history):
    event = TicketEvent.objects.create(ticket=history[0], kind=TicketEvent.Kind.FIELDS, data={"note": "call Ann"})
    partitions.convert(log=lambda line: None)
    assert "append-only" in _refused(
        "UPDATE tickets_ticketevent SET data = jsonb_set(data, '{note}', '\"[erased]\"') WHERE id = %s", [event.pk]
    )
    with transaction.atomic():
        _sql("SELECT set_config('helpdesk.event_redaction', 'on', true)")
        _sql(
            "UPDATE tickets_ticketevent SET data = jsonb_set(data, '{note}', '\"[erased]\"') WHERE id = %s", [event.pk]
        )
    event.refresh_from_db()
    assert event.data == {"note": "[erased]"}
