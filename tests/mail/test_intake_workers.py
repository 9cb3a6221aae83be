"""IMAP intake with real worker processes (each its own PostgreSQL
connection, a private Redis): a worker killed in the middle of a group of
messages, then two workers and two polls racing over the same folder.
Every message ends processed exactly once (issue 22, bench/MAIL.md)."""

from collections import Counter

import psycopg2
import pytest
from django.db import connection

from mail import services
from mail.models import InboundMessage, Mailbox
from tests.factories import ticket_make
from tests.mail.conftest import mime
from tests.mail.test_imap import FakeImap
from tests.processes import broker_at, send_task, sigkill, wait_for, worker_running
from tickets.models import Ticket

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD_ENV = {"TEST_INBOUND_IMAP_PW": "imap-pw"}


@pytest.fixture
def private_redis():
    from tests.processes import redis_server_running

    with redis_server_running() as server:
        yield server


def _raw_connection():
    s = connection.settings_dict
    conn = psycopg2.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"], dbname=s["NAME"])
    conn.autocommit = False
    return conn


def _waiting_on_lock(cur) -> list[int]:
    cur.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND state = 'active'"
    )
    return [r[0] for r in cur.fetchall()]


def _messages(ticket: Ticket, token: str, first: int, n: int) -> dict[int, bytes]:
    """Every fourth a reply to `ticket` by its reply address, else a new request."""
    out = {}
    for uid in range(first, first + n):
        if uid % 4 == 0:
            raw = mime(sender=ticket.requester.email, to=f"support+{token}@acme.test", subject=f"Re: {uid}")
        else:
            raw = mime(sender=f"c{uid}@customer.example", subject=f"Request {uid}")
        out[uid] = raw
    return out


def _sweep(redis_url: str) -> None:
    """What mail.inbound_sweep does, without waiting its minutes."""
    from mail.tasks import inbound_enqueue

    with broker_at(redis_url):
        for pk in services.inbound_pending_ids(older_than_minutes=0):
            inbound_enqueue(pk)


def test_killed_worker_and_racing_workers_process_every_message_once(private_redis, queue, customer):
    ticket = ticket_make(queue=queue, requester=customer, subject="Thread")
    token = services.reply_token_for(ticket_id=ticket.pk)
    first = _messages(ticket, token, 1, 40)
    later = _messages(ticket, token, 41, 20)
    url = private_redis.url()
    holder, observer = _raw_connection(), _raw_connection()
    observer.autocommit = True
    with FakeImap(dict(first), password="imap-pw") as server:
        mailbox = Mailbox.objects.create(
            name="m", host="127.0.0.1", port=server.port, use_ssl=False, username="u", queue=queue,
            password_env="TEST_INBOUND_IMAP_PW",
        )  # fmt: skip
        try:
            # The first reply's transaction waits on the ticket row: the
            # victim is killed inside it, with the rest of its group unstarted.
            with holder.cursor() as cur:
                cur.execute("SELECT 1 FROM tickets_ticket WHERE id = %s FOR UPDATE", [ticket.pk])
            with worker_running(redis_url=url, name="victim", level="warning", extra_env=PASSWORD_ENV) as victim:
                send_task(url, "mail.mailbox_poll", mailbox_id=mailbox.pk)
                with observer.cursor() as cur:
                    assert wait_for(lambda: _waiting_on_lock(cur), timeout=60), "the worker never reached a reply"
                sigkill(victim)
            holder.rollback()
            assert server.seen == set(first)  # stored and flagged before processing
            assert InboundMessage.objects.filter(status="received").exists()

            server.messages.update(later)
            with (
                worker_running(redis_url=url, name="a", level="warning", extra_env=PASSWORD_ENV),
                worker_running(redis_url=url, name="b", level="warning", extra_env=PASSWORD_ENV),
            ):
                for _ in range(2):  # two polls of one folder at once (beat and a chain)
                    send_task(url, "mail.mailbox_poll", mailbox_id=mailbox.pk)
                _sweep(url)  # the killed worker's group, while its tasks' twins run
                assert wait_for(lambda: server.seen == set(first) | set(later), timeout=120)
                assert wait_for(lambda: not InboundMessage.objects.filter(status="received").exists(), timeout=180)
        finally:
            holder.close()
            observer.close()

    rows = list(InboundMessage.objects.values_list("message_id", "status", "reason"))
    processed = Counter(mid for mid, status, _ in rows if status == "processed")
    raws = {**first, **later}
    ids = {_message_id(raw) for raw in raws.values()}
    assert set(processed) == ids and set(processed.values()) == {1}
    assert {(s, r.split(" (")[0][:12]) for _, s, r in rows if s != "processed"} <= {("dropped", "duplicate of")}
    replies = sum(1 for uid in raws if uid % 4 == 0)
    assert ticket.messages.count() == 1 + replies
    subjects = Counter(Ticket.objects.exclude(pk=ticket.pk).values_list("subject", flat=True))
    assert subjects == Counter(f"Request {uid}" for uid in raws if uid % 4)


def _message_id(raw: bytes) -> str:
    from mail.parsing import message_id_peek

    return message_id_peek(raw)
