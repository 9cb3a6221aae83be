"""IMAP polling against a small scripted IMAP4rev1 server on localhost."""

import re
import socket
import socketserver
import threading

import pytest

from mail import services
from mail.crypto import secret_decrypt
from mail.models import InboundMessage, Mailbox
from tests.mail.conftest import eml, mime

pytestmark = pytest.mark.django_db


class FakeImap:
    """Just enough IMAP4rev1 for imaplib: LOGIN, SELECT, UID SEARCH/FETCH/STORE."""

    def __init__(self, messages: dict[int, bytes], password: str):
        self.messages = messages
        self.seen: set[int] = set()
        self.password = password
        self.logins: list[str] = []
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
                        uid = int(re.search(r"UID FETCH (\d+)", cmd).group(1))
                        body = fake.messages[uid]
                        out(f"* 1 FETCH (UID {uid} BODY[] {{{len(body)}}}\r\n".encode() + body + b")\r\n")
                        out(f"{tag} OK done\r\n".encode())
                    elif cmd.startswith("UID STORE"):
                        uid = int(re.search(r"UID STORE (\d+)", cmd).group(1))
                        fake.seen.add(uid)
                        out(f"* 1 FETCH (FLAGS (\\Seen) UID {uid})\r\n{tag} OK done\r\n".encode())
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
