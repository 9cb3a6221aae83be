"""IMAP polling against a small scripted IMAP4rev1 server on localhost."""

import socket
import socketserver
import threading

import pytest

from mail import services
from mail.crypto import secret_decrypt
from mail.models import InboundMessage, Mailbox
from tests.mail.conftest import eml, mime

pytestmark = pytest.mark.django_db


def uid_set(text: str, messages: dict[int, bytes]) -> list[int]:
    """The UIDs of an IMAP sequence set ("5", "5,7", "3:9") that exist."""
    uids: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition(":")
        top = max(messages, default=0) if high == "*" else int(high or low)
        uids.update(u for u in messages if int(low) <= u <= top)
    return sorted(uids)


class FakeImap:
    """Just enough IMAP4rev1 for imaplib: LOGIN, SELECT, UID SEARCH/FETCH/STORE."""

    def __init__(self, messages: dict[int, bytes], password: str):
        self.messages = messages
        self.seen: set[int] = set()
        self.password = password
        self.logins: list[str] = []
        self.commands: list[str] = []  # UID FETCH / UID STORE, as sent
        fake = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"* OK IMAP4rev1 fake ready\r\n")
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    tag, _, rest = line.decode().strip().partition(" ")
                    cmd = rest.upper()
                    out = self.wfile.write
                    if cmd.startswith("CAPABILITY"):
                        out(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + f"{tag} OK done\r\n".encode())
                    elif cmd.startswith("LOGIN"):
                        password = rest.split(" ", 2)[2].strip('"')
                        fake.logins.append(password)
                        ok = password == fake.password
                        out(f"{tag} {'OK' if ok else 'NO'} login\r\n".encode())
                    elif cmd.startswith("SELECT"):
                        out(f"* {len(fake.messages)} EXISTS\r\n* OK [UIDVALIDITY 42] ok\r\n".encode())
                        out(f"{tag} OK [READ-WRITE] done\r\n".encode())
                    elif cmd.startswith("UID SEARCH"):
                        uids = " ".join(str(u) for u in sorted(fake.messages) if u not in fake.seen)
                        out(f"* SEARCH {uids}\r\n{tag} OK done\r\n".encode().replace(b"SEARCH \r", b"SEARCH\r"))
                    elif cmd.startswith("UID FETCH"):
                        fake.commands.append(cmd)
                        uids = uid_set(cmd.split()[2], fake.messages)
                        for n, uid in enumerate(uids, 1):
                            body = fake.messages[uid]
                            if "RFC822.SIZE" in cmd:
                                out(f"* {n} FETCH (UID {uid} RFC822.SIZE {len(body)})\r\n".encode())
                            else:
                                out(f"* {n} FETCH (UID {uid} BODY[] {{{len(body)}}}\r\n".encode() + body + b")\r\n")
                        out(f"{tag} OK done\r\n".encode())
                    elif cmd.startswith("UID STORE"):
                        fake.commands.append(cmd)
                        uids = uid_set(cmd.split()[2], fake.messages)
                        fake.seen.update(uids)
                        for n, uid in enumerate(uids, 1):
                            out(f"* {n} FETCH (FLAGS (\\Seen) UID {uid})\r\n".encode())
                        out(f"{tag} OK done\r\n".encode())
                    elif cmd.startswith("LOGOUT"):
                        out(f"* BYE\r\n{tag} OK bye\r\n".encode())
                        return
                    else:
                        out(f"{tag} BAD unknown\r\n".encode())

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_password_is_stored_encrypted(mail_settings):
    mailbox = Mailbox.objects.create(name="m", host="h", username="u")
    services.mailbox_set_password(mailbox=mailbox, password="hunter2")
    mailbox.refresh_from_db()
    assert "hunter2" not in mailbox.password_encrypted
    assert secret_decrypt(mailbox.password_encrypted) == "hunter2"


