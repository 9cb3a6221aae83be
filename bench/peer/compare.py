"""Side by side (issue #22): our pages and django-helpdesk 2.6.1's closest
ones, each served by gunicorn (2 sync workers, DEBUG off) on the same
machine and PostgreSQL, timed sequentially over HTTP (one `requests` session
per signed-in user), printed as the Markdown table of bench/README.md
("Side by side and goals").

    BENCH_DB=helpdesk_bench .venv/bin/python bench/peer/compare.py [--n 30] [--only ROW,ROW] [--list]
    BENCH_DB=helpdesk_bench .venv/bin/python bench/peer/compare.py --sizes      # storage per table

BENCH_DB: ours, imported from the same file as the peer (bench/import_bench.py
import FILE, then `manage.py metrics_rebuild` for the dashboard rows);
PEER_DB (default helpdesk_peer) and PEER_VENV (default /tmp/peer-venv): the
peer, from bench/peer/setup.sh FILE N. Ids are assigned in file order in
both databases, so "ticket 4711" is the same ticket in both. REDIS_URL:
ours (default redis://127.0.0.1:6379/13).

Each row runs its requests `--warmup` times untimed, then `--n` times, ours
and theirs alternating so both see the same machine load; a side stops early
once it has spent `--budget` seconds and has 5 samples (the "n=" note).
Where the peer loads its rows with a second request (DataTables JSON for the
staff list and search, the `user_tickets` API for "my tickets"), both are
timed and summed: the time until the user sees rows. Ratio = theirs p50 /
ours p50 (> 1: we are faster). Load = 1-minute load average before -> after
the row. The rows and what each side requests: `--list`, and the ROWS table
below. Rows that change data: `search-rare` plants a word in 20 tickets of
the agent's queues in both databases the first time (subject/title plus our
search document through `ticket_search_refresh`); a customer of ours
without an active account is activated so the bench can sign them in.
"""

import argparse
import base64
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import httpbench as hb  # noqa: E402

PEER_MANAGER = "manager@peer.test"  # the superuser bench/peer/load_peer.py creates
RARE_WORD = "quokka"  # not in the generator's vocabulary: planted into RARE_TICKETS tickets
RARE_TICKETS = 20
COMMON_WORD = "error"  # in ~35 % of the generated tickets (subject or messages)
PAGE_ROWS = 25  # django-helpdesk's default page; our API list is asked for the same

PEER_USERS = """
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
out = {}
for role, email in json.loads(sys.argv[1]).items():
    user = get_user_model().objects.filter(email=email).first()
    if user is None:
        continue
    c = Client(); c.force_login(user)
    out[role] = [email, c.cookies["sessionid"].value]
print("USERS " + json.dumps(out))
"""

PLANT_OURS = """
import json, os
from django.db.models import F, Value
from django.db.models.functions import Concat
from accounts.models import User
from tickets.models import Ticket
from tickets.search import ticket_search_refresh
word, n, email = os.environ["PLANT_WORD"], int(os.environ["PLANT_N"]), os.environ["PLANT_AGENT"]
ids = list(Ticket.objects.filter(subject__icontains=word).values_list("pk", flat=True))
if not ids:
    agent = User.objects.get(email=email)
    mine = list(Ticket.objects.filter(queue__members=agent).order_by("pk").values_list("pk", flat=True))
    ids = mine[:: max(1, len(mine) // n)][:n]
    Ticket.objects.filter(pk__in=ids).update(subject=Concat(F("subject"), Value(" " + word)))
    ticket_search_refresh(ticket_ids=ids)
print("IDS " + json.dumps({"ids": ids}))
"""


# DataTables parameters: one page, newest first (column 0 is the id) like our API list.
DT_PAGE = f"draw=1&length={PAGE_ROWS}&order%5B0%5D%5Bcolumn%5D=0&order%5B0%5D%5Bdir%5D=desc"


def datatables(query: dict, start: int) -> str:
    """The peer's staff list JSON (what its ticket list page loads)."""
    b64 = base64.b64encode(json.dumps(query).encode()).decode()
    return f"/datatables_ticket_list/{b64}?{DT_PAGE}&start={start}"


