"""The import pipeline: read -> parse -> resolve (batched lookups) -> replay
-> write (one transaction per batch).

Idempotent by external_id: a line whose digest equals Ticket.import_digest is
unchanged; a changed line appends only events whose fingerprint is not yet
stored and updates the ticket's fields. Lines naming a merge target that is
not known yet are retried after the rest of the file (second pass).
"""

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.contrib.auth.hashers import make_password
from django.db import DatabaseError, connection, connections, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from tickets import first_reply, sla_services, workflow
from tickets.clock import Ev
from tickets.events import events_committed
from tickets.importing import fingerprint
from tickets.importing.parse import LineError, ParsedLine, parse_line
from tickets.importing.replay import STAFF, Context, QueueInfo, Replayed, UserInfo, replay
from tickets.importing.writer import IdPool, Prepared, Writer
from tickets.models import Message, Queue, Tag, Ticket, TicketEvent
from tickets.search import ticket_search_refresh

MAX_ISSUES = 10000


@dataclass
class ImportIssue:
    line: int
    external_id: str | None
    reason: str
    kind: str = "line"  # "line" (not imported) or "event" (event refused, ticket imported)

    def __str__(self) -> str:
        ext = f" [{self.external_id}]" if self.external_id else ""
        what = "event refused" if self.kind == "event" else "line rejected"
        return f"line {self.line}{ext}: {what}: {self.reason}"


@dataclass
class ImportReport:
    lines: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected_lines: int = 0
    refused_events: int = 0
    events: int = 0
    messages: int = 0
    users_created: int = 0
    queues_created: int = 0
    duration_s: float = 0.0
    issues: list[ImportIssue] = field(default_factory=list)
    issues_dropped: int = 0

    @property
    def errors(self) -> int:
        return self.rejected_lines + self.refused_events

    def add_issue(self, issue: ImportIssue) -> None:
        if issue.kind == "event":
            self.refused_events += 1
        else:
            self.rejected_lines += 1
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(issue)
        else:
            self.issues_dropped += 1

    def summary(self) -> str:
        rate = self.events / self.duration_s if self.duration_s else 0
        return (
            f"{self.lines} lines: {self.imported} imported, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.rejected_lines} rejected; {self.refused_events} events refused; {self.events} events and "
            f"{self.messages} messages written; {self.users_created} users created; "
            f"{self.duration_s:.1f} s ({rate:,.0f} events/s)"
        )


@dataclass
class _Item:
    lineno: int
    line: ParsedLine
    pk: int | None = None
    existing: bool = False


def _pk(item: _Item) -> int:
    """The ticket id, handed out before replay."""
    assert item.pk is not None  # noqa: S101
    return item.pk


@dataclass
class _Prepared:
    results: list[tuple[_Item, Replayed]]
    rows: Prepared
    updates: list[tuple[dict[str, Any], set[int]]]
    dirty: list[int]
    sla_quiet: list[int]
    first_reply_stored: list[int]


_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS


def _no_default(value: Any) -> Any:
    raise TypeError


def _digest_obj(obj: dict[str, Any]) -> str:
    """Digest of an already decoded line (seed_demo): its compact sorted-key
    JSON, as json.dumps(sort_keys=True, separators=(",", ":"), default=str)
    writes it. orjson writes the same bytes for ASCII text of plain JSON
    types; anything else (non-ASCII, datetimes, subclasses) takes json.
    (Floats in exponent form differ, 1e-07 against 1e-7: such a line, seeded
    by an older version, would be seen as changed once, adding nothing.)"""
    try:
        data = orjson.dumps(obj, default=_no_default, option=_SORTED)
    except TypeError:
        data = b""
    if not data or not data.isascii():
        data = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(data).hexdigest()


