# ruff: noqa: S608 - SQL here names tables from module constants and dates, never input.
"""The event log partitioned by month (PostgreSQL only; docs/event-partitions.md).

`tickets_ticketevent` becomes a range-partitioned table on `recorded_at`
(the time the row was written, never backdated, so every insert lands in
the current month), primary key (id, recorded_at), one partition per
month named tickets_ticketevent_yYYYYmMM. The append-only trigger and the
indexes are declared on the parent, so PostgreSQL puts them on every
partition, including those created later by `partitions_ensure`.

SQLite and an unconverted PostgreSQL database keep the plain table: every
function here is then a no-op or refuses with a message.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import OperationalError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

logger = logging.getLogger(__name__)

TABLE = "tickets_ticketevent"
NEW = "tickets_ticketevent_part"
OLD = "tickets_ticketevent_unpartitioned"
TRIGGER = "tickets_ticketevent_no_update_delete"
_NAME = re.compile(r"^tickets_ticketevent_y(\d{4})m(\d{2})$")


class PartitionError(Exception):
    pass


# Months created ahead: at least the next one (a conversion without the
# current month's partition would make every new event fail), at most five years.
MAX_AHEAD = 60


def _check_ahead(ahead: int) -> None:
    if not 1 <= ahead <= MAX_AHEAD:
        raise PartitionError(f"--ahead must be between 1 and {MAX_AHEAD} months, not {ahead}.")


@dataclass(frozen=True)
class Partition:
    name: str
    month: date
    rows: int  # planner estimate (reltuples); -1 before the first ANALYZE


def _month(d: date | datetime) -> date:
    return date(d.year, d.month, 1)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    return date(d.year + y, m + 1, 1)


def partition_name(month: date) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


def _bound(month: date) -> str:
    return datetime(month.year, month.month, 1, tzinfo=UTC).isoformat()


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cur.fetchone()
    return bool(row and row[0] == "p")


def partitions_list() -> list[Partition]:
    """The monthly partitions attached now, oldest first."""
    if not is_partitioned():
        return []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname, c.reltuples::bigint FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
            [TABLE],
        )
        rows = cur.fetchall()
    out = []
    for name, tuples in rows:
        match = _NAME.match(name)
        if match:
            out.append(Partition(name=name, month=date(int(match[1]), int(match[2]), 1), rows=int(tuples)))
    return out


def _create_partition(cur: CursorWrapper, parent: str, month: date) -> str:
    name = partition_name(month) if parent == TABLE else f"{NEW}_y{month.year:04d}m{month.month:02d}"
    cur.execute(
        f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{parent}"'
        f" FOR VALUES FROM ('{_bound(month)}') TO ('{_bound(add_months(month, 1))}')"
    )
    return name


def partitions_ensure(*, ahead: int = 3, now: datetime | None = None) -> list[str]:
    """Create the partitions of this month and the next `ahead` months that
    do not exist yet; the names created. Idempotent (the periodic task)."""
    _check_ahead(ahead)
    if not is_partitioned():
        return []
    first = _month(now or timezone.now())
    existing = {p.name for p in partitions_list()}
    created = []
    with transaction.atomic(), connection.cursor() as cur:
        for i in range(ahead + 1):
            month = add_months(first, i)
            if partition_name(month) not in existing:
                created.append(_create_partition(cur, TABLE, month))
    for name in created:
        logger.info("event log: partition %s created", name)
    return created


def _referenced_pending(cur: CursorWrapper, name: str) -> int:
    cur.execute(
        f"SELECT (SELECT count(*) FROM mail_notification WHERE status = 'pending'"
        f' AND event_id IN (SELECT id FROM "{name}"))'
        f" + (SELECT count(*) FROM webhooks_webhookdelivery WHERE status = 'pending'"
        f' AND event_id IN (SELECT id FROM "{name}"))'
    )
    return int(cur.fetchone()[0])


def partition_detach(month: date, *, now: datetime | None = None) -> str:
    """Detach one old month for archive; it stays a plain table of the same
    name, still append-only, to be dumped and dropped by the operator."""
    if not is_partitioned():
        raise PartitionError("The event log is not partitioned (run events_partition --convert first).")
    month = _month(month)
    if month >= _month(now or timezone.now()):
        raise PartitionError("Only months before the current one can be detached.")
    name = partition_name(month)
    if name not in {p.name for p in partitions_list()}:
        raise PartitionError(f"No attached partition {name}.")
    with transaction.atomic(), connection.cursor() as cur:
        pending = _referenced_pending(cur, name)
        if pending:
            raise PartitionError(f"{pending} pending notification(s)/webhook delivery(ies) still use events of {name}.")
        cur.execute(f'ALTER TABLE "{TABLE}" DETACH PARTITION "{name}"')
        # The trigger cloned from the parent goes with the detach: the
        # archive keeps its own, so it stays append-only.
        cur.execute(
            f'CREATE TRIGGER "{TRIGGER}" BEFORE UPDATE OR DELETE ON "{name}"'
            " FOR EACH ROW EXECUTE FUNCTION tickets_event_append_only()"
        )
    return name


# --- Conversion of an existing plain table (opt-in command) ---------------


def _indexes(cur: CursorWrapper, table: str) -> list[tuple[str, str]]:
    cur.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s"
        " AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'p')",
        [table, table],
    )
    return list(cur.fetchall())


def _foreign_keys(cur: CursorWrapper, table: str) -> list[tuple[str, str]]:
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = to_regclass(%s) AND contype = 'f'",
        [table],
    )
    return list(cur.fetchall())


def _create_new_table(cur: CursorWrapper, months: list[date]) -> None:
    """The partitioned copy: same columns, FKs, indexes (suffixed `_p`
    until the swap) and trigger as the plain table."""
    cur.execute(f'DROP TABLE IF EXISTS "{NEW}" CASCADE')  # a previous, aborted run
    cur.execute(
        f'CREATE TABLE "{NEW}" (LIKE "{TABLE}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)'
        " PARTITION BY RANGE (recorded_at)"
    )
    cur.execute(f'ALTER TABLE "{NEW}" ADD PRIMARY KEY (id, recorded_at)')
    for conname, definition in _foreign_keys(cur, TABLE):
        cur.execute(f'ALTER TABLE "{NEW}" ADD CONSTRAINT "{conname}" {definition}')
    for month in months:
        _create_partition(cur, NEW, month)
    for name, definition in _indexes(cur, TABLE):
        new_def = definition.replace(f"INDEX {name} ON", f"INDEX {name[:61]}_p ON", 1)
        new_def = re.sub(rf"\bON (ONLY )?(\w+\.)?{TABLE}\b", f"ON {NEW}", new_def, count=1)
        cur.execute(new_def)
    cur.execute(
        f'CREATE TRIGGER "{TRIGGER}_p" BEFORE UPDATE OR DELETE ON "{NEW}"'
        " FOR EACH ROW EXECUTE FUNCTION tickets_event_append_only()"
    )


def _copy_batch(cur: CursorWrapper, after: int, upto: int) -> int:
    cur.execute(f'INSERT INTO "{NEW}" SELECT * FROM "{TABLE}" WHERE id > %s AND id <= %s', [after, upto])
    return int(cur.rowcount)


def _erasure_since(cur: CursorWrapper, started: datetime) -> bool:
    cur.execute(
        "SELECT EXISTS (SELECT 1 FROM privacy_privacyauditevent WHERE kind = 'person.erased' AND occurred_at >= %s)",
        [started],
    )
    return bool(cur.fetchone()[0])


def _swap(cur: CursorWrapper, copied_upto: int, started: datetime) -> int:
    """Under a lock that blocks writers (readers go on): copy the rows
    written meanwhile, then rename. The plain table is kept as OLD."""
    # Writers queue behind this lock: give up rather than stall them long.
    cur.execute("SET LOCAL lock_timeout = '10s'")
    cur.execute(f'LOCK TABLE "{TABLE}" IN EXCLUSIVE MODE')
    if _erasure_since(cur, started):
        # A redaction may have rewritten rows already copied: start over.
        raise PartitionError("A person was erased during the copy; run events_partition --convert again.")
    cur.execute(f'SELECT coalesce(max(id), 0) FROM "{TABLE}"')
    top = int(cur.fetchone()[0])
    tail = _copy_batch(cur, copied_upto, top)
    cur.execute(
        "SELECT last_value FROM pg_sequences WHERE schemaname = current_schema() AND sequencename ="
        " split_part(pg_get_serial_sequence(%s, 'id'), '.', 2)",
        [TABLE],
    )
    row = cur.fetchone()
    next_id = max(top, int(row[0] or 0) if row else 0) + 1
    for name, _definition in _indexes(cur, TABLE):
        cur.execute(f'ALTER INDEX "{name}" RENAME TO "{name[:59]}_old"')
    cur.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{OLD}"')
    cur.execute(f'ALTER TABLE "{NEW}" RENAME TO "{TABLE}"')
    for name, _definition in _indexes(cur, TABLE):
        if name.endswith("_p") and not name.startswith(f"{NEW}_"):
            cur.execute(f'ALTER INDEX "{name}" RENAME TO "{name[:-2]}"')
    cur.execute(f'ALTER TRIGGER "{TRIGGER}_p" ON "{TABLE}" RENAME TO "{TRIGGER}"')
    cur.execute(f'ALTER TABLE "{TABLE}" ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (START WITH {next_id})')
    cur.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
        [TABLE],
    )
    for (name,) in cur.fetchall():
        cur.execute(f'ALTER TABLE "{name}" RENAME TO "{TABLE}{name[len(NEW) :]}"')
    return tail


def convert(*, batch: int = 50_000, ahead: int = 3, log: Callable[[str], None] = print) -> int:
    """Turn the plain event table into the partitioned one; rows copied.

    Copies in id batches, each its own transaction, while the application
    keeps writing; then a short exclusive lock (writers wait, readers do
    not) copies the rest and swaps the names. Restartable: an aborted run
    leaves the plain table untouched and is redone from scratch."""
    _check_ahead(ahead)
    if connection.vendor != "postgresql":
        raise PartitionError("Partitioning needs PostgreSQL; SQLite keeps the plain table.")
    if is_partitioned():
        raise PartitionError("The event log is already partitioned.")
    started = timezone.now()
    with transaction.atomic(), connection.cursor() as cur:
        # A full scan (no index on recorded_at), so no lock is held here;
        # rows written from now on are recorded this month or later.
        cur.execute(f'SELECT min(recorded_at) FROM "{TABLE}"')
        oldest = cur.fetchone()[0]
        first = _month(oldest or started)
        months = [add_months(first, i) for i in range(_months_between(first, _month(started)) + ahead + 1)]
        _create_new_table(cur, months)
    top = _settled_top()
    log(f"created {NEW} with {len(months)} monthly partitions; copying ids up to {top}")
    copied, after = 0, 0
    while after < top:
        upto = min(after + batch, top)
        with transaction.atomic(), connection.cursor() as cur:
            copied += _copy_batch(cur, after, upto)
        after = upto
        log(f"copied {copied} (id <= {upto})")
    try:
        with transaction.atomic(), connection.cursor() as cur:
            copied += _swap(cur, after, started)
    except OperationalError as exc:  # lock_timeout: a long writer held the table
        raise PartitionError(f"Could not lock the event table ({exc}); run events_partition --convert again.") from exc
    log(f"swapped: {TABLE} is partitioned ({copied} rows); the old table is kept as {OLD}")
    return copied


def _settled_top() -> int:
    """The highest id, read while no insert is in flight, so that every id up
    to it is committed (or never will be) and every later insert draws a
    larger one. SHARE mode waits for the transactions writing the table (an
    INSERT takes its lock before it draws its id and keeps it until commit)
    and holds new writers back only for one index probe. Waiting for the
    transactions of a snapshot is not enough: an INSERT that has drawn its
    id but not yet written its row may have no transaction id to wait for,
    and its row, committed later below the top, would be missed
    (tests/tickets/test_event_partitions.py, the online conversion test)."""
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '10s'")
            cur.execute(f'LOCK TABLE "{TABLE}" IN SHARE MODE')
            cur.execute(f'SELECT coalesce(max(id), 0) FROM "{TABLE}"')
            return int(cur.fetchone()[0])
    except OperationalError as exc:
        raise PartitionError(f"Could not lock the event table ({exc}); run events_partition --convert again.") from exc


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month