ALL_TICKETS = {"filtering": {}, "filtering_null": {}, "sorting": "id", "sortreverse": "on", "search_string": ""}


@dataclass
class Ctx:
    ids: list[int] = field(default_factory=list)
    deep_url: str = ""
    deep_page: int = 0
    peer_data: dict[str, str] = field(default_factory=dict)  # peer page path -> its DataTables URL


@dataclass
class Side:
    who: str  # agent | customer | manager | anon
    urls: Callable[[Ctx, int], list[str]]  # the i-th run's requests (a page and the data it loads)
    what: str
    data_page: str = ""  # a peer page whose DataTables URL (in its HTML) the run also requests


@dataclass
class Row:
    key: str
    label: str
    ours: Side
    peer: Side | None
    note: str = ""


def _peer_list(page: str, what: str) -> Side:
    return Side("agent", lambda c, i: [page, c.peer_data[page]], what, data_page=page)


def _ticket(prefix: str) -> Callable[[Ctx, int], list[str]]:
    return lambda c, i: [f"{prefix}{c.ids[i % len(c.ids)]}/"]


def _one(url: str) -> Callable[[Ctx, int], list[str]]:
    return lambda c, i: [url]


def _search_rows() -> list[Row]:
    rows = []
    for key, word, what in (("common", COMMON_WORD, "common word"), ("rare", RARE_WORD, "rare word")):
        rows.append(
            Row(
                f"search-{key}",
                f'agent search, {what} "{word}" (first page)',
                Side("agent", _one(f"/agent/tickets/?view=all&q={word}"), f"/agent/tickets/?view=all&q={word} (HTML)"),
                _peer_list(f"/tickets/?q={word}", f"/tickets/?q={word} + its DataTables JSON"),
                "theirs: icontains on title, description, e-mails; ours: full text of subject and public messages",
            )
        )
    return rows


