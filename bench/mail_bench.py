"""Inbound mail, end to end (issue 22): N real MIME messages through the IMAP
entry point, drained by a real Celery worker with 2 processes.

    createdb -h 127.0.0.1 -U postgres helpdesk_mail_bench
    BENCH_DB=helpdesk_mail_bench .venv/bin/python bench/mail_bench.py setup --tickets 600
    BENCH_DB=helpdesk_mail_bench REDIS_URL=redis://127.0.0.1:6379/12 \
        .venv/bin/python bench/mail_bench.py run --n 1000 --concurrency 2
    BENCH_DB=helpdesk_mail_bench .venv/bin/python bench/mail_bench.py profile --n 200

`setup` migrates BENCH_DB and writes a desk: the queue `support` receiving
support@acme.test (acknowledgements on), 5 agents, 400 customers and
`--tickets` e-mail tickets, each answered by an agent with that answer's
notification delivered (dummy backend), so replies can thread by the reply
token, by In-Reply-To (the notification's Message-ID) and by "[#id]".

`run` serves the messages from a small IMAP4rev1 server in this process; a
Mailbox row points at it. It starts `celery worker --concurrency N -Q mail`
(prefork, as deployed), warms it up with a few messages, then enqueues one
`mail.mailbox_poll` task — the task beat runs — which fetches, stores raw,
marks \\Seen and enqueues `mail.inbound_process` per message, and enqueues
itself again while its batch comes back full (`--repoll` makes the bench
do that for code before the chain). Measured from that enqueue until every
message has left `received`: messages/s; CPU of the worker processes and of
their PostgreSQL backends (/proc utime+stime) per message; `uptime` load.
Notification delivery (queue `outbox`) is not part of the run: the rows it
leaves are reported.

`profile` stores `--n` messages of the same mix in-process and runs
`inbound_process` on each: queries and CPU per message by kind, and the
cProfile of the whole batch (`--top`).

The mix per 20 messages: 7 new requests from known customers (3 with Cc,
2 multipart/alternative), 2 from unknown senders, 2 with attachments (PDF,
PNG), 4 replies to the ticket's reply address, 2 replies by In-Reply-To and
1 by "[#id]" (both authenticated by the trusted receiving server), 1
unauthenticated reply by In-Reply-To (held) and 1 auto-reply (dropped).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import socketserver
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = str(ROOT / ".venv" / "bin" / "python")
AUTHSERV = "mx.acme.test"
SUPPORT = "support@acme.test"


def bench_env(db: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-not-secret"),
        "DJANGO_DEBUG": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_DEFAULT_FROM_EMAIL": "helpdesk@acme.test",
        "DJANGO_MEDIA_ROOT": os.environ.get("DJANGO_MEDIA_ROOT", str(ROOT / "media" / db)),
        "HELPDESK_MAIL_REPLY_ADDRESS": SUPPORT,
        "HELPDESK_MAIL_DEFAULT_QUEUE": "support",
        "HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS": AUTHSERV,
        "EMAIL_URL": "dummymail://",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"),
    }


def django_setup(db: str) -> None:
    os.environ.update(bench_env(db))
    import django

    django.setup()


# --- the desk -----------------------------------------------------------------


def setup(args: argparse.Namespace) -> None:
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=bench_env(args.db), check=True)
    django_setup(args.db)
    from accounts.models import User
    from mail.models import Notification
    from mail.services import notification_deliver
    from tickets import services as ticket_services
    from tickets.models import Queue, Ticket

    queue, _ = Queue.objects.get_or_create(slug="support", defaults={"name": "Support", "kind": "support"})
    queue.inbound_email, queue.send_acknowledgement = SUPPORT, True
    queue.save()
    agents = []
    for i in range(5):
        email = f"agent{i}@acme.test"
        agent = User.objects.filter(email=email).first() or User.objects.create_user(
            email=email, name=f"Agent {i}", role="agent"
        )
        queue.members.add(agent)
        agents.append(agent)
    customers = [
        User.objects.filter(email=f"cust{i}@customer.example").first()
        or User.objects.create_user(email=f"cust{i}@customer.example", name=f"Customer {i}")
        for i in range(400)
    ]
    have = Ticket.objects.filter(queue=queue).count()
    rng = random.Random(1)
    for i in range(have, args.tickets):
        customer = customers[i % len(customers)]
        ticket = ticket_services.ticket_create(
            subject=f"Setup request {i}: printer on floor {i % 7}",
            body="Hello,\n\nthe printer does not print.\n\nThanks",
            queue=queue,
            requester=customer,
            actor=customer,
            channel=Ticket.Channel.EMAIL,
            email_message_id=make_msgid(domain="customer.example"),
        )
        ticket_services.message_post(ticket_id=ticket.pk, author=rng.choice(agents), body="We are looking into it.")
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        notification_deliver(notification_id=pk)
    print(
        f"desk: {Ticket.objects.count()} tickets, {User.objects.count()} users, "
        f"{Notification.objects.filter(status='sent').count()} notifications sent"
    )


# --- the messages -------------------------------------------------------------

PDF = b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 800 + b"%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
) + b"\x00" * 12000

BODY = (
    "Hello,\n\nsince this morning {what} does not work any more. I tried restarting it twice and "
    "cleared the cache as your documentation says, but the error is still there:\n\n"
    "    Error 0x{code:04x}: the operation could not be completed\n\n"
    "Could you please have a look? It is blocking the whole team.\n\nBest regards\n{name}\n"
)
QUOTE = (
    "\n\nOn Mon, 7 Dec 2026 at 09:00, Support <support@acme.test> wrote:\n"
    "> We are looking into it.\n> \n> -- \n> Acme\n"
)


def _msg(sender: str, to: str, subject: str, body: str, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">"))
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def _stamped(msg: EmailMessage, *, authenticated: bool) -> bytes:
    """As our receiving server hands it on: its Authentication-Results and Received lines on top."""
    domain = msg["From"].rpartition("@")[2].strip(">")
    verdict = (
        f"dkim=pass header.d={domain}; spf=pass smtp.mailfrom={domain}; dmarc=pass header.from={domain}"
        if authenticated
        else f"dkim=none; spf=none smtp.mailfrom={domain}; dmarc=none header.from={domain}"
    )
    stamp = (
        f"Authentication-Results: {AUTHSERV};\r\n {verdict}\r\n"
        f"Received: from out.{domain} by {AUTHSERV} with ESMTPS; {formatdate(localtime=False)}\r\n"
    )
    return stamp.encode() + msg.as_bytes()


KINDS = (
    ["new"] * 4 + ["new_cc"] * 3 + ["new_unknown"] * 2 + ["new_attachment"] * 2
    + ["reply_token"] * 4 + ["reply_header"] * 2 + ["reply_subject"] + ["held"] + ["auto_reply"]
)  # fmt: skip


def messages_make(n: int, *, seed: int = 7, prefix: str = "bench") -> list[tuple[str, bytes]]:
    """`n` (kind, raw bytes) of the mix above, from the desk's real threads."""
    from mail.models import Notification, ReplyToken

    threads = list(
        Notification.objects.filter(status="sent", kind="agent_reply", ticket__isnull=False)
        .values_list("ticket_id", "message_id", "recipient__email", "recipient__name")
        .order_by("id")
    )
    tokens = dict(ReplyToken.objects.values_list("ticket_id", "token"))
    if not threads:
        raise SystemExit("no delivered notifications: run `setup` first")
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        c = rng.randrange(400)
        customer = f"Customer {c} <cust{c}@customer.example>"
        text = BODY.format(what=rng.choice(["the VPN", "the printer", "my login", "the export"]), code=i, name="C")
        ticket_id, notif_id, req_email, req_name = rng.choice(threads)
        requester = f"{req_name} <{req_email}>"
        if kind.startswith("new"):
            sender = f"New Person {i} <{prefix}{i}@newcomer.example>" if kind == "new_unknown" else customer
            msg = _msg(sender, SUPPORT, f"{rng.choice(['VPN', 'Printer', 'Login'])} problem #{prefix}-{i}", text)
            if kind == "new_cc":
                msg["Cc"] = f"cust{(c + 1) % 400}@customer.example, boss{i % 9}@customer.example"
            if i % 10 < 2 and kind in ("new", "new_cc"):
                msg.add_alternative(f"<html><body><p>{text.replace(chr(10), '<br>')}</p></body></html>", subtype="html")
            if kind == "new_attachment":
                if i % 2:
                    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename=f"invoice-{i}.pdf")
                else:
                    msg.add_attachment(PNG, maintype="image", subtype="png", filename=f"screenshot-{i}.png")
            raw = _stamped(msg, authenticated=i % 3 == 0)
        elif kind == "reply_token":
            local, _, domain = SUPPORT.partition("@")
            msg = _msg(requester, f"{local}+{tokens[ticket_id]}@{domain}", f"Re: your request [#{ticket_id}]",
                       f"Thanks, it works again.{QUOTE}", In_Reply_To=notif_id, References=notif_id)  # fmt: skip
            raw = _stamped(msg, authenticated=False)
        elif kind in ("reply_header", "held"):
            msg = _msg(requester, SUPPORT, "Re: your request", f"Still broken here.{QUOTE}",
                       In_Reply_To=notif_id, References=notif_id)  # fmt: skip
            raw = _stamped(msg, authenticated=kind == "reply_header")
        elif kind == "reply_subject":
            msg = _msg(requester, SUPPORT, f"Re: [#{ticket_id}] your request", f"One more detail.{QUOTE}")
            raw = _stamped(msg, authenticated=True)
        else:
            msg = _msg(customer, SUPPORT, "Automatic reply: your request", "I am out of office until Monday.",
                       Auto_Submitted="auto-replied")  # fmt: skip
            raw = _stamped(msg, authenticated=True)
        out.append((kind, raw))
    return out


