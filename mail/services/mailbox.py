"""IMAP polling, UID-based: fetch unseen, store raw, then mark seen."""

import contextlib
import imaplib
import logging
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.utils import timezone

from mail.conf import mail_setting
from mail.crypto import secret_decrypt, secret_encrypt
from mail.models import InboundMessage, Mailbox
from mail.services.inbound import inbound_store_many

logger = logging.getLogger(__name__)


def mailbox_set_password(*, mailbox: Mailbox, password: str) -> None:
    """Store the password encrypted (never readable back through admin/API)."""
    mailbox.password_encrypted = secret_encrypt(password) if password else ""
    mailbox.save(update_fields=["password_encrypted"])


def mailbox_password(mailbox: Mailbox) -> str:
    if mailbox.password_env:
        return os.environ.get(mailbox.password_env, "")
    return secret_decrypt(mailbox.password_encrypted) if mailbox.password_encrypted else ""


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    timeout = mail_setting("HELPDESK_IMAP_TIMEOUT")
    if mailbox.use_ssl:
        return imaplib.IMAP4_SSL(mailbox.host, mailbox.port, timeout=timeout)
    return imaplib.IMAP4(mailbox.host, mailbox.port, timeout=timeout)


def _check(typ: str, data: object, what: str) -> None:
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what} failed: {data!r}")


def mailbox_poll(*, mailbox_id: int, enqueue_next: Callable[[], object] | None = None) -> int:
    """Fetch up to HELPDESK_IMAP_BATCH unseen messages of one mailbox.

    The batch is fetched a few messages per command (at most
    HELPDESK_IMAP_FETCH_BYTES of mail each) and each chunk's rows are
    stored together (inbound_store_many commits them) before the chunk is
    flagged \\Seen, so a crash between the two re-fetches it next time and
    the Message-ID dedupe drops the copy. One FETCH, one commit and one
    STORE per chunk, not per message: the poll was the serial step of the
    intake (bench/MAIL.md). Processing is enqueued per message once the
    whole batch is stored and seen, after `enqueue_next` (the task's next
    poll when the batch is full), so that poll runs while this batch is
    processed. A row whose enqueue is lost stays `received` for the
    inbound sweeper. Errors are recorded on the mailbox and re-raised.
    Returns the number of messages stored.
    """
    from mail.tasks import inbound_enqueue

    mailbox = Mailbox.objects.get(pk=mailbox_id)
    stored: list[InboundMessage] = []
    try:
        conn = _connect(mailbox)
        # imaplib's answers: a status word and a list of bytes or (header, body) tuples.
        typ: str
        data: list[Any]
        try:
            typ, data = conn.login(mailbox.username, mailbox_password(mailbox))
            _check(typ, data, "LOGIN")
            typ, data = conn.select(_quote(mailbox.folder))
            _check(typ, data, "SELECT")
            uidvalidity = _uidvalidity(conn)
            if uidvalidity is not None and uidvalidity != mailbox.uidvalidity:
                mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
            typ, data = conn.uid("SEARCH", None, "UNSEEN")  # type: ignore[arg-type]  # None: no charset
            _check(typ, data, "UID SEARCH")
            uids = sorted(int(u) for u in (data[0] or b"").split())[: mail_setting("HELPDESK_IMAP_BATCH")]
            for chunk in _chunks(conn, uids):
                raws = _fetch(conn, chunk)
                got = [uid for uid in chunk if uid in raws]
                if not got:
                    continue
                stored += inbound_store_many(
                    [raws[uid] for uid in got], source=InboundMessage.Source.IMAP, mailbox=mailbox
                )
                typ, data = conn.uid("STORE", _uid_set(got), "+FLAGS", "(\\Seen)")
                _check(typ, data, "UID STORE")
                mailbox.last_uid = max(mailbox.last_uid, *got)
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                conn.logout()
    except (imaplib.IMAP4.error, OSError, ValueError) as exc:
        mailbox.last_error = f"{timezone.now():%Y-%m-%d %H:%M:%S} {type(exc).__name__}: {exc}"[:2000]
        mailbox.last_polled_at = timezone.now()
        mailbox.save(update_fields=["last_error", "last_polled_at", "last_uid", "uidvalidity"])
        _enqueue_all(stored, inbound_enqueue)
        raise
    mailbox.last_error = ""
    mailbox.last_polled_at = timezone.now()
    mailbox.save(update_fields=["last_error", "last_polled_at", "last_uid", "uidvalidity"])
    if enqueue_next is not None and len(stored) >= mail_setting("HELPDESK_IMAP_BATCH"):
        enqueue_next()
    _enqueue_all(stored, inbound_enqueue)
    return len(stored)


