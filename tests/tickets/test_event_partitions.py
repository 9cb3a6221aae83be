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


# --- The conversion while the application writes (real concurrent connections) ---


def _restore_plain() -> None:
    """Undo a committed (or half-done) conversion: the next tests expect the
    plain table. Drops the partitioned copy, renames the kept table back."""
    _sql("DROP TRIGGER IF EXISTS test_slow_insert ON tickets_ticketevent")
    _sql(f'DROP TABLE IF EXISTS "{partitions.NEW}" CASCADE')
    if partitions.is_partitioned():
        _sql(f'DROP TABLE "{partitions.TABLE}" CASCADE')
        _sql(f'ALTER TABLE "{partitions.OLD}" RENAME TO "{partitions.TABLE}"')
        _sql("DROP TRIGGER IF EXISTS test_slow_insert ON tickets_ticketevent")
        for (name,) in _sql("SELECT indexname FROM pg_indexes WHERE tablename = %s", [partitions.TABLE]):
            if name.endswith("_old"):
                _sql(f'ALTER INDEX "{name}" RENAME TO "{name[:-4]}"')
    _sql("DROP FUNCTION IF EXISTS test_slow_insert()")


def _waiting_in(event: str) -> bool:
    return _sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = %s", [event]
    ) == [(1,)]


def wait_for_true(predicate, timeout: float = 20.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_convert_online_loses_no_event_while_writers_keep_writing(queue, customer):
    """Writers insert events from their own connections during the whole
    conversion, one of them slowly: its INSERT has drawn its id and then
    sits in a BEFORE trigger (the window between drawing an id and
    committing it, widened to seconds) while a later id commits. Every
    committed event must end up in the partitioned table, no writer may
    fail, and the ids must stay unique."""
    import threading
    import time

    ticket = ticket_make(queue=queue, requester=customer)
    committed: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def write(data: dict, *, repeat: bool) -> None:
        try:
            while True:
                event = TicketEvent.objects.create(ticket_id=ticket.pk, kind=TicketEvent.Kind.FIELDS, data=data)
                committed.append(event.pk)
                if not repeat or stop.is_set():
                    return
                time.sleep(0.005)
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    _sql(
        "CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF NEW.data ? 'slow' THEN PERFORM pg_sleep(4); END IF; RETURN NEW; END $$"
    )
    _sql(
        "CREATE TRIGGER test_slow_insert BEFORE INSERT ON tickets_ticketevent"
        " FOR EACH ROW EXECUTE FUNCTION test_slow_insert()"
    )
    slow = threading.Thread(target=write, args=({"slow": 1},), kwargs={"repeat": False})
    steady = threading.Thread(target=write, args=({"steady": 1},), kwargs={"repeat": True})
    try:
        slow.start()
        assert wait_for_true(lambda: _waiting_in("PgSleep")), "the slow insert never reached its trigger"
        steady.start()
        assert wait_for_true(lambda: len(committed) >= 5)  # later ids than the slow one, committed
        lines: list[str] = []
        assert partitions.convert(batch=3, log=lines.append) > 0
        after_swap = len(committed)
        assert wait_for_true(lambda: len(committed) >= after_swap + 5)  # writers go on, into the new table
        stop.set()
        for thread in (slow, steady):
            thread.join(10)
        assert errors == []
        assert partitions.is_partitioned()
        stored = list(TicketEvent.objects.filter(ticket_id=ticket.pk).values_list("id", flat=True))
        assert len(stored) == len(set(stored))
        missing = set(committed) - set(stored)
        assert missing == set(), f"events lost by the conversion: {sorted(missing)}"
    finally:
        stop.set()
        for thread in (slow, steady):
            if thread.is_alive():
                thread.join(10)
        _restore_plain()
    assert not partitions.is_partitioned()


@pytest.mark.parametrize("ahead", ["-1", "0", "61", "x"])
def test_ahead_outside_its_range_is_refused(history, ahead):
    """A conversion without the current month's partition would make every
    new event fail after the swap: --ahead is at least 1 (and bounded)."""
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ahead"):
        call_command("events_partition", "--convert", "--ahead", ahead)
    assert not partitions.is_partitioned()
    with pytest.raises(partitions.PartitionError, match="ahead"):
        partitions.convert(ahead=int(ahead) if ahead != "x" else 0, log=lambda line: None)