ROWS: list[Row] = [
    Row(
        "list-json",
        f"ticket list JSON, first page ({PAGE_ROWS} rows, newest first)",
        Side("agent", _one(f"/api/v1/tickets/?page_size={PAGE_ROWS}"), f"/api/v1/tickets/?page_size={PAGE_ROWS}"),
        Side("agent", lambda c, i: [datatables(ALL_TICKETS, 0)], "DataTables JSON, every status, id desc, start=0"),
        "ours: the agent's queues; theirs: every queue (a django-helpdesk staff user sees all)",
    ),
    Row(
        "list-deep",
        "ticket list JSON, deep page (page {deep_page} of 25 rows)",
        Side("agent", lambda c, i: [c.deep_url], "the API list's cursor for page 100 (walked once, untimed)"),
        Side(
            "agent",
            lambda c, i: [datatables(ALL_TICKETS, (c.deep_page - 1) * PAGE_ROWS)],
            "DataTables JSON, start=(page-1)*25",
        ),
        "ours: keyset cursor; theirs: OFFSET",
    ),
    Row(
        "list-page",
        "agent ticket list page, first page (HTML)",
        Side("agent", _one("/agent/tickets/?view=all"), "/agent/tickets/?view=all (50 rows)"),
        _peer_list("/tickets/", "/tickets/ + its DataTables JSON (open tickets, 25 rows)"),
    ),
    *_search_rows(),
    Row(
        "ticket-page",
        "agent ticket page (same ticket ids)",
        Side("agent", _ticket("/agent/tickets/"), "/agent/tickets/ID/"),
        Side("agent", _ticket("/tickets/"), "/tickets/ID/"),
        "ids: the agent's 50 newest tickets, one per run",
    ),
    Row(
        "my-requests",
        'customer "my requests"',
        Side("customer", _one("/portal/"), "/portal/"),
        Side(
            "customer",
            lambda c, i: ["/tickets/my-tickets/", "/api/user_tickets/?page=1"],
            "/tickets/my-tickets/ + /api/user_tickets/?page=1",
        ),
        "ours: requester, CCs, organisation; theirs: submitter_email only",
    ),
    Row(
        "dashboard-30",
        "manager dashboard, 30 days",
        Side("manager", _one("/manager/dashboard/?range=last30"), "/manager/dashboard/?range=last30"),
        Side("manager", _one("/reports/"), "/reports/ (no date range)"),
        "their closest page is the reports index (/reports/: totals, per-queue open/resolved/closed, age "
        "statistics, all time, no range or filters); their /dashboard/ is an agent's own ticket tables",
    ),
    Row(
        "dashboard-90",
        "manager dashboard, 90 days",
        Side("manager", _one("/manager/dashboard/?range=last90"), "/manager/dashboard/?range=last90"),
        Side("manager", _one("/reports/"), "/reports/ (no date range)"),
        "theirs: the same /reports/ page as the 30-day row",
    ),
    Row(
        "login",
        "login page (signed out)",
        Side("anon", _one("/accounts/login/"), "/accounts/login/"),
        Side("anon", _one("/login/"), "/login/"),
    ),
    Row(
        "my-stats",
        "agent's own stats, 30 days (ours only)",
        Side("agent", _one("/agent/my-stats/?range=last30"), "/agent/my-stats/?range=last30"),
        None,
        "django-helpdesk has no per-agent statistics page",
    ),
    Row(
        "kb-search",
        'KB search "password" (ours only)',
        Side("customer", _one("/kb/search/?q=password"), "/kb/search/?q=password"),
        None,
        "django-helpdesk's KB has categories and items but no search; with articles: bench/kb_bench.py",
    ),
]
ROW_KEYS = [r.key for r in ROWS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30, help="timed runs per side and row (default 30)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--budget", type=float, default=120, help="seconds per side and row before it stops early")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per product")
    parser.add_argument("--only", help=f"comma-separated rows: {','.join(ROW_KEYS)}")
    parser.add_argument("--ours-only", action="store_true", help="do not start the peer (its cells stay empty)")
    parser.add_argument("--ours-port", type=int, default=8431)
    parser.add_argument("--peer-port", type=int, default=8432)
    parser.add_argument("--list", action="store_true", help="print the rows and what each side requests")
    parser.add_argument("--sizes", action="store_true", help="storage per table of both databases, then exit")
    args = parser.parse_args()
    our_db = os.environ.get("BENCH_DB", "helpdesk_bench")
    peer_db = os.environ.get("PEER_DB", "helpdesk_peer")
    venv = Path(os.environ.get("PEER_VENV", "/tmp/peer-venv"))  # noqa: S108 (bench/peer/setup.sh's default)
    if args.list:
        print_rows()
        return
    if args.sizes:
        sizes(our_db, None if args.ours_only else peer_db)
        return
    rows = select_rows(args.only)
    hb.require_db(our_db, "tickets_ticket", "import the bench file first (bench/import_bench.py import FILE)")
    with_peer = not args.ours_only and any(r.peer for r in rows)
    if with_peer:
        if not (venv / "bin/python").exists() or not (venv / "bin/gunicorn").exists():
            raise SystemExit(f"peer virtualenv {venv} missing: bench/peer/setup.sh FILE N (or set PEER_VENV)")
        hb.require_db(peer_db, "helpdesk_ticket", "bench/peer/setup.sh FILE N (or set PEER_DB)")
    for db in (our_db, peer_db) if with_peer else (our_db,):
        hb.warn_unanalyzed(db)
    Bench(args, rows, our_db, peer_db if with_peer else None, venv).run()


def select_rows(only: str | None) -> list[Row]:
    if not only:
        return ROWS
    keys = [k.strip() for k in only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in ROW_KEYS]
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; rows: {', '.join(ROW_KEYS)}")
    return [r for r in ROWS if r.key in keys]


def print_rows() -> None:
    for r in ROWS:
        print(f"{r.key:14} {r.label}\n{'':14} ours ({r.ours.who}): {r.ours.what}")
        print(f"{'':14} theirs: {f'({r.peer.who}) {r.peer.what}' if r.peer else '-'}")
        if r.note:
            print(f"{'':14} note: {r.note}")


