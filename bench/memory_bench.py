"""Web worker memory (issue #22 goal: RSS after 10,000 requests within 10 %
of after 100): our gunicorn (sync workers, no --max-requests, DEBUG off) on
a populated database, a mix of agent, customer and manager pages over many
different tickets, and each worker's RSS read from /proc at checkpoints.

    BENCH_DB=helpdesk_bench .venv/bin/python bench/memory_bench.py [--requests 10000] [--workers 2] [--clients 2]

BENCH_DB: an imported database (bench/import_bench.py import FILE; run
`manage.py metrics_rebuild` for the dashboard pages and `VACUUM ANALYZE`).
REDIS_URL as in bench/peer/compare.py. The clients send requests back to
back (no think time); at each checkpoint they stop, the workers' RSS
(VmRSS) is read, and they go on. A worker that was replaced (a new pid)
is reported: its RSS says nothing about growth. The import and the metrics
rebuild report their own peak RSS: bench/import_bench.py (`peak RSS`) and
`/usr/bin/time -v manage.py metrics_rebuild --reset --inline` (bench/METRICS.md).
"""

import argparse
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpbench as hb

CHECKPOINTS = (100, 1_000, 2_500, 5_000, 10_000, 20_000, 50_000)
WORDS = ("error", "refund", "invoice", "login", "export", "slow")

# (who, path for the i-th request of this kind); 20 slots, cycled.
Mix = list[tuple[str, Callable[[list[int], int], str]]]
MIX: Mix = [
    *[("agent", lambda ids, i: f"/agent/tickets/{ids[i % len(ids)]}/")] * 6,
    ("agent", lambda ids, i: "/agent/tickets/?view=all"),
    ("agent", lambda ids, i: "/agent/tickets/?view=mine"),
    ("agent", lambda ids, i: f"/agent/tickets/?view=all&q={WORDS[i % len(WORDS)]}"),
    ("agent", lambda ids, i: f"/agent/tickets/?view=all&q={WORDS[(i + 3) % len(WORDS)]}"),
    ("agent", lambda ids, i: "/api/v1/tickets/?page_size=50"),
    ("agent", lambda ids, i: "/api/v1/tickets/?status=open&page_size=25"),
    ("agent", lambda ids, i: f"/api/v1/tickets/{ids[(i * 7) % len(ids)]}/"),
    ("customer", lambda ids, i: "/portal/"),
    ("customer", lambda ids, i: "/portal/"),
    ("customer", lambda ids, i: f"/kb/search/?q={WORDS[i % len(WORDS)]}"),
    ("anon", lambda ids, i: "/accounts/login/"),
    ("agent", lambda ids, i: "/agent/my-stats/?range=last30"),
    ("manager", lambda ids, i: f"/manager/dashboard/?range={('last30', 'last90', 'last7')[i % 3]}"),
    ("agent", lambda ids, i: f"/agent/tickets/{ids[(i * 13) % len(ids)]}/"),
]


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == master:
                        pids.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return sorted(pids)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Clients:
    def __init__(self, base: str, sessions: dict[str, str | None], ids: list[int], n: int):
        self.base, self.sessions, self.ids, self.n = base, sessions, ids, n
        self.next = 0
        self.lock = threading.Lock()
        self.errors: Counter[str] = Counter()

    def run_until(self, stop: int) -> None:
        threads = [threading.Thread(target=self._client, args=(stop,)) for _ in range(self.n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _client(self, stop: int) -> None:
        mine = {who: hb.client(sid) for who, sid in self.sessions.items()}
        while True:
            with self.lock:
                if self.next >= stop:
                    return
                k = self.next
                self.next += 1
            who, path = MIX[k % len(MIX)]
            session = mine[who]
            if who == "anon":
                session.cookies.clear()
            try:
                r = session.get(self.base + path(self.ids, k // len(MIX)), allow_redirects=False, timeout=120)
                if r.status_code != 200:
                    self.errors[f"{r.status_code} {path(self.ids, 0).split('?')[0]}"] += 1
            except requests.RequestException as exc:
                self.errors[type(exc).__name__] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2, help="concurrent client threads")
    parser.add_argument("--port", type=int, default=8433)
    args = parser.parse_args()
    db = os.environ.get("BENCH_DB", "helpdesk_bench")
    tickets = hb.require_db(db, "tickets_ticket", "import the bench file first (bench/import_bench.py import FILE)")
    hb.warn_unanalyzed(db)
    users = hb.our_users(db)
    missing = {"agent", "customer", "manager"} - users.keys()
    if missing:
        raise SystemExit(f"{db} has no active {', '.join(sorted(missing))} to sign in")
    sessions: dict[str, str | None] = {role: sid for role, (_, sid) in users.items()}
    sessions["anon"] = None
    cmd = hb.gunicorn(str(Path(sys.executable).parent / "gunicorn"), "helpdesk.wsgi", args.workers, args.port)
    server = hb.start(cmd, hb.our_env(db), hb.ROOT, args.port, "/accounts/login/")
    base = f"http://127.0.0.1:{args.port}"
    try:
        agent = hb.client(sessions["agent"])
        ids: list[int] = []
        url = f"{base}/api/v1/tickets/?page_size=200"
        while url and len(ids) < 1000:
            body = agent.get(url).json()
            ids += [t["id"] for t in body["results"]]
            url = body["next"]
        if not ids:
            raise SystemExit("our agent sees no tickets")
        pids = worker_pids(server.pid)
        print(
            f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; {db} ({tickets:,} tickets); gunicorn "
            f"{args.workers} sync workers (pids {pids}), {args.clients} clients back to back, a mix of "
            f"{len(MIX)} requests over {len(ids)} tickets; RSS after start-up: "
            f"{', '.join(f'{rss_mb(p):.1f}' for p in pids)} MB; load {hb.load1():.1f}\n",
            flush=True,
        )
        print("| requests | worker RSS MB | mean | vs after 100 | load | seconds |")
        print("|---:|---|---:|---:|---:|---:|", flush=True)
        clients = Clients(base, sessions, ids, args.clients)
        first: float | None = None
        started = time.monotonic()
        for stop in [c for c in CHECKPOINTS if c < args.requests] + [args.requests]:
            clients.run_until(stop)
            now = worker_pids(server.pid)
            if now != pids:
                print(f"WARNING: workers changed {pids} -> {now} (a worker was replaced)", flush=True)
                pids = now
            values = [rss_mb(p) for p in pids]
            mean = sum(values) / len(values)
            first = mean if first is None else first
            print(
                f"| {stop:,} | {' / '.join(f'{v:.1f}' for v in values)} | {mean:.1f} | "
                f"{100 * (mean - first) / first:+.1f} % | {hb.load1():.1f} | {time.monotonic() - started:.0f} |",
                flush=True,
            )
        growth = 100 * (mean - first) / first
        verdict = "met" if growth <= 10 else "NOT met"
        print(f"\nRSS growth after 100 -> after {args.requests:,} requests: {growth:+.1f} % (goal ≤ 10 %: {verdict})")
        print(f"errors: {dict(clients.errors) or 0}")
    finally:
        hb.stop(server)


if __name__ == "__main__":
    main()