# --- a small IMAP server --------------------------------------------------------


class ImapServer:
    """Just enough IMAP4rev1 for imaplib and mail.services.mailbox_poll."""

    def __init__(self) -> None:
        self.messages: dict[int, bytes] = {}
        self.seen: set[int] = set()
        self.lock = threading.Lock()
        self.on_logout: Any = None  # called after each session (the bench polls again while mail is unseen)
        imap = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"* OK IMAP4rev1 bench ready\r\n")
                while line := self.rfile.readline():
                    tag, _, rest = line.decode().strip().partition(" ")
                    cmd, out = rest.upper(), self.wfile.write
                    if cmd.startswith(("LOGIN", "CAPABILITY")):
                        out(b"* CAPABILITY IMAP4rev1\r\n" + f"{tag} OK done\r\n".encode())
                    elif cmd.startswith("SELECT"):
                        out(f"* {len(imap.messages)} EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK done\r\n".encode())
                    elif cmd.startswith("UID SEARCH"):
                        with imap.lock:
                            uids = " ".join(str(u) for u in sorted(imap.messages) if u not in imap.seen)
                        out(f"* SEARCH {uids}".rstrip().encode() + f"\r\n{tag} OK done\r\n".encode())
                    elif cmd.startswith("UID FETCH"):
                        uids = [int(u) for u in cmd.split()[2].split(",")]
                        for n, uid in enumerate(uids, 1):
                            body = imap.messages[uid]
                            if "RFC822.SIZE" in cmd:
                                out(f"* {n} FETCH (UID {uid} RFC822.SIZE {len(body)})\r\n".encode())
                            else:
                                out(f"* {n} FETCH (UID {uid} BODY[] {{{len(body)}}}\r\n".encode() + body + b")\r\n")
                        out(f"{tag} OK done\r\n".encode())
                    elif cmd.startswith("UID STORE"):
                        uids = [int(u) for u in cmd.split()[2].split(",")]
                        with imap.lock:
                            imap.seen.update(uids)
                        for n, uid in enumerate(uids, 1):
                            out(f"* {n} FETCH (FLAGS (\\Seen) UID {uid})\r\n".encode())
                        out(f"{tag} OK done\r\n".encode())
                    elif cmd.startswith("LOGOUT"):
                        out(f"* BYE\r\n{tag} OK bye\r\n".encode())
                        if imap.on_logout is not None:
                            imap.on_logout()
                        return
                    else:
                        out(f"{tag} BAD unknown\r\n".encode())

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def unseen(self) -> int:
        with self.lock:
            return len(self.messages) - len(self.seen)

    def add(self, raws: list[bytes]) -> None:
        with self.lock:
            start = max(self.messages, default=0) + 1
            for i, raw in enumerate(raws):
                self.messages[start + i] = raw