def test_poll_stores_processes_and_marks_seen_one_failure_does_not_stop_others(mail_settings, queue, celery_eager):
    messages = {5: eml("plain.eml"), 7: mime(subject="Second via IMAP"), 9: eml("auto_reply.eml", ticket="1")}
    with FakeImap(messages, password="imap-pw") as server:
        broken = Mailbox.objects.create(
            name="broken", host="127.0.0.1", port=closed_port(), use_ssl=False, username="x"
        )
        good = Mailbox.objects.create(
            name="good", host="127.0.0.1", port=server.port, use_ssl=False, username="support", queue=queue
        )
        services.mailbox_set_password(mailbox=good, password="imap-pw")
        results = services.mailboxes_poll_all()
        assert results[broken.pk].startswith("error: ConnectionRefusedError")
        assert results[good.pk] == "ok: 3"
        assert server.seen == {5, 7, 9}
        assert server.logins == ["imap-pw"]
        rows = InboundMessage.objects.filter(mailbox=good).order_by("id")
        assert [r.source for r in rows] == ["imap"] * 3
        assert [r.status for r in rows] == ["processed", "processed", "dropped"]
        assert rows[1].ticket.subject == "Second via IMAP" and rows[1].ticket.queue == queue
        good.refresh_from_db()
        broken.refresh_from_db()
        assert (good.last_uid, good.uidvalidity, good.last_error) == (9, 42, "")
        assert "ConnectionRefusedError" in broken.last_error
        # Nothing new next time; a message re-delivered unseen is a duplicate.
        assert services.mailboxes_poll_all()[good.pk] == "ok: 0"
        server.seen.discard(5)
        assert services.mailboxes_poll_all()[good.pk] == "ok: 1"
        assert InboundMessage.objects.filter(mailbox=good).latest("id").status == "dropped"


def test_wrong_password_is_recorded(mail_settings):
    with FakeImap({}, password="right") as server:
        mailbox = Mailbox.objects.create(name="m", host="127.0.0.1", port=server.port, use_ssl=False, username="u")
        services.mailbox_set_password(mailbox=mailbox, password="wrong")
        result = services.mailboxes_poll_all()[mailbox.pk]
        assert result.startswith("error:")
        mailbox.refresh_from_db()
        assert "LOGIN" in mailbox.last_error or "login" in mailbox.last_error


def test_a_full_batch_polls_again_at_once(mail_settings, queue, celery_eager):
    """Beat polls each mailbox once a minute; a backlog larger than a batch
    is fetched by the task enqueueing itself again, not 50 a minute."""
    from mail.tasks import mailbox_poll

    mail_settings.HELPDESK_IMAP_BATCH = 2
    messages = {uid: mime(subject=f"Backlog {uid}") for uid in range(1, 6)}
    with FakeImap(messages, password="imap-pw") as server:
        mailbox = Mailbox.objects.create(
            name="busy", host="127.0.0.1", port=server.port, use_ssl=False, username="support", queue=queue
        )
        services.mailbox_set_password(mailbox=mailbox, password="imap-pw")
        assert mailbox_poll.apply(kwargs={"mailbox_id": mailbox.pk}).get() == 2
        assert server.seen == {1, 2, 3, 4, 5}
        assert server.logins == ["imap-pw"] * 3  # 2 + 2 + 1: the short batch ends the chain
        assert (
            sorted(InboundMessage.objects.filter(mailbox=mailbox).values_list("status", flat=True)) == ["processed"] * 5
        )


def test_a_batch_is_fetched_stored_and_flagged_a_chunk_at_a_time(mail_settings, queue, celery_eager):
    """One FETCH of the sizes, then one FETCH and one STORE \\Seen per run
    of at most HELPDESK_IMAP_FETCH_BYTES (a larger message comes alone),
    not two commands per message: the poll was the intake's serial step."""
    messages = {uid: mime(subject=f"Batch {uid}") for uid in (3, 4, 6, 8)}
    messages[9] = mime(subject="Big one", body="x" * 5000)
    mail_settings.HELPDESK_IMAP_FETCH_BYTES = 3 * len(messages[3]) + 200
    with FakeImap(messages, password="imap-pw") as server:
        mailbox = Mailbox.objects.create(
            name="m", host="127.0.0.1", port=server.port, use_ssl=False, username="support", queue=queue
        )
        services.mailbox_set_password(mailbox=mailbox, password="imap-pw")
        assert services.mailbox_poll(mailbox_id=mailbox.pk) == 5
        assert server.commands == [
            "UID FETCH 3,4,6,8,9 (RFC822.SIZE)",
            "UID FETCH 3,4,6 (BODY.PEEK[])",
            "UID STORE 3,4,6 +FLAGS (\\SEEN)",
            "UID FETCH 8 (BODY.PEEK[])",
            "UID STORE 8 +FLAGS (\\SEEN)",
            "UID FETCH 9 (BODY.PEEK[])",
            "UID STORE 9 +FLAGS (\\SEEN)",
        ]
    rows = InboundMessage.objects.filter(mailbox=mailbox).order_by("id")
    assert [r.subject for r in rows] == ["Batch 3", "Batch 4", "Batch 6", "Batch 8", "Big one"]
    assert {r.status for r in rows} == {"processed"}


