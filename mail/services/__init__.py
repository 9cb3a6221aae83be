"""The mail app's services facade (other apps import from here)."""

from mail.services.csat import (
    CsatLinkExpired,
    CsatLinkInvalid,
    csat_record,
    csat_token_make,
    csat_token_read,
    csat_url,
)
from mail.services.held import inbound_discard, inbound_may_resolve, inbound_release
from mail.services.inbound import (
    inbound_pending_ids,
    inbound_process,
    inbound_receive,
    inbound_replay,
    inbound_store,
    inbound_store_many,
    sender_may_reply,
    thread_find,
)
from mail.services.mailbox import mailbox_password, mailbox_poll, mailbox_set_password, mailboxes_poll_all
from mail.services.outbox import (
    notification_deliver,
    notification_enqueue_report,
    notification_kinds_for_user,
    notification_preference_set,
    notifications_due_ids,
    notifications_enqueue,
    notifications_for_event,
    reply_to_address,
    reply_token_for,
    thread_root_id,
)

__all__ = [
    "CsatLinkExpired",
    "CsatLinkInvalid",
    "csat_record",
    "csat_token_make",
    "csat_token_read",
    "csat_url",
    "inbound_discard",
    "inbound_may_resolve",
    "inbound_pending_ids",
    "inbound_process",
    "inbound_receive",
    "inbound_release",
    "inbound_replay",
    "inbound_store",
    "inbound_store_many",
    "mailbox_password",
    "mailbox_poll",
    "mailbox_set_password",
    "mailboxes_poll_all",
    "notification_deliver",
    "notification_enqueue_report",
    "notification_kinds_for_user",
    "notification_preference_set",
    "notifications_due_ids",
    "notifications_enqueue",
    "notifications_for_event",
    "reply_to_address",
    "reply_token_for",
    "sender_may_reply",
    "thread_find",
    "thread_root_id",
]
