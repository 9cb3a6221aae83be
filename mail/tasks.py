"""Celery tasks of the email channel: thin, id-based, idempotent."""

import logging
import smtplib

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(
    name="mail.notification_send",
    autoretry_for=(smtplib.SMTPException, ConnectionError, OSError),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=20,
    time_limit=30,
)
def notification_send(notification_id: int, **kwargs: object) -> None:
    """Deliver one Notification; a no-op when already sent (safe to redeliver)."""
    from mail.services import notification_deliver

    notification_deliver(notification_id=notification_id)


@shared_task(name="mail.notifications_send_many", soft_time_limit=50, time_limit=60)
def notifications_send_many(notification_ids: list[int], **kwargs: object) -> None:
    """Deliver the rows one transaction wrote (a bulk create's
    acknowledgements). A row whose send fails is handed to notification_send,
    which retries it with backoff; a row that is gone is skipped."""
    _deliver_each(notification_ids)


# Rows one drain run sends at most; a full batch wakes the drain again.
DRAIN_BATCH = 200


@shared_task(name="mail.notifications_drain", soft_time_limit=50, time_limit=60)
def notifications_drain(**kwargs: object) -> int:
    """Send every pending notification that is due (woken, coalesced, by the
    commits that wrote rows: docs/delivery.md, "One wake-up for many
    writes"). A row in flight is left to its attempt; a failed row goes to
    notification_send, which retries it with backoff."""
    from helpdesk.lib.tasks import enqueue_coalesced, wake_started
    from mail.services.outbox import notifications_ready_ids

    wake_started(notifications_drain)  # before the claim: later writers wake us again
    ids = notifications_ready_ids(limit=DRAIN_BATCH)
    _deliver_each(ids)
    if len(ids) == DRAIN_BATCH:
        enqueue_coalesced(notifications_drain)
    return len(ids)


def _deliver_each(notification_ids: list[int]) -> None:
    """Deliver each row in turn; a failed one is handed to notification_send
    (its own retries with backoff), a row that is gone is skipped."""
    from helpdesk.lib.tasks import enqueue
    from mail.models import Notification
    from mail.services import notification_deliver

    for pk in notification_ids:
        try:
            notification_deliver(notification_id=pk)
        except Notification.DoesNotExist:
            continue
        except Exception:  # the row holds the error; its own task retries it
            logger.warning("notification %s failed in a batch; retried on its own", pk, exc_info=True)
            enqueue(notification_send, notification_id=pk)


@shared_task(name="mail.notifications_sweep", soft_time_limit=50, time_limit=60)
def notifications_sweep(**kwargs: object) -> int:
    """Re-enqueue pending notifications whose on-commit enqueue was lost or
    whose retry is due (the row is the truth, the message only a hint)."""
    from mail.services import notifications_due_ids, notifications_enqueue

    ids = notifications_due_ids()
    notifications_enqueue(ids)
    return len(ids)


# A task with more messages stops starting new ones after this many seconds
# and enqueues the rest, far inside its 50 s soft limit (a message cut by
# the limit would be quarantined).
INBOUND_TASK_BUDGET_S = 20.0


@shared_task(name="mail.inbound_process", soft_time_limit=50, time_limit=60)
def inbound_process(inbound_id: int, more_ids: list[int] | None = None, **kwargs: object) -> None:
    """Process stored inbound messages, each in its own transaction
    (quarantines on failure, never raises): `inbound_id`, then `more_ids`.

    Several messages per task save the worker's per-task cost (bench/MAIL.md)
    while both processes still share a poll's batch. Processing is
    idempotent (a row lock and the `received` status), so a task redelivered
    or racing another touches each message once; what a killed worker did
    not reach stays `received` for the inbound sweeper. A worker of the
    previous release ignores `more_ids`: the sweeper takes those."""
    import time

    from mail.services import inbound_process as process

    ids = [inbound_id, *(more_ids or [])]
    started = time.monotonic()
    for i, pk in enumerate(ids):
        if i and time.monotonic() - started > INBOUND_TASK_BUDGET_S:
            inbound_enqueue(ids[i], more_ids=ids[i + 1 :])
            return
        process(inbound_id=pk)


def inbound_enqueue(inbound_id: int, *, more_ids: list[int] | None = None) -> bool:
    """Enqueue processing of one message (or a group: `more_ids`); False
    (logged) when the broker is down — the inbound sweeper picks the rows up
    later."""
    kwargs: dict[str, object] = {"inbound_id": inbound_id}
    if more_ids:
        kwargs["more_ids"] = list(more_ids)
    try:
        inbound_process.apply_async(kwargs=kwargs)
    except Exception:
        logger.warning("inbound #%s not enqueued (broker down?); the sweeper will process it", inbound_id)
        return False
    return True


@shared_task(name="mail.inbound_sweep", soft_time_limit=50, time_limit=60)
def inbound_sweep(**kwargs: object) -> int:
    """Enqueue messages still `received` after a few minutes."""
    from mail.conf import mail_setting
    from mail.services import inbound_pending_ids

    ids = inbound_pending_ids(older_than_minutes=mail_setting("HELPDESK_NOTIFY_SWEEP_AFTER_MINUTES"))
    for pk in ids:
        if not inbound_enqueue(pk):
            break
    return len(ids)


@shared_task(name="mail.mailbox_poll", soft_time_limit=50, time_limit=60)
def mailbox_poll(mailbox_id: int, **kwargs: object) -> int:
    """Fetch one batch. A full batch means more mail may be waiting: poll
    again at once rather than at beat's next minute, which capped a mailbox
    at HELPDESK_IMAP_BATCH (50) messages a minute (bench/MAIL.md). The next
    poll is enqueued ahead of this batch's processing tasks, so it runs as
    soon as a worker process is free instead of after the whole batch (the
    fetch overlaps the processing; at most about two batches wait). Each
    poll marks what it stored \\Seen first, so the chain ends when the
    folder is read."""
    from mail.services import mailbox_poll as poll

    def enqueue_next() -> None:
        try:
            mailbox_poll.apply_async(kwargs={"mailbox_id": mailbox_id})
        except Exception:
            logger.warning("mailbox %s: next poll not enqueued (broker down?); beat polls again", mailbox_id)

    return poll(mailbox_id=mailbox_id, enqueue_next=enqueue_next)


@shared_task(name="mail.mailboxes_poll", soft_time_limit=25, time_limit=30)
def mailboxes_poll(**kwargs: object) -> int:
    """Fan out one poll task per active mailbox: one failing mailbox never
    stops the others."""
    from mail.models import Mailbox

    ids = list(Mailbox.objects.filter(is_active=True).values_list("pk", flat=True))
    for pk in ids:
        try:
            mailbox_poll.apply_async(kwargs={"mailbox_id": pk})
        except Exception:
            logger.warning("mailbox %s poll not enqueued", pk)
    return len(ids)
