"""Inbound mail's cost, independent of the machine's load (issue 22,
bench/MAIL.md): statements per processed message, the user lookups through
the lower(email) index, and the worker keeping its database connection."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mail import services
from mail.models import InboundMessage, Notification
from tests.factories import CustomerFactory
from tests.mail.conftest import authenticated, mime
from tickets import services as ticket_services

S = InboundMessage.Status

# Statements of inbound_process (BEGIN and COMMIT included) with the
# production defaults: SLA refresh and e-mail rendering deferred to workers.
# Before issue 22's second pass: 36 (the new mail: unknown sender, a known and a new CC)
# and, in bench/mail_bench.py profile, 20 / 19 for the replies.
NEW_WITH_CCS = 31
REPLY_BY_HEADER = 18
REPLY_BY_TOKEN = 18


@pytest.fixture
def production_paths(mail_settings):
    mail_settings.HELPDESK_SLA_REFRESH = "worker"
    mail_settings.HELPDESK_NOTIFY_RENDER = "send"
    return mail_settings


def processed_with_queries(raw: bytes) -> tuple[InboundMessage, list[str]]:
    inbound = services.inbound_store(raw, source="imap")
    with CaptureQueriesContext(connection) as ctx:
        inbound = services.inbound_process(inbound_id=inbound.pk)
    return inbound, [q["sql"] for q in ctx.captured_queries]


@pytest.mark.django_db
def test_statements_per_inbound_message_are_bounded(production_paths, queue, agent):
    queue.send_acknowledgement = True
    queue.save(update_fields=["send_acknowledgement"])
    CustomerFactory(email="known.cc@customer.example")
    new, sql = processed_with_queries(
        mime(subject="VPN down", headers={"Cc": "known.cc@customer.example, new.cc@customer.example"})
    )
    assert new.status == S.PROCESSED, new.reason
    assert sorted(new.ticket.ccs.values_list("email", flat=True)) == [
        "known.cc@customer.example",
        "new.cc@customer.example",
    ]
    assert len(sql) <= NEW_WITH_CCS, "\n".join(sql)
    # Sender and CCs are found through the lower(email) index: `email__iexact`
    # (UPPER(email) = UPPER(%s)) scans the whole user table on every mail.
    assert not [s for s in sql if 'UPPER("accounts_user"."email"' in s]

    ticket = new.ticket
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="Which client?")
    notification = Notification.objects.filter(ticket=ticket, kind="agent_reply").latest("id")
    services.notification_deliver(notification_id=notification.pk)
    notification.refresh_from_db()
    by_header, sql = processed_with_queries(
        authenticated(
            mime(subject="Re: VPN down", body="The Windows one.", headers={"In-Reply-To": notification.message_id})
        )
    )
    assert (by_header.status, by_header.ticket_id, by_header.threaded_by) == (S.PROCESSED, ticket.pk, "header")
    assert len(sql) <= REPLY_BY_HEADER, "\n".join(sql)

    token = services.reply_token_for(ticket_id=ticket.pk)
    by_token, sql = processed_with_queries(mime(to=f"support+{token}@acme.test", subject="Re: VPN down", body="Fixed."))
    assert (by_token.status, by_token.threaded_by) == (S.PROCESSED, "token")
    assert len(sql) <= REPLY_BY_TOKEN, "\n".join(sql)


def _sessions() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cur.fetchone()[0])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_keeps_its_database_connection_across_tasks(celery_worker, mail_settings, queue):
    """Celery's default opens a PostgreSQL session for every task (~6 ms of
    server CPU before the task's first statement); the worker now keeps one."""
    mail_settings.HELPDESK_INBOUND_PROCESS = "task"
    from mail.tasks import inbound_enqueue

    def process(n: int, tag: str) -> None:
        ids = [services.inbound_store(mime(subject=f"{tag} {i}"), source="imap").pk for i in range(n)]
        for pk in ids:
            assert inbound_enqueue(pk)
        deadline = time.monotonic() + 60
        while InboundMessage.objects.filter(pk__in=ids, status=S.RECEIVED).exists():
            assert time.monotonic() < deadline, "the worker did not process the messages"
            time.sleep(0.1)

    process(1, "warm-up")  # the worker's first task connects
    before = _sessions()
    process(8, "counted")
    time.sleep(1.0)  # session counts reach the statistics when a backend reports
    assert _sessions() - before <= 1
