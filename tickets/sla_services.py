"""SLA writes: stored due instants, the breach scan, escalations, reminders.

* `tickets_sla_refresh(ticket_ids)` recomputes the SLA state (tickets.sla,
  pure) of tickets and stores their due instants and the next instant the
  scan must look at them (`sla_next_check_at`). Every event-writing
  transaction marks its tickets dirty (tickets.sla_dirty, an in-transaction
  TICKETS_CHANGED subscriber); a worker refreshes them after the commit and
  the scan drains what is left first, so the due times follow every reply,
  status, priority or queue change (docs/delivery.md, "SLA due instants").
* `sla_breach_scan(now)` (Celery beat, every minute) claims the tickets whose
  `sla_next_check_at` has passed (a range scan on a partial index, FOR NO KEY
  UPDATE SKIP LOCKED), marks each warning and breach EXACTLY ONCE (a unique
  SLAMark row inserted with ON CONFLICT DO NOTHING in the same transaction as
  its event) and runs the policy's escalation actions, recorded as events.
* `tickets_remind_pending(now)`: once per pending period, after the queue's
  `pending_reminder_days`, an automated public message to the requester.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from tickets import sla, subscribers
from tickets.clock_context import clock_context, clock_events_by_ticket
from tickets.models import Queue, SLAMark, SLAPolicy, Ticket, TicketEvent

logger = logging.getLogger(__name__)

K = TicketEvent.Kind
SLA_FIELDS = ("first_response_due_at", "next_reply_due_at", "resolution_due_at", "sla_due_at", "sla_next_check_at")
PRIORITY_ORDER = ("low", "normal", "high", "urgent")
ESCALATION_ACTIONS = ("raise_priority", "notify_manager", "reassign")
ESCALATION_ON = ("warning", "breach")
SCAN_BATCH = 500
# Breaches of a target that is no longer open (fulfilled late, or solved)
# are still marked when they happened within this window; older ones are
# history (e.g. an import), reported by the metrics but not re-announced.
DEFAULT_LOOKBACK = timedelta(hours=24)
# A ticket whose processing fails is retried after this delay.
RETRY_DELAY = timedelta(minutes=5)
# Passes over a claimed batch while escalations keep moving due instants
# into the past (each pass needs a new once-only mark, so this is a bound,
# not a loop the data can drive forever).
RESCAN_ROUNDS = 4

REMINDER_BODY = (
    "We are still waiting for your reply on this request. "
    "Reply to this message (or on the portal) and we will pick it up again."
)

# Tickets whose refresh the caller will run itself (the scan): events it
# records do not trigger a nested refresh of the same ticket.
_deferred: ContextVar[frozenset[int]] = ContextVar("sla_refresh_deferred", default=frozenset())


@contextmanager
def _defer(ticket_ids: Iterable[int]) -> Iterator[None]:
    token = _deferred.set(_deferred.get() | frozenset(ticket_ids))
    try:
        yield
    finally:
        _deferred.reset(token)


def _lookback() -> timedelta:
    hours = getattr(settings, "HELPDESK_SLA_MARK_LOOKBACK_HOURS", None)
    return timedelta(hours=hours) if hours is not None else DEFAULT_LOOKBACK


# --- state ------------------------------------------------------------------


def _policies_by_queue(queue_ids: Iterable[int]) -> dict[int, SLAPolicy]:
    return {
        q.pk: q.sla_policy  # type: ignore[misc]  # sla_policy__isnull=False
        for q in Queue.objects.filter(pk__in=set(queue_ids), sla_policy__isnull=False).select_related("sla_policy")
    }


def _marks(ticket_ids: Iterable[int]) -> dict[int, set[tuple[str, str, int]]]:
    out: dict[int, set[tuple[str, str, int]]] = defaultdict(set)
    rows = SLAMark.objects.filter(ticket_id__in=list(ticket_ids), kind__in=[SLAMark.Kind.WARNING, SLAMark.Kind.BREACH])
    for tid, kind, target, cycle in rows.values_list("ticket_id", "kind", "target", "cycle"):
        out[tid].add((kind, target, cycle))
    return out


def _should_mark_breach(t: sla.TargetState, now: datetime) -> bool:
    return t.outcome == sla.BREACHED and t.due_at is not None and (t.open or t.due_at >= now - _lookback())


def _should_warn(t: sla.TargetState, now: datetime) -> bool:
    return t.outcome == sla.ACTIVE and t.open and not t.paused and t.warning_at is not None and t.warning_at <= now


def next_check_at(state: sla.SLAState, marks: set[tuple[str, str, int]], now: datetime) -> datetime | None:
    """The earliest warning or breach of `state` not marked yet (None: none)."""
    candidates: list[datetime] = []
    for t in state.targets:
        if t.outcome == sla.BREACHED:
            if (SLAMark.Kind.BREACH, t.target, t.cycle) not in marks and _should_mark_breach(t, now):
                candidates.append(t.due_at)  # type: ignore[arg-type]  # _should_mark_breach: not None
        elif t.outcome == sla.ACTIVE and t.open and not t.paused:
            if t.due_at is not None:
                candidates.append(t.due_at)
            if t.warning_at is not None and (SLAMark.Kind.WARNING, t.target, t.cycle) not in marks:
                candidates.append(t.warning_at)
    return min(candidates) if candidates else None


def ticket_sla_states(
    ticket_ids: Sequence[int], *, now: datetime | None = None, queue_of: dict[int, int] | None = None
) -> dict[int, tuple[sla.SLAState, SLAPolicy | None]]:
    """SLA state of each ticket (and its policy) as of `now`. Reads only.
    `queue_of` (ticket id -> queue id), when the caller has read it, saves
    that query."""
    now = now or timezone.now()
    ctx = clock_context(as_of=now)
    if queue_of is None:
        queue_of = dict(Ticket.objects.filter(pk__in=ticket_ids).values_list("pk", "queue_id"))
    policies = _policies_by_queue(queue_of.values())
    events = clock_events_by_ticket(list(queue_of))
    out = {}
    for tid, qid in queue_of.items():
        policy = policies.get(qid)
        fraction = policy.warning_fraction if policy else sla.DEFAULT_WARNING_FRACTION
        out[tid] = (sla.sla_state(events.get(tid, []), ctx, warning_fraction=fraction), policy)
    return out


# --- refresh ----------------------------------------------------------------


def tickets_sla_refresh(*, ticket_ids: Iterable[int], now: datetime | None = None) -> int:
    """Recompute and store the SLA due instants of `ticket_ids`.

    Call inside the writing transaction. Tickets without a policy and with
    nothing stored are skipped with one query. Returns how many tickets'
    stored SLA state changed (what `helpdesk_config --dry-run` reports).
    """
    ids = sorted(set(ticket_ids) - _deferred.get())
    if not ids:
        return 0
    now = now or timezone.now()
    changed = 0
    for i in range(0, len(ids), SCAN_BATCH):
        changed += _refresh_chunk(ids[i : i + SCAN_BATCH], now)
    return changed


def _refresh_chunk(ids: list[int], now: datetime) -> int:
    tickets = list(
        Ticket.objects.filter(pk__in=ids)
        .filter(Q(queue__sla_policy__isnull=False) | Q(sla_due_at__isnull=False) | Q(sla_next_check_at__isnull=False))
        .only("pk", "queue_id", *SLA_FIELDS)
    )
    if not tickets:
        return 0
    states = ticket_sla_states([t.pk for t in tickets], now=now, queue_of={t.pk: t.queue_id for t in tickets})
    marks = _marks([t.pk for t in tickets])
    dirty = []
    for t in tickets:
        state, _policy = states[t.pk]
        wanted: dict[str, Any] = state.fields()
        wanted["sla_next_check_at"] = next_check_at(state, marks.get(t.pk, set()), now)
        if any(getattr(t, name) != value for name, value in wanted.items()):
            for name, value in wanted.items():
                setattr(t, name, value)
            dirty.append(t)
    if len(dirty) == 1:
        _store_one(dirty[0])
    elif dirty:
        Ticket.objects.bulk_update(dirty, list(SLA_FIELDS))
    return len(dirty)


_STORE_ONE_SQL = f"UPDATE tickets_ticket SET {', '.join(f'{name} = %s' for name in SLA_FIELDS)} WHERE id = %s"  # noqa: S608


def _store_one(ticket: Ticket) -> None:
    """bulk_update([ticket], SLA_FIELDS) written out: the refresh after one
    write changes one ticket, and compiling bulk_update's CASE expressions
    was a quarter of the task's CPU (docs/delivery.md, "Delivery written
    out")."""
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cur:
        cur.execute(_STORE_ONE_SQL, [*(adapt(getattr(ticket, name)) for name in SLA_FIELDS), ticket.pk])


