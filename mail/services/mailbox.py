"""IMAP polling, UID-based: fetch unseen, store raw, then mark seen."""

import contextlib
import imaplib
import logging
import os
import re
from typing import Any

from django.utils import timezone

from mail.conf import mail_setting
from mail.crypto import secret_decrypt, secret_encrypt
from mail.models import InboundMessage, Mailbox

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


def mailbox_poll(*, mailbox_id: int) -> int:
    """Fetch up to HELPDESK_IMAP_BATCH unseen messages of one mailbox.

    Each message is stored raw (inbound_store commits it) before it is
    flagged \\Seen, so a crash between the two re-fetches it next time and
    the Message-ID dedupe drops the copy. Processing is enqueued per
    message. Errors are recorded on the mailbox and re-raised. Returns the
    number of messages stored.
    """
    from mail.services.inbound import inbound_store
    from mail.tasks import inbound_enqueue

    mailbox = Mailbox.objects.get(pk=mailbox_id)
    stored = 0
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
            uids = [int(u) for u in (data[0] or b"").split()]
            for uid in sorted(uids)[: mail_setting("HELPDESK_IMAP_BATCH")]:
                typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
                _check(typ, data, "UID FETCH")
                raw = next((part[1] for part in data if isinstance(part, tuple) and len(part) > 1), None)
                if raw is None:
                    continue
                inbound = inbound_store(raw, source=InboundMessage.Source.IMAP, mailbox=mailbox)
                if inbound.status == InboundMessage.Status.RECEIVED:
                    inbound_enqueue(inbound.pk)
                typ, data = conn.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
                _check(typ, data, "UID STORE")
                mailbox.last_uid = max(mailbox.last_uid, uid)
                stored += 1
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                conn.logout()
    except (imaplib.IMAP4.error, OSError, ValueError) as exc:
        mailbox.last_error = f"{timezone.now():%Y-%m-%d %H:%M:%S} {type(exc).__name__}: {exc}"[:2000]
        mailbox.last_polled_at = timezone.now()
        mailbox.save(update_fields=["last_error", "last_polled_at", "last_uid", "uidvalidity"])
        raise
    mailbox.last_error = ""
    mailbox.last_polled_at = timezone.now()
    mailbox.save(update_fields=["last_error", "last_polled_at", "last_uid", "uidvalidity"])
    return stored


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