def test_copies_in_one_batch_are_stored_once_and_dropped_once(mail_settings, queue, celery_eager):
    """A batch holding the same mail twice (and another mail reusing its
    Message-ID) is stored message by message: one ticket, one dropped
    duplicate, the reuse flagged, as when they come in separate polls."""
    original = mime(subject="Twice", message_id="<same@customer.example>")
    reuse = mime(subject="Other content", message_id="<same@customer.example>")
    with FakeImap({1: original, 2: original, 3: reuse}, password="imap-pw") as server:
        mailbox = Mailbox.objects.create(
            name="m", host="127.0.0.1", port=server.port, use_ssl=False, username="support", queue=queue
        )
        services.mailbox_set_password(mailbox=mailbox, password="imap-pw")
        assert services.mailbox_poll(mailbox_id=mailbox.pk) == 3
        assert server.seen == {1, 2, 3}
    first, copy, other = InboundMessage.objects.filter(mailbox=mailbox).order_by("id")
    assert (first.status, copy.status, copy.duplicate_of_id) == ("processed", "dropped", first.pk)
    assert (other.status, other.same_message_id_as_id) == ("processed", first.pk)


def test_a_known_message_id_with_other_content_is_flagged_in_a_batch(mail_settings, queue, celery_eager):
    """The batch insert keeps inbound_store's rule: a mail reusing the
    Message-ID of an earlier one with other content points at it."""
    earlier = services.inbound_store(mime(subject="Earlier", message_id="<m1@customer.example>"), source="http")
    rows = services.inbound_store_many(
        [mime(subject="Later", message_id="<m1@customer.example>"), mime(subject="Fresh")], source="imap"
    )
    assert [r.same_message_id_as_id for r in rows] == [earlier.pk, None]
    assert [r.status for r in rows] == ["received", "received"]


def test_the_next_poll_is_queued_ahead_of_the_batch_in_groups(mail_settings, queue):
    """On a real broker: a full batch queues the next poll first (it runs
    while the batch is processed, not after it), then the batch's
    processing, HELPDESK_INBOUND_TASK_BATCH messages to a task, in order."""
    import base64
    import json

    import redis

    from mail.tasks import mailbox_poll
    from tests.processes import broker_at, redis_server_running

    mail_settings.HELPDESK_IMAP_BATCH = 7
    mail_settings.HELPDESK_INBOUND_TASK_BATCH = 3
    messages = {uid: mime(subject=f"Queued {uid}") for uid in range(1, 10)}
    with FakeImap(messages, password="imap-pw") as server, redis_server_running() as broker:
        mailbox = Mailbox.objects.create(
            name="m", host="127.0.0.1", port=server.port, use_ssl=False, username="support", queue=queue
        )
        services.mailbox_set_password(mailbox=mailbox, password="imap-pw")
        with broker_at(broker.url()):
            assert mailbox_poll.apply(kwargs={"mailbox_id": mailbox.pk}).get() == 7
        queued = []
        for item in reversed(redis.Redis.from_url(broker.url()).lrange("mail", 0, -1)):  # oldest first
            message = json.loads(item)
            _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            queued.append((message["headers"]["task"], kwargs))
    ids = list(InboundMessage.objects.order_by("id").values_list("pk", flat=True))
    assert len(ids) == 7 and set(InboundMessage.objects.values_list("status", flat=True)) == {"received"}
    assert queued == [
        ("mail.mailbox_poll", {"mailbox_id": mailbox.pk}),
        ("mail.inbound_process", {"inbound_id": ids[0], "more_ids": ids[1:3]}),
        ("mail.inbound_process", {"inbound_id": ids[3], "more_ids": ids[4:6]}),
        ("mail.inbound_process", {"inbound_id": ids[6]}),
    ]