class Bench:
    def __init__(self, args: argparse.Namespace, rows: list[Row], our_db: str, peer_db: str | None, venv: Path):
        self.args, self.rows, self.our_db, self.peer_db, self.venv = args, rows, our_db, peer_db, venv
        self.ctx = Ctx()
        self.ob = f"http://127.0.0.1:{args.ours_port}"
        self.pb = f"http://127.0.0.1:{args.peer_port}"

    def peer_env(self) -> dict[str, str]:
        return {**os.environ, "DJANGO_SETTINGS_MODULE": "peerproj.settings", "PEER_DB": self.peer_db or ""}

    def run(self) -> None:
        ours_users = hb.our_users(self.our_db)
        for role in {r.ours.who for r in self.rows} - {"anon"}:
            if role not in ours_users:
                raise SystemExit(f"{self.our_db} has no active {role} to sign in")
        self.ours = {role: hb.client(sid) for role, (_, sid) in ours_users.items()} | {"anon": hb.client(None)}
        self.peer: dict[str, requests.Session] = {}
        procs = [
            hb.start(
                hb.gunicorn(str(Path(sys.executable).parent / "gunicorn"), "helpdesk.wsgi", self.args.workers,
                            self.args.ours_port),
                hb.our_env(self.our_db), hb.ROOT, self.args.ours_port, "/accounts/login/",
            )
        ]  # fmt: skip
        try:
            if self.peer_db:
                wanted = {role: email for role, (email, _) in ours_users.items() if role != "manager"}
                wanted["manager"] = PEER_MANAGER
                out = hb.run_py([str(self.venv / "bin/python"), "-c", PEER_USERS, json.dumps(wanted)],
                                self.peer_env(), HERE)  # fmt: skip
                self.peer = {role: hb.client(sid) for role, (_, sid) in hb.marked_json(out, "USERS").items()}
                self.peer["anon"] = hb.client(None)
                procs.append(
                    hb.start(hb.gunicorn(str(self.venv / "bin/gunicorn"), "peerproj.wsgi", self.args.workers,
                                         self.args.peer_port), self.peer_env(), HERE, self.args.peer_port, "/login/")
                )  # fmt: skip
            self.prepare(ours_users)
            self.table()
        finally:
            for proc in procs:
                hb.stop(proc)

    # -- preparation (untimed) ------------------------------------------------

    def prepare(self, ours_users: dict[str, tuple[str, str]]) -> None:
        keys = {r.key for r in self.rows}
        agent = self.ours["agent"]
        first = agent.get(f"{self.ob}/api/v1/tickets/?page_size=50").json()
        self.ctx.ids = [t["id"] for t in first["results"]]
        if not self.ctx.ids:
            raise SystemExit("our agent sees no tickets")
        if "list-deep" in keys:
            self.walk_deep(100)
        if "search-rare" in keys:
            self.plant_rare(ours_users["agent"][0])
        if self.peer_db:
            for r in self.rows:
                if r.peer and r.peer.data_page:
                    self.ctx.peer_data[r.peer.data_page] = self.peer_data_url(r.peer.data_page)
        if keys & {"dashboard-30", "dashboard-90", "my-stats"}:
            n = int(hb.psql(self.our_db, "SELECT count(*) FROM metrics_ticketmetrics"))
            if n == 0:
                print("WARNING: no ticket metrics in ours: run `manage.py metrics_rebuild` first", file=sys.stderr)

    def walk_deep(self, page: int) -> None:
        url = f"/api/v1/tickets/?page_size={PAGE_ROWS}"
        reached = 1
        while reached < page:
            nxt = self.ours["agent"].get(f"{self.ob}{url}").json()["next"]
            if not nxt:
                break
            parts = urlsplit(nxt)
            url, reached = f"{parts.path}?{parts.query}", reached + 1
        self.ctx.deep_url, self.ctx.deep_page = url, reached
        if reached < page:
            print(f"note: the agent's list has only {reached} pages; list-deep times page {reached}", file=sys.stderr)

    def plant_rare(self, agent_email: str) -> None:
        plant = {"PLANT_WORD": RARE_WORD, "PLANT_N": str(RARE_TICKETS), "PLANT_AGENT": agent_email}
        env = {**hb.our_env(self.our_db), **plant}
        out = hb.run_py([sys.executable, "manage.py", "shell", "-c", PLANT_OURS], env, hb.ROOT)
        ids = hb.marked_json(out, "IDS")["ids"]
        if self.peer_db and ids:
            id_list = ",".join(str(int(i)) for i in ids)
            hb.psql(
                self.peer_db,
                f"UPDATE helpdesk_ticket SET title = left(title, 190) || ' {RARE_WORD}' "  # noqa: S608 (constants, ints)
                f"WHERE id IN ({id_list}) AND title NOT LIKE '%{RARE_WORD}%'",
            )

    def peer_data_url(self, page: str) -> str:
        html = self.peer["agent"].get(f"{self.pb}{page}").text
        found = re.search(r'"url": "(/datatables_ticket_list/[^"]+)"', html)
        if not found:
            raise SystemExit(f"no DataTables URL on the peer's {page}")
        return f"{found.group(1)}?{DT_PAGE}&start=0"

    # -- timing -----------------------------------------------------------------

    def table(self) -> None:
        a = self.args
        ours_n = hb.psql(self.our_db, "SELECT count(*) FROM tickets_ticket")
        peer_n = hb.psql(self.peer_db, "SELECT count(*) FROM helpdesk_ticket") if self.peer_db else "-"
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; ours {self.our_db} ({int(ours_n):,} tickets), "
            f"django-helpdesk {self.peer_db or '-'} ({peer_n} tickets); gunicorn {a.workers} sync workers each; "
            f"sequential, {a.warmup} warm-ups, n={a.n} (budget {a.budget:.0f} s a side); `uptime`: "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n",
            flush=True,
        )
        print("| operation | ours p50/p95 ms | django-helpdesk p50/p95 ms | ratio theirs/ours | load |")
        print("|---|---|---|---|---|", flush=True)
        notes = []
        for row in self.rows:
            before = hb.load1()
            ours, peer, detail = self.measure(row)
            after = hb.load1()
            ratio = f"{statistics.median(peer) / statistics.median(ours):.2f}" if peer else "—"
            label = row.label.format(deep_page=self.ctx.deep_page)
            print(f"| {label} | {cell(ours, a.n)} | {cell(peer, a.n) if peer else '—'} | {ratio} | "
                  f"{before:.1f} → {after:.1f} |", flush=True)  # fmt: skip
            notes.append(f"- `{row.key}`: ours {row.ours.what} [{detail['ours']}]; theirs "
                         f"{row.peer.what + ' [' + detail['peer'] + ']' if row.peer and peer else '—'}"
                         f"{'. ' + row.note if row.note else ''}")  # fmt: skip
        print("\nRows (`--only KEY`): what each side requested [last response]:")
        print("\n".join(notes))

    def measure(self, row: Row) -> tuple[list[float], list[float], dict[str, str]]:
        a = self.args
        sides: dict[str, tuple[Side, requests.Session, str]] = {"ours": (row.ours, self.ours[row.ours.who], self.ob)}
        if row.peer and self.peer_db:
            sides["peer"] = (row.peer, self.peer[row.peer.who], self.pb)
        times: dict[str, list[float]] = {k: [] for k in sides}
        spent = dict.fromkeys(sides, 0.0)
        detail = dict.fromkeys(("ours", "peer"), "")
        i = 0
        while True:
            active = [k for k in sides if len(times[k]) < a.n and not (spent[k] > a.budget and len(times[k]) >= 5)]
            if not active:
                break
            for k in active:
                side, session, base = sides[k]
                if side.who == "anon":
                    session.cookies.clear()
                total, last = 0.0, None
                for url in side.urls(self.ctx, i):
                    ms, last = hb.timed(session, base + url)
                    total += ms
                if i >= a.warmup:
                    times[k].append(total)
                    spent[k] += total / 1000
                elif last is not None:
                    detail[k] = describe(last)
            i += 1
        return times["ours"], times.get("peer", []), detail


