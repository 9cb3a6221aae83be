"""Settings of the email channel, read at call time (never at import).

Every value can be overridden in Django settings (environment-driven in
helpdesk/settings/base.py for the secrets and addresses).
"""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Shared secret of POST /mail/inbound/ ("" disables the endpoint).
    "HELPDESK_INBOUND_SECRET": "",
    # Largest raw message accepted by the endpoint (a 20 MB attachment is
    # ~27 MB once base64-encoded).
    "HELPDESK_INBOUND_MAX_BYTES": 40 * 1024 * 1024,
    # "task": process by Celery after commit (the sweeper covers a lost
    # enqueue); "inline": process in the request.
    "HELPDESK_INBOUND_PROCESS": "task",
    # What a reply with a valid ticket reference from a stranger becomes:
    # "new_ticket" or "quarantine".
    "HELPDESK_MAIL_STRANGER_REPLY": "new_ticket",
    # Inbound identity (docs/mail-security.md): authserv-ids of the
    # receiving servers whose Authentication-Results are believed (empty:
    # no mail is authenticated, so staff addresses never act as staff).
    "HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS": [],
    # An unauthenticated (not failed) reply from the requester or a CC to
    # the ticket's secret reply address goes in; off: it is held too.
    "HELPDESK_MAIL_TRUST_REPLY_TOKEN": True,
    # Cc addresses of a new mail that become CCs of its ticket.
    "HELPDESK_MAIL_MAX_CCS": 20,
    # Slug of the queue used when neither the mailbox nor the To address
    # decide one.
    "HELPDESK_MAIL_DEFAULT_QUEUE": "",
    # Reply address (plus-addressed with the reply token) and From address.
    "HELPDESK_MAIL_REPLY_ADDRESS": "",
    # Domain of our Message-IDs.
    "HELPDESK_MAIL_DOMAIN": "",
    # Absolute base URL for links in emails (CSAT).
    "HELPDESK_BASE_URL": "http://localhost:8000",
    "HELPDESK_CSAT_MAX_AGE_DAYS": 30,
    # Outbox: sweeper age, delivery attempts before "failed", and the age
    # past which an event is history (replayed by a seed or import), not news.
    "HELPDESK_NOTIFY_SWEEP_AFTER_MINUTES": 5,
    "HELPDESK_NOTIFY_MAX_ATTEMPTS": 8,
    "HELPDESK_NOTIFY_MAX_EVENT_AGE_HOURS": 24,
    # Seconds after which an attempt with no recorded outcome (the worker
    # died mid-send) is retried; above the send task's 30 s time limit.
    "HELPDESK_NOTIFY_ATTEMPT_TIMEOUT": 120,
    "HELPDESK_IMAP_BATCH": 50,
    # Mail fetched by one IMAP command (a poll fetches its batch in runs of
    # at most this many bytes; a larger message comes alone).
    "HELPDESK_IMAP_FETCH_BYTES": 8 * 1024 * 1024,
    "HELPDESK_IMAP_TIMEOUT": 30,
    # Inbound messages of one IMAP poll processed per worker task (each in
    # its own transaction): fewer tasks, the same parallelism for a batch.
    "HELPDESK_INBOUND_TASK_BATCH": 5,
}


def mail_setting(name: str) -> Any:
    """The configured value of `name`, else its default."""
    return getattr(settings, name, DEFAULTS[name])


def reply_address() -> str:
    return mail_setting("HELPDESK_MAIL_REPLY_ADDRESS") or settings.DEFAULT_FROM_EMAIL


def mail_domain() -> str:
    domain = mail_setting("HELPDESK_MAIL_DOMAIN")
    if domain:
        return str(domain)
    address = reply_address()
    return address.rpartition("@")[2].strip(">").strip() or "localhost"