# --- breach scan ----------------------------------------------------------------


@dataclass
class ScanResult:
    tickets: int = 0
    breaches: int = 0
    warnings: int = 0
    escalations: int = 0
    errors: int = 0
    marked: list[tuple[int, str, str, int]] = field(default_factory=list)  # (ticket, kind, target, cycle)


_MARK_SQL = (
    "INSERT INTO tickets_slamark (ticket_id, kind, target, cycle, due_at, marked_at)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (ticket_id, kind, target, cycle) DO NOTHING RETURNING id"
)


def _mark(ticket_id: int, kind: str, target: str, cycle: int, due_at: datetime | None, now: datetime) -> int | None:
    """Insert the once-only row; its id, or None if it already existed."""
    with connection.cursor() as cur:
        cur.execute(
            _MARK_SQL,
            [ticket_id, kind, target, cycle, due_at, now],
        )
        row = cur.fetchone()
    return row[0] if row else None


def sla_breach_scan(*, now: datetime | None = None, batch: int = SCAN_BATCH, max_batches: int = 200) -> ScanResult:
    """Mark due SLA warnings and breaches (events, exactly once) and escalate.

    Safe to run concurrently (two beats, a retried task): tickets are claimed
    with SKIP LOCKED and each mark is a unique row written with its event.
    """
    now = now or timezone.now()
    from tickets.sla_dirty import sla_dirty_drain

    # The sweep of the dirty marks (a wake-up lost between commit and
    # broker): every stored next check is fresh before the scan reads them.
    sla_dirty_drain(now=now)
    result = ScanResult()
    for _ in range(max_batches):
        with transaction.atomic():
            ids = list(
                Ticket.objects.select_for_update(skip_locked=True, no_key=True)
                .filter(sla_next_check_at__lte=now)
                .order_by("sla_next_check_at")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            failed: list[int] = []
            todo = ids
            for _round in range(RESCAN_ROUNDS):
                marked = len(result.marked)
                failed += _process_batch(todo, now, result)
                done = [tid for tid in todo if tid not in failed]
                tickets_sla_refresh(ticket_ids=done, now=now)
                if len(result.marked) == marked:
                    break
                # An escalation (a raised priority, another queue) can move a
                # due instant into the past: mark it in this scan, not after
                # the progress guarantee's minute below.
                todo = list(Ticket.objects.filter(pk__in=done, sla_next_check_at__lte=now).values_list("pk", flat=True))
                if not todo:
                    break
            done = [tid for tid in ids if tid not in failed]
            if failed:
                Ticket.objects.filter(pk__in=failed).update(sla_next_check_at=now + RETRY_DELAY)
            # Progress guarantee: never leave a claimed ticket due at or before now.
            Ticket.objects.filter(pk__in=done, sla_next_check_at__lte=now).update(
                sla_next_check_at=now + timedelta(minutes=1)
            )
            result.tickets += len(ids)
        if len(ids) < batch:
            break
    return result


def _process_batch(ids: list[int], now: datetime, result: ScanResult) -> list[int]:
    """Mark and escalate what is due for `ids`; returns the ids that failed."""
    states = ticket_sla_states(ids, now=now)
    marks = _marks(ids)
    failed = []
    with _defer(ids):  # the caller refreshes the whole batch once
        for tid in ids:
            state, policy = states[tid]
            try:
                with transaction.atomic():
                    _process(tid, state, policy, marks.get(tid, set()), now, result)
            except Exception:
                logger.exception("SLA scan failed for ticket %s; retrying later", tid)
                result.errors += 1
                failed.append(tid)
    return failed


def _process(
    tid: int,
    state: sla.SLAState,
    policy: SLAPolicy | None,
    marks: set[tuple[str, str, int]],
    now: datetime,
    result: ScanResult,
) -> None:
    ticket = None
    for t in state.targets:
        if _should_mark_breach(t, now):
            kind, event_kind = SLAMark.Kind.BREACH, K.SLA_BREACHED
        elif _should_warn(t, now):
            kind, event_kind = SLAMark.Kind.WARNING, K.SLA_WARNING
        else:
            continue
        if (kind, t.target, t.cycle) in marks:
            continue
        mark_id = _mark(tid, kind, t.target, t.cycle, t.due_at, now)
        if mark_id is None:
            continue  # another scan marked it first
        from tickets.events import event_record

        ticket = ticket or Ticket.objects.get(pk=tid)
        event = event_record(
            ticket,
            event_kind,
            actor=None,
            occurred_at=now,
            data={
                "target": t.target,
                "cycle": t.cycle,
                "due_at": t.due_at,
                "warning_at": t.warning_at,
                "target_s": t.target_s,
                "elapsed_s": t.elapsed_s,
                "business_hours": t.business_hours,
                "late_s": (now - t.due_at).total_seconds() if kind == SLAMark.Kind.BREACH and t.due_at else None,
            },
        )
        SLAMark.objects.filter(pk=mark_id).update(event_id=event.pk)
        result.marked.append((tid, kind, t.target, t.cycle))
        if kind == SLAMark.Kind.BREACH:
            result.breaches += 1
        else:
            result.warnings += 1
        if policy is not None:
            result.escalations += _escalate(ticket, policy, on=kind, target=t, now=now)
            ticket.refresh_from_db()


# --- escalation ------------------------------------------------------------------


def _managers_for(ticket: Ticket) -> list[Any]:
    from accounts.models import User

    managers = User.objects.filter(role__in=User.MANAGER_ROLES, is_active=True)
    in_queue = managers.filter(queues=ticket.queue_id)
    return list(in_queue.order_by("pk")) or list(managers.filter(role=User.Role.MANAGER).order_by("pk"))


def _escalate(ticket: Ticket, policy: SLAPolicy, *, on: str, target: sla.TargetState, now: datetime) -> int:
    """Run the policy's actions for `on` (warning|breach) of `target`; each is
    recorded as an `sla.escalated` event, then performed through the usual
    services (so priority and queue changes are their own events)."""
    from tickets import services
    from tickets.events import event_record

    done = 0
    for action in policy.escalations or []:
        if action.get("on", "breach") != on:
            continue
        wanted_targets = action.get("targets") or sla.TARGETS
        if target.target not in wanted_targets:
            continue
        name = action.get("action")
        data: dict[str, Any] = {"action": name, "on": on, "target": target.target, "cycle": target.cycle}
        if name == "raise_priority":
            current = PRIORITY_ORDER.index(ticket.priority)
            wanted = action.get("priority") or PRIORITY_ORDER[min(current + 1, len(PRIORITY_ORDER) - 1)]
            if PRIORITY_ORDER.index(wanted) <= current:
                continue
            data.update({"from": ticket.priority, "to": wanted})
            event_record(ticket, K.SLA_ESCALATED, actor=None, occurred_at=now, data=data)
            services.ticket_set_priority(ticket_id=ticket.pk, priority=wanted, actor=None, occurred_at=now)
        elif name == "reassign":
            queue = Queue.objects.filter(slug=action.get("queue")).first()
            if queue is None or queue.pk == ticket.queue_id:
                continue
            data.update({"from": ticket.queue_id, "to": queue.pk, "queue": queue.slug})
            event_record(ticket, K.SLA_ESCALATED, actor=None, occurred_at=now, data=data)
            services.ticket_move_queue(
                ticket_id=ticket.pk, queue=queue, actor=None, reason=f"SLA {on}: {target.target}", occurred_at=now
            )
        elif name == "notify_manager":
            managers = _managers_for(ticket)
            data["recipients"] = [m.pk for m in managers]
            event = event_record(ticket, K.SLA_ESCALATED, actor=None, occurred_at=now, data=data)
            _notify(event, ticket, managers, on=on, target=target)
        else:
            logger.warning("unknown SLA escalation action %r on policy %s", name, policy.pk)
            continue
        ticket.refresh_from_db()
        done += 1
    return done


def _notify(event: TicketEvent, ticket: Ticket, users: Sequence[Any], *, on: str, target: sla.TargetState) -> None:
    """Ask SLA_NOTIFY's subscribers (the mail outbox, when installed) to tell
    `users` of an escalation, in this transaction."""
    subscribers.publish(subscribers.SLA_NOTIFY, event=event, ticket=ticket, users=users, on=on, target=target)


# --- reminders ---------------------------------------------------------------------


def tickets_remind_pending(*, now: datetime | None = None, batch: int = 500) -> int:
    """Remind requesters of tickets pending for the queue's `pending_reminder_days`.

    Once per pending period (an SLAMark keyed by the period's start), as an
    automated public system message (a `message.created` event, which the
    mail outbox sends to the requester). Returns how many were sent.
    """
    from tickets import services

    now = now or timezone.now()
    cond = Q()
    for qid, days in Queue.objects.filter(pending_reminder_days__gt=0).values_list("pk", "pending_reminder_days"):
        cond |= Q(queue_id=qid, status_changed_at__lte=now - timedelta(days=days or 0))
    if not cond:
        return 0
    already = SLAMark.objects.filter(
        ticket=OuterRef("pk"), kind=SLAMark.Kind.REMINDER, due_at=OuterRef("status_changed_at")
    )
    ids = list(
        Ticket.objects.filter(cond, status=Ticket.Status.PENDING, is_spam=False, is_deleted=False)
        .exclude(Exists(already))
        .order_by("status_changed_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    sent = 0
    for pk in ids:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update(no_key=True).select_related("queue").get(pk=pk)
            days = ticket.queue.pending_reminder_days
            if ticket.status != Ticket.Status.PENDING or not days:
                continue
            if ticket.status_changed_at > now - timedelta(days=days):
                continue
            cycle = int(ticket.status_changed_at.timestamp())
            mark_id = _mark(pk, SLAMark.Kind.REMINDER, "", cycle, ticket.status_changed_at, now)
            if mark_id is None:
                continue
            message = services.message_post(
                ticket_id=pk,
                author=None,
                author_role="system",
                body=REMINDER_BODY,
                is_automated=True,
                occurred_at=now,
                apply_rules=False,
            )
            event_id = (
                TicketEvent.objects.filter(ticket_id=pk, kind=K.MESSAGE, data__message_id=message.pk)
                .values_list("pk", flat=True)
                .first()
            )
            SLAMark.objects.filter(pk=mark_id).update(event_id=event_id)
            sent += 1
    return sent