class Importer:
    """Runs one import. Not thread-safe; one per command run."""

    def __init__(
        self,
        *,
        create_queues_kind: str | None = None,
        batch_size: int = 1000,
        on_progress: Callable[[int], None] | None = None,
        pipeline: bool = True,
    ):
        self.create_queues_kind = create_queues_kind
        self.batch_size = batch_size
        self.on_progress = on_progress or (lambda n: None)
        self.report = ImportReport()
        self.writer = Writer()
        self.ticket_ids = IdPool(Ticket, 1000)
        self.message_ids = IdPool(Message, 20000)
        self.queues: dict[str, QueueInfo] = {
            q.slug: QueueInfo(q.pk, q.slug, q.kind) for q in Queue.objects.only("pk", "slug", "kind")
        }
        self.users: dict[str, UserInfo] = {}
        self.tags: dict[str, int] = {}
        # external_id -> pk of tickets written by this run (merge targets,
        # duplicate detection).
        self.run_ids: dict[str, int] = {}
        self.deferred: list[_Item] = []
        # On PostgreSQL outside an outer transaction, batch k is written by a
        # second thread (own connection) while batch k+1 is parsed/replayed.
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future[Any] | None = None
        if pipeline and connection.vendor == "postgresql" and not connection.in_atomic_block:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")

    # --- entry points ----------------------------------------------------

    def run(self, records: Iterable[tuple[int, Any]]) -> ImportReport:
        """`records`: (line number, raw line str/bytes or an already decoded dict)."""
        started = time.monotonic()
        try:
            batch: list[_Item] = []
            for lineno, raw in records:
                item = self._parse(lineno, raw)
                if item is None:
                    continue
                batch.append(item)
                if len(batch) >= self.batch_size:
                    self._batch(batch, final=False)
                    batch = []
            if batch:
                self._batch(batch, final=False)
            if self.deferred:
                self._drain()  # targets written by earlier batches are committed
                deferred, self.deferred = self.deferred, []
                for i in range(0, len(deferred), self.batch_size):
                    self._batch(deferred[i : i + self.batch_size], final=True)
            self._drain()
        finally:
            if self._executor is not None:
                self._executor.submit(connections.close_all).result()
                self._executor.shutdown()
        self.report.duration_s = time.monotonic() - started
        return self.report

    def _parse(self, lineno: int, raw: Any) -> _Item | None:
        rep = self.report
        if isinstance(raw, dict):
            rep.lines += 1
            obj = raw
            digest = _digest_obj(raw)
        else:
            data = raw.strip()
            if not data:
                return None
            rep.lines += 1
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError:
                # Rare: say why with the standard library's words (it also
                # accepts what orjson refuses, e.g. NaN or huge integers).
                try:
                    obj = self._loads_slow(data)
                except ValueError as exc:
                    rep.add_issue(ImportIssue(lineno, None, str(exc)))
                    self.on_progress(1)
                    return None
            # The digest of the stripped UTF-8 text (bytes as read).
            digest = hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()
        ext = obj.get("external_id") if isinstance(obj, dict) else None
        try:
            line = parse_line(obj, digest)
        except LineError as exc:
            rep.add_issue(ImportIssue(lineno, ext if isinstance(ext, str) else None, "; ".join(exc.reasons)))
            self.on_progress(1)
            return None
        return _Item(lineno, line)

    @staticmethod
    def _loads_slow(data: bytes | str) -> Any:
        """json.loads with the import's messages; ValueError(reason) if bad."""
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        try:
            return json.loads(data)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None

    # --- one batch -------------------------------------------------------------

    def _reject(self, item: _Item, reason: str) -> None:
        self.report.add_issue(ImportIssue(item.lineno, item.line.external_id, reason))
        self.on_progress(1)

    def _batch(self, items: list[_Item], *, final: bool) -> None:
        """Queues checked, unchanged lines skipped, lines whose merge target is
        still unknown deferred (unless `final`), the rest replayed and written."""
        ok = self._batch_accept(items)
        todo = self._batch_changed(ok) if ok else []
        if not todo:
            return
        todo, db_targets = self._batch_merge_targets(todo, final=final)
        if todo:
            self._batch_replay(todo, db_targets)

    def _batch_accept(self, items: list[_Item]) -> list[_Item]:
        """Lines with a new external_id and known (or created) queues."""
        ok: list[_Item] = []
        seen_in_batch: dict[str, int] = {}
        for item in items:
            line = item.line
            if line.external_id in self.run_ids or line.external_id in seen_in_batch:
                first = seen_in_batch.get(line.external_id)
                where = f" (line {first})" if first else ""
                self._reject(item, f"external_id {line.external_id!r} appears more than once in this file{where}")
                continue
            slugs = [line.queue, *(e.value for e in line.events if e.type == "queue")]
            missing = [s for s in slugs if s not in self.queues and not self._queue_create(s)]
            if missing:
                self._reject(item, f"unknown queue {missing[0]!r} (create it, or use --create-queues kind=...)")
                continue
            seen_in_batch[line.external_id] = item.lineno
            ok.append(item)
        return ok

    def _batch_changed(self, ok: list[_Item]) -> list[_Item]:
        """New tickets and changed ones (existing: pk set); unchanged ones are counted."""
        existing = {
            ext: (pk, digest)
            for ext, pk, digest in Ticket.objects.filter(external_id__in=[i.line.external_id for i in ok]).values_list(
                "external_id", "pk", "import_digest"
            )
        }
        todo: list[_Item] = []
        for item in ok:
            found = existing.get(item.line.external_id)
            if found is None:
                todo.append(item)
            elif found[1] == item.line.digest:
                self.report.unchanged += 1
                self.on_progress(1)
            else:
                item.pk, item.existing = found[0], True
                todo.append(item)
        return todo

    def _batch_merge_targets(self, todo: list[_Item], *, final: bool) -> tuple[list[_Item], dict[str, int]]:
        """Merge targets: in the batch, this run, or the database; else later
        (deferred, unless this is the final batch)."""
        targets = {t for i in todo for t in i.line.merge_targets}
        batch_exts = {i.line.external_id for i in todo}
        db_targets: dict[str, int] = {}
        # Membership tests only: a set operation with run_ids (every ticket of
        # the run) would copy it, once per batch (quadratic in the file).
        run_ids = self.run_ids
        unknown = [t for t in targets if t not in batch_exts and t not in run_ids]
        if unknown:
            found = Ticket.objects.filter(external_id__in=unknown).values_list("external_id", "pk")
            db_targets = {ext: pk for ext, pk in found if ext is not None}
        if final:
            return todo, db_targets

        def known(ext: str) -> bool:
            return ext in batch_exts or ext in run_ids or ext in db_targets

        later = [i for i in todo if not all(known(t) for t in i.line.merge_targets)]
        if later:
            self.deferred.extend(later)
            todo = [i for i in todo if i not in later]
        return todo, db_targets

    def _batch_replay(self, todo: list[_Item], db_targets: dict[str, int]) -> None:
        self._users_ensure(todo)
        self._tags_ensure(
            {t for i in todo for t in i.line.tags}
            | {t for i in todo for e in i.line.events if e.type == "tag" for t in e.value[0]}
        )
        for item in todo:
            if item.pk is None:
                item.pk = self.ticket_ids.next()
        pks = {id(i): _pk(i) for i in todo}
        batch_ids = {i.line.external_id: pks[id(i)] for i in todo}
        fps: dict[int, set[str]] = {}
        changed_ids = [pks[id(i)] for i in todo if i.existing]
        if changed_ids:
            rows = TicketEvent.objects.filter(ticket_id__in=changed_ids).values_list(
                "ticket_id", "kind", "occurred_at", f"data__{fingerprint.FULL_KEY}", f"data__{fingerprint.REST_KEY}"
            )
            for tid, kind, at, full, rest in rows:
                fp = fingerprint.read(kind, at, full, rest)
                if fp:
                    fps.setdefault(tid, set()).add(fp)

        def ticket_pk(ext: str) -> int | None:
            return batch_ids.get(ext) or self.run_ids.get(ext) or db_targets.get(ext)

        ctx = Context(
            users=self.users,
            queues=self.queues,
            ticket_pk=ticket_pk,
            next_message_id=self.message_ids.next,
            recorded_at=timezone.now(),
        )
        results = [
            (item, replay(item.line, pks[id(item)], ctx, fps.get(pks[id(item)], set()) if item.existing else None))
            for item in todo
        ]
        for item, _ in results:
            self.run_ids[item.line.external_id] = item.pk  # type: ignore[assignment]
        self._submit(results)

    # --- writing (optionally overlapped with parsing of the next batch) --------

    def _submit(self, results: list[tuple[_Item, Replayed]]) -> None:
        prepared = self._prepare(results)
        if self._executor is None:
            self._account(*self._write_job(prepared))
            return
        self._drain()
        self._pending = self._executor.submit(self._write_job, prepared)

    def _drain(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._account(*pending.result())

    def _write_job(self, prepared: _Prepared) -> tuple[list[tuple[_Item, Replayed]], list[tuple[_Item, str]]]:
        """Write a batch; on a database error, isolate the failing lines by
        retrying one line per transaction. Returns (written, rejected)."""
        try:
            self._write_prepared(prepared)
            return prepared.results, []
        except DatabaseError:
            written, rejected = [], []
            for pair in prepared.results:
                try:
                    self._write([pair])
                    written.append(pair)
                except DatabaseError as exc:
                    rejected.append((pair[0], f"database refused the line: {str(exc).strip().splitlines()[0]}"))
            return written, rejected

    def _account(self, written: list[tuple[_Item, Replayed]], rejected: list[tuple[_Item, str]]) -> None:
        rep = self.report
        for item, reason in rejected:
            self.run_ids.pop(item.line.external_id, None)
            self._reject(item, reason)
        for item, res in written:
            if item.existing:
                rep.updated += 1
            else:
                rep.imported += 1
            for reason in res.refused:
                rep.add_issue(ImportIssue(item.lineno, item.line.external_id, reason, kind="event"))
            rep.events += len(res.events)
            rep.messages += len(res.messages)
        self.on_progress(len(written))

    def _write(self, results: list[tuple[_Item, Replayed]]) -> None:
        self._write_prepared(self._prepare(results))

    def _prepare(self, results: list[tuple[_Item, Replayed]]) -> _Prepared:
        """Everything but the database work (runs in the parsing thread)."""
        tags = self.tags
        new = [res for item, res in results if not item.existing]
        self._first_reply_fill(new)
        rows = self.writer.prepare(
            tickets=[r.ticket for r in new],
            ticket_tags=[(r.ticket["id"], tags[name]) for r in new for name in sorted(r.tags)],
            messages=[m for _, res in results for m in res.messages],
            events=[e for _, res in results for e in res.events],
        )
        return _Prepared(
            results=results,
            rows=rows,
            updates=[(res.ticket, {tags[n] for n in res.tags}) for item, res in results if item.existing],
            dirty=[res.ticket["id"] for _, res in results if res.events],
            sla_quiet=self._sla_quiet(results),
            first_reply_stored=[r.ticket["id"] for r in new],
        )

    @staticmethod
    def _first_reply_fill(new: list[Replayed]) -> None:
        """`awaiting_first_reply_since` of new tickets, from the events about
        to be written (their whole history), as tickets.first_reply's refresh
        would read them back: Ev ids in COPY order, the order the identity
        column numbers them in. The refresh then skips these tickets."""
        now = timezone.now()
        for res in new:
            evs = [
                Ev(pos, kind, at, actor, role, vis, auto, data)
                for pos, (_, _, kind, actor, role, at, vis, auto, data, _) in enumerate(res.events)
            ]
            res.ticket["awaiting_first_reply_since"] = first_reply.awaiting_since(evs, now)

    def _write_prepared(self, p: _Prepared) -> None:
        w = self.writer
        with transaction.atomic():
            if w.pg:
                # A crash loses at most the last batches, which a re-run
                # imports again (idempotent); commits do not wait for the WAL.
                with connection.cursor() as cur:
                    cur.execute("SET LOCAL synchronous_commit TO OFF")
            w.write(p.rows)
            for ticket, tag_ids in p.updates:
                w.ticket_update(ticket, tag_ids)
            if p.dirty:
                # The SLA refresh (events_committed) reloads and recomputes each
                # ticket's history; skip it for new tickets it cannot change.
                with sla_services._defer(p.sla_quiet), first_reply.first_reply_stored(p.first_reply_stored):
                    events_committed(p.dirty)
                # Imported tickets are searchable at once, like those the
                # services write (one set-based statement per batch).
                ticket_search_refresh(ticket_ids=p.dirty)

    def _sla_quiet(self, results: list[tuple[_Item, Replayed]]) -> list[int]:
        """New tickets whose stored SLA state is, and stays, empty.

        A ticket resolved (solved/closed) as of now has no open target, so no
        due instant; its only possible next check is a breach within the
        look-back window (sla_services), and every breach instant of a
        resolved ticket is at or before its last event. So a new ticket that
        ends resolved with its last event before now - look-back would be
        refreshed from nothing to nothing (tested: refreshing all imported
        tickets afterwards changes none).
        """
        cutoff = timezone.now() - sla_services._lookback()
        return [
            res.ticket["id"]
            for item, res in results
            if not item.existing
            and res.ticket["status"] in workflow.RESOLVED
            and (item.line.events[-1].at if item.line.events else item.line.created_at) < cutoff
            and item.line.created_at < cutoff
        ]

    # --- lookups -----------------------------------------------------------------

    def _queue_create(self, slug: str) -> bool:
        if not self.create_queues_kind or not slug or len(slug) > 100:
            return False
        q, _ = Queue.objects.get_or_create(slug=slug, defaults={"name": slug, "kind": self.create_queues_kind})
        self.queues[slug] = QueueInfo(q.pk, q.slug, q.kind)
        self.report.queues_created += 1
        return True

    def _users_ensure(self, items: list[_Item]) -> None:
        wanted: dict[str, tuple[str, str]] = {}  # email -> (role to create with, name)

        def want(email: str | None, role: str, name: str = "") -> None:
            if email and email not in self.users and email not in wanted:
                wanted[email] = (role, name)

        for item in items:
            line = item.line
            want(line.requester.email, "customer", line.requester.name)
            want(line.created_by.email, line.created_by.role, line.created_by.name)
            for ev in line.events:
                if ev.actor is not None:
                    want(ev.actor.email, ev.actor.role, ev.actor.name)
                if ev.type == "assign" and ev.value:
                    want(ev.value, "agent")
                elif ev.type in ("work_session", "time_entry"):
                    want(ev.value[0], "agent")
        if not wanted:
            return
        emails = list(wanted)
        for i in range(0, len(emails), 5000):
            chunk = emails[i : i + 5000]
            for el, pk, role, org in (
                User.objects.annotate(el=Lower("email"))
                .filter(el__in=chunk)
                .values_list("el", "pk", "role", "organisation_id")
            ):
                self.users[el] = UserInfo(pk, role, org)
        missing = [e for e in emails if e not in self.users]
        if missing:
            password = make_password(None)  # unusable; one random value per batch
            new_users = [
                User(
                    email=e,
                    username=e,
                    name=wanted[e][1],
                    role=wanted[e][0] if wanted[e][0] in (*STAFF, "customer") else "customer",
                    is_active=False,
                    password=password,
                )
                for e in missing
            ]
            User.objects.bulk_create(new_users, batch_size=1000)
            if any(u.pk is None for u in new_users):  # backends without RETURNING
                new_users = list(User.objects.annotate(el=Lower("email")).filter(el__in=missing))
            for u in new_users:
                self.users[u.email.lower()] = UserInfo(u.pk, u.role, u.organisation_id)
            self.report.users_created += len(missing)

    def _tags_ensure(self, names: set[str]) -> None:
        missing = [n for n in names if n not in self.tags]
        if not missing:
            return
        Tag.objects.bulk_create([Tag(name=n) for n in sorted(missing)], ignore_conflicts=True)
        self.tags.update(Tag.objects.filter(name__in=missing).values_list("name", "pk"))