# --- CPU from /proc -----------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """CPU time of one process and its threads so far, in seconds (0 once it
    is gone): /proc/<pid>/schedstat, in nanoseconds (utime+stime in /proc/<pid>/stat
    count 10 ms ticks, too coarse for one message)."""
    total = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0.0
    for task in tasks:
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def tree_pids(pid: int) -> list[int]:
    pids = [pid]
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return pids
    for task in tasks:
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            pids.extend(tree_pids(int(kid)))
    return pids


class BackendSampler:
    """CPU of the bench database's PostgreSQL backends other than ours.

    A worker that opens a connection per task has backends living for one
    task, so a thread samples them every 20 ms and keeps each one's last
    value (what a backend spends after its last sample is missed: an
    undercount of at most 20 ms of CPU per connection)."""

    def __init__(self, db: str, exclude: set[int]) -> None:
        import psycopg2

        self.conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=db)
        self.conn.autocommit = True
        self.db, self.last, self.lock = db, {}, threading.Lock()
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.exclude = exclude | {cur.fetchone()[0]}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop.wait(0.02):
            self.sample()

    def sample(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.db])
            pids = [r[0] for r in cur.fetchall() if r[0] not in self.exclude]
        with self.lock:
            for pid in pids:
                value = proc_cpu(pid)
                if value:
                    self.last[pid] = value

    def snapshot(self) -> dict[int, float]:
        self.sample()
        with self.lock:
            return dict(self.last)


def cpu_snapshot(worker_pid: int, sampler: BackendSampler) -> dict[str, dict[int, float]]:
    return {"worker": {p: proc_cpu(p) for p in tree_pids(worker_pid)}, "pg": sampler.snapshot()}


def cpu_spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    return {k: sum(v - before[k].get(p, 0.0) for p, v in after[k].items()) for k in after}


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


# --- run ----------------------------------------------------------------------


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timeout waiting for {what}")
        time.sleep(0.05)


def run(args: argparse.Namespace) -> None:
    django_setup(args.db)
    import redis

    from helpdesk.celery import app
    from mail.models import InboundMessage, Mailbox, Notification

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    imap = ImapServer()
    mailbox, _ = Mailbox.objects.update_or_create(
        name="bench",
        defaults={"host": "127.0.0.1", "port": imap.port, "use_ssl": False, "username": "bench", "queue": None},
    )
    mailbox.password_env, mailbox.is_active, mailbox.last_uid, mailbox.uidvalidity = (
        "BENCH_IMAP_PASSWORD",
        True,
        0,
        None,
    )
    mailbox.save()
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        sampler = BackendSampler(args.db, {cur.fetchone()[0]})
    worker = subprocess.Popen(
        [PY, "-m", "celery", "-A", "helpdesk", "worker", "--concurrency", str(args.concurrency), "-Q", args.queues,
         "-l", "warning", "--without-heartbeat", "--without-gossip", "--without-mingle",
         "-n", f"mailbench-{os.getpid()}@%h"],
        cwd=args.code_root, env={**bench_env(args.db), "BENCH_IMAP_PASSWORD": "x"},
    )  # fmt: skip
    try:
        _wait(lambda: app.control.ping(timeout=0.5), 60, "the worker")

        def poll_again() -> None:
            # For code before the poll chained itself (main before issue 22's
            # second pass): a poll takes HELPDESK_IMAP_BATCH messages and beat
            # comes back a minute later, so the bench polls again at once.
            if imap.unseen():
                app.send_task("mail.mailbox_poll", kwargs={"mailbox_id": mailbox.pk})

        if args.repoll:
            imap.on_logout = poll_again
        tag = f"r{int(time.time())}"
        base = InboundMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0

        def done_since(first_id: int) -> int:
            return InboundMessage.objects.filter(pk__gt=first_id).exclude(status="received").count()

        # Warm-up: every worker process imports, connects and caches before the clock starts.
        warm = messages_make(args.warmup, seed=1, prefix=f"{tag}w")
        imap.add([raw for _, raw in warm])
        app.send_task("mail.mailbox_poll", kwargs={"mailbox_id": mailbox.pk})
        _wait(lambda: done_since(base) >= args.warmup, 300, "the warm-up")
        mark = InboundMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0
        mix = messages_make(args.n, seed=args.seed, prefix=tag)
        imap.add([raw for _, raw in mix])
        pending_before = Notification.objects.filter(status="pending").count()
        load_before = load()
        cpu0 = cpu_snapshot(worker.pid, sampler)
        t0 = time.perf_counter()
        app.send_task("mail.mailbox_poll", kwargs={"mailbox_id": mailbox.pk})
        _wait(lambda: done_since(mark) >= args.n, 3600, "the messages")
        wall = time.perf_counter() - t0
        cpu = cpu_spent(cpu0, cpu_snapshot(worker.pid, sampler))
        load_after = load()
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    rows = InboundMessage.objects.filter(pk__gt=mark)
    statuses = Counter(rows.values_list("status", flat=True))
    per_msg = {k: 1000 * v / args.n for k, v in cpu.items()}
    result = {
        "n": args.n,
        "concurrency": args.concurrency,
        "seconds": round(wall, 2),
        "messages_per_s": round(args.n / wall, 1),
        "cpu_ms_per_message": {k: round(v, 1) for k, v in per_msg.items()} | {"total": round(sum(per_msg.values()), 1)},
        "ceiling_2_cores_per_s": round(2000 / sum(per_msg.values()), 1),
        "statuses": dict(statuses),
        "notifications_left_pending": Notification.objects.filter(status="pending").count() - pending_before,
        "load_before": load_before,
        "load_after": load_after,
    }
    print(json.dumps(result))
    unexpected = rows.filter(status="quarantined").values_list("pk", "reason")[:5]
    for pk, reason in unexpected:
        print(f"quarantined #{pk}: {reason}", file=sys.stderr)


# --- profile ------------------------------------------------------------------


def profile(args: argparse.Namespace) -> None:
    django_setup(args.db)
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from mail.models import InboundMessage
    from mail.services import inbound_process, inbound_store

    mix = messages_make(args.n, seed=args.seed, prefix=f"p{int(time.time())}")
    p0 = time.process_time()
    stored = [(kind, inbound_store(raw, source=InboundMessage.Source.IMAP)) for kind, raw in mix]
    store_ms = 1000 * (time.process_time() - p0) / args.n
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = cur.fetchone()[0]
    queries: dict[str, list[int]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    statuses: Counter[str] = Counter()
    prof = cProfile.Profile()
    sql_time = 0.0
    shown: set[str] = set()
    split = [0.0, 0.0]  # Python (with cProfile's overhead), PostgreSQL backend
    for kind, inbound in stored:
        reset_queries()
        b0, p0 = proc_cpu(backend), time.process_time()
        with CaptureQueriesContext(connection) as ctx:
            prof.enable()
            result = inbound_process(inbound_id=inbound.pk)
            prof.disable()
        py, pg = time.process_time() - p0, proc_cpu(backend) - b0
        split[0], split[1] = split[0] + py, split[1] + pg
        cpu[kind].append(1000 * (py + pg))
        queries[kind].append(len(ctx.captured_queries))
        sql_time += sum(float(q["time"]) for q in ctx.captured_queries)
        statuses[f"{kind}:{result.status}"] += 1
        if args.sql and kind in args.sql and kind not in shown:
            shown.add(kind)
            print(f"--- {kind}: {len(ctx.captured_queries)} queries")
            for q in ctx.captured_queries:
                print(f"  {float(q['time']) * 1000:6.1f} ms  {q['sql'][:230]}")
    total_q = sum(sum(v) for v in queries.values())
    total_cpu = sum(sum(v) for v in cpu.values())
    print(f"load {load()}; {args.n} messages; statuses {dict(statuses)}")
    print(f"inbound_store (the poll's part): Python CPU ms/message {store_ms:.1f}")
    print(
        f"queries/message {total_q / args.n:.1f}; CPU ms/message {total_cpu / args.n:.1f} "
        f"(Python {1000 * split[0] / args.n:.1f} under cProfile + PostgreSQL {1000 * split[1] / args.n:.1f})"
    )
    print(f"SQL wall ms/message (client side) {1000 * sql_time / args.n:.1f}")
    for kind in sorted(queries):
        q, c = queries[kind], cpu[kind]
        print(
            f"  {kind:15} n={len(q):4} queries max {max(q):3} mean {sum(q) / len(q):5.1f}"
            f"  CPU ms {sum(c) / len(c):6.1f}"
        )
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "helpdesk_mail_bench"))
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--tickets", type=int, default=600)
    r = sub.add_parser("run")
    r.add_argument("--n", type=int, default=1000)
    r.add_argument("--concurrency", type=int, default=2)
    r.add_argument("--warmup", type=int, default=40)
    r.add_argument("--seed", type=int, default=7)
    r.add_argument("--queues", default="mail")
    r.add_argument("--repoll", action="store_true", help="poll again after each session (code without the chain)")
    r.add_argument("--code-root", default=str(ROOT), help="run the worker from this checkout (e.g. main, for 'before')")
    p = sub.add_parser("profile")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--top", type=int, default=45)
    p.add_argument("--sort", default="cumulative")
    p.add_argument("--sql", nargs="*", default=[], help="print the statements of the first message of these kinds")
    args = parser.parse_args()
    {"setup": setup, "run": run, "profile": profile}[args.cmd](args)


if __name__ == "__main__":
    main()