def _enqueue_all(rows: list[InboundMessage], enqueue: Callable[..., bool]) -> None:
    """Processing of the batch's new rows, HELPDESK_INBOUND_TASK_BATCH to a
    task (in order); stops at the first failed publish (the broker is down:
    the inbound sweeper takes the rest)."""
    ids = [r.pk for r in rows if r.status == InboundMessage.Status.RECEIVED]
    size = max(int(mail_setting("HELPDESK_INBOUND_TASK_BATCH")), 1)
    for i in range(0, len(ids), size):
        if not enqueue(ids[i], more_ids=ids[i + 1 : i + size]):
            break


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(u) for u in uids)


def _chunks(conn: imaplib.IMAP4, uids: list[int]) -> Iterator[list[int]]:
    """`uids` in runs of at most HELPDESK_IMAP_FETCH_BYTES of mail (one
    RFC822.SIZE request for all), so a batch of large mails is never held
    in memory at once; a message larger than the limit comes alone."""
    if not uids:
        return
    limit = int(mail_setting("HELPDESK_IMAP_FETCH_BYTES"))
    typ, data = conn.uid("FETCH", _uid_set(uids), "(RFC822.SIZE)")
    _check(typ, data, "UID FETCH (RFC822.SIZE)")
    sizes: dict[int, int] = {}
    for line in data:
        text = (line if isinstance(line, bytes) else b"").decode("ascii", "replace")
        uid_match, size_match = re.search(r"UID (\d+)", text), re.search(r"RFC822\.SIZE (\d+)", text)
        if uid_match and size_match:
            sizes[int(uid_match.group(1))] = int(size_match.group(1))
    chunk: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, limit)  # unknown: fetched alone
        if chunk and total + size > limit:
            yield chunk
            chunk, total = [], 0
        chunk.append(uid)
        total += size
    if chunk:
        yield chunk


def _fetch(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, bytes]:
    """The raw bytes of `uids` in one UID FETCH, by UID. A message whose
    UID the answer does not name (a server putting it after the literal,
    which imaplib splits off) is fetched alone; one not in the answer any
    more (expunged meanwhile) is skipped."""
    typ, data = conn.uid("FETCH", _uid_set(uids), "(BODY.PEEK[])")
    _check(typ, data, "UID FETCH")
    raws: dict[int, bytes] = {}
    unnamed: list[bytes] = []
    for part in data:
        if isinstance(part, tuple) and len(part) > 1:
            match = re.search(rb"UID (\d+)", part[0])
            if match:
                raws[int(match.group(1))] = part[1]
            else:
                unnamed.append(part[1])
    if unnamed and len(uids) == 1:
        raws.setdefault(uids[0], unnamed[0])
    elif unnamed:
        for uid in uids:
            if uid not in raws:
                raws.update(_fetch(conn, [uid]))
    return raws


def _quote(folder: str) -> str:
    return folder if re.fullmatch(r"[A-Za-z0-9._/-]+", folder) else '"' + folder.replace('"', '\\"') + '"'


def _uidvalidity(conn: imaplib.IMAP4) -> int | None:
    _, data = conn.response("UIDVALIDITY")
    try:
        return int(data[0]) if data and data[0] else None
    except (TypeError, ValueError):
        return None


def mailboxes_poll_all() -> dict[int, str]:
    """Poll every active mailbox in turn; one failing never stops the rest.
    Returns {mailbox_id: "ok: N" | "error: ..."}."""
    results: dict[int, str] = {}
    for pk in Mailbox.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True):
        try:
            results[pk] = f"ok: {mailbox_poll(mailbox_id=pk)}"
        except Exception as exc:
            logger.warning("mailbox %s poll failed: %s", pk, exc)
            results[pk] = f"error: {type(exc).__name__}: {exc}"
    return results