def describe(r: requests.Response) -> str:
    if r.headers.get("Content-Type", "").startswith("application/json"):
        body = r.json()
        if isinstance(body, dict) and "recordsFiltered" in body:
            return f"{len(body['data'])} rows of {body['recordsFiltered']:,}"
        if isinstance(body, dict) and "results" in body:
            return f"{len(body['results'])} rows"
    size = f"{len(r.content) / 1024:.0f} KB"
    if "/agent/tickets/?" in r.url:  # our list: how many tickets the page shows
        shown = set(re.findall(rb"href=.?/agent/tickets/(\d+)/", r.content))
        return f"{len(shown)} tickets, {size}"
    return size


def cell(values: list[float], n: int) -> str:
    text = f"{statistics.median(values):,.1f} / {hb.pct(values, 0.95):,.1f}"
    return text if len(values) >= n else f"{text} (n={len(values)})"


# -- storage ------------------------------------------------------------------

SIZES_SQL = """
SELECT c.relname, pg_relation_size(c.oid), pg_indexes_size(c.oid),
       pg_total_relation_size(c.oid) - pg_relation_size(c.oid) - pg_indexes_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname = 'public'
ORDER BY pg_total_relation_size(c.oid) DESC
"""


def sizes(our_db: str, peer_db: str | None, top: int = 12) -> None:
    """Heap, indexes and TOAST per table (MB), the top `top` tables of each
    database, and the total per 100,000 tickets."""
    dbs = [("ours", our_db, "tickets_ticket")]
    if peer_db and hb.db_exists(peer_db):
        dbs.append(("django-helpdesk", peer_db, "helpdesk_ticket"))
    totals = []
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. MB = 10^6 bytes; toast includes the TOAST index.\n")
    for name, db, ticket_table in dbs:
        tickets = hb.require_db(db, ticket_table, "load it first")
        rows = [line.split("|") for line in hb.psql(db, SIZES_SQL).splitlines()]
        db_bytes = int(hb.psql(db, "SELECT pg_database_size(current_database())"))
        rel_bytes = sum(int(h) + int(i) + int(t) for _, h, i, t in rows)
        print(f"{name} ({db}, {tickets:,} tickets): database {db_bytes / 1e6:,.1f} MB, "
              f"tables {rel_bytes / 1e6:,.1f} MB\n")  # fmt: skip
        print("| table | total MB | heap | indexes | toast | share | MB per 100k tickets |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for rel, h, i, t in rows[:top]:
            total = int(h) + int(i) + int(t)
            print(f"| {rel} | {total / 1e6:,.1f} | {int(h) / 1e6:,.1f} | {int(i) / 1e6:,.1f} | {int(t) / 1e6:,.1f} | "
                  f"{100 * total / max(rel_bytes, 1):.0f} % | {total / 1e6 * 100_000 / tickets:,.1f} |")  # fmt: skip
        print()
        totals.append((name, tickets, db_bytes, rel_bytes))
    print("| database | tickets | database MB | tables MB | database MB per 100k tickets |")
    print("|---|---:|---:|---:|---:|")
    for name, tickets, db_bytes, rel_bytes in totals:
        per = db_bytes / 1e6 * 100_000 / tickets
        print(f"| {name} | {tickets:,} | {db_bytes / 1e6:,.1f} | {rel_bytes / 1e6:,.1f} | {per:,.1f} |")
    if len(totals) == 2:
        (_, t0, d0, r0), (_, t1, d1, r1) = totals
        print(f"\nratio ours / django-helpdesk per ticket: database {(d0 / t0) / (d1 / t1):.2f}, "
              f"tables {(r0 / t0) / (r1 / t1):.2f} (goal ≤ 3; at a few thousand tickets the empty "
              "schema and per-day rollup cells dominate: measure at 100k)")  # fmt: skip


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"\n({time.monotonic() - started:.0f} s; command: {' '.join(sys.argv)})", file=sys.stderr)
