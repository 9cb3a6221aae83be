"""Replay one parsed line in memory into the rows the services would write.

Pure Python, no queries: lookups come from the batch's caches. Every status
move is checked with `tickets.workflow.check_transition` (the one table);
the other refusals mirror tickets/services.py (no assignment or queue move on
a closed ticket, only staff can be assignees, merge rules). A refused event
is reported and skipped; the rest of the line goes in.

Rows match what the services write for the same action: the same kinds,
columns and data keys, plus the event's fingerprint in its line
(tickets.importing.fingerprint), so a changed line appends only what is new.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tickets import workflow
from tickets.importing import fingerprint
from tickets.importing.fingerprint import CREATED_FP
from tickets.importing.parse import ParsedEvent, ParsedLine, Person
from tickets.models import TicketEvent

K = TicketEvent.Kind
STAFF = frozenset({"agent", "manager", "admin"})
SURVEY_KIND = {"csat": K.CSAT, "ces": K.CES, "nps": K.NPS}


@dataclass(slots=True)
class UserInfo:
    id: int
    role: str
    organisation_id: int | None


@dataclass(slots=True)
class QueueInfo:
    id: int
    slug: str
    kind: str


@dataclass
class Replayed:
    ticket: dict[str, Any]
    tags: set[str]
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


class Context:
    """What a replay needs from the batch: caches and id pools."""

    def __init__(
        self,
        *,
        users: dict[str, UserInfo],
        queues: dict[str, QueueInfo],
        ticket_pk: Callable[[str], int | None],
        next_message_id: Callable[[], int],
        recorded_at: datetime,
    ):
        self.users = users
        self.queues = queues
        self.ticket_pk = ticket_pk
        self.next_message_id = next_message_id
        self.recorded_at = recorded_at


def event_role(person: Person | None) -> str:
    """actor_role frozen into the event: the role given in the line."""
    if person is None or person.role == "system":
        return "system"
    return "agent" if person.role in STAFF else "customer"


def replay(line: ParsedLine, ticket_id: int, ctx: Context, existing_fps: set[str] | None = None) -> Replayed:
    """Rows for `line`; with `existing_fps` only events not yet imported."""
    queue = ctx.queues[line.queue]
    requester = ctx.users[line.requester.email]  # type: ignore[index]
    r = _Replay(line, ticket_id, ctx, queue, existing_fps or ())
    r.out = Replayed(ticket=_ticket_row(line, ticket_id, queue, requester), tags=set(line.tags))
    if CREATED_FP not in r.skip:
        _replay_created(r, requester)
    for ev in line.events:
        actor = ctx.users[ev.actor.email] if ev.actor is not None and ev.actor.email else None
        step = _Step(ev, ev.fp not in r.skip, actor, actor.id if actor else None, event_role(ev.actor))
        handler = REPLAYERS.get(ev.type)
        if handler is None and ev.type in SURVEY_KIND:
            handler = _replay_survey
        if handler is not None:
            handler(r, step)
    return r.out


def _ticket_row(line: ParsedLine, ticket_id: int, queue: QueueInfo, requester: UserInfo) -> dict[str, Any]:
    at0 = line.created_at
    return {
        "id": ticket_id,
        "subject": line.subject,
        "queue_id": queue.id,
        "kind": queue.kind,
        "status": line.status,
        "priority": line.priority,
        "channel": line.channel,
        "requester_id": requester.id,
        "organisation_id": requester.organisation_id,
        "assignee_id": None,
        "merged_into_id": None,
        "external_id": line.external_id,
        "import_digest": line.digest,
        "is_spam": False,
        "is_deleted": False,
        "created_at": at0,
        "updated_at": at0,
        "status_changed_at": at0,
        "solved_at": at0 if line.status in workflow.RESOLVED else None,
    }


class _Replay:
    """One line's replay in progress: the ticket row, the current queue, the output."""

    out: Replayed

    def __init__(self, line: ParsedLine, ticket_id: int, ctx: Context, queue: QueueInfo, skip: Any) -> None:
        self.line = line
        self.ticket_id = ticket_id
        self.ctx = ctx
        self.queue = queue
        self.skip = skip

    @property
    def t(self) -> dict[str, Any]:
        return self.out.ticket

    def emit(
        self,
        kind: str,
        fp: str,
        actor_id: int | None,
        role: str,
        at: datetime,
        data: dict[str, Any],
        visibility: str = "",
        automated: bool = False,
    ) -> None:
        fingerprint.store(data, kind, at, fp)
        self.out.events.append(
            (None, self.ticket_id, kind, actor_id, role, at, visibility, automated, data, self.ctx.recorded_at)
        )

    def refuse(self, ev: ParsedEvent, reason: str) -> None:
        self.out.refused.append(f"events[{ev.pos}] ({ev.type} at {ev.raw.get('at')}): {reason}")

    def touch(self, at: datetime) -> None:
        if at > self.t["updated_at"]:
            self.t["updated_at"] = at


@dataclass(slots=True)
class _Step:
    """One parsed event, with its actor resolved; `new`: not imported yet."""

    ev: ParsedEvent
    new: bool
    actor: UserInfo | None
    actor_id: int | None
    role: str

    def emit(self, r: _Replay, kind: str, data: dict[str, Any], visibility: str = "", automated: bool = False) -> None:
        if self.new:
            r.emit(kind, self.ev.fp, self.actor_id, self.role, self.ev.at, data, visibility, automated)


def _replay_created(r: _Replay, requester: UserInfo) -> None:
    line, queue = r.line, r.queue
    creator = r.ctx.users[line.created_by.email] if line.created_by.email else None
    creator_id = creator.id if creator else None
    creator_role = event_role(line.created_by)
    message_id = r.ctx.next_message_id()
    r.out.messages.append(
        (
            message_id,
            r.ticket_id,
            creator_id,
            creator_role,
            line.description_visibility,
            line.description,
            False,
            True,
            line.channel,
            line.created_at,
        )
    )
    data = {
        "to": line.status,
        "requester_id": requester.id,
        "created_by_role": creator_role,
        "creation_message_author_role": creator_role,
        "creation_message_visibility": line.description_visibility,
        "channel": line.channel,
        "queue_id": queue.id,
        "queue": queue.slug,
        "kind": queue.kind,
        "priority": line.priority,
        "message_id": message_id,
        "tags": list(line.tags),
        "follow_up_of": None,
    }
    r.emit(K.CREATED, CREATED_FP, creator_id, creator_role, line.created_at, data)


def _replay_message(r: _Replay, s: _Step) -> None:
    visibility, body, automated = s.ev.value
    r.touch(s.ev.at)
    if not s.new:
        return
    message_id = r.ctx.next_message_id()
    r.out.messages.append(
        (message_id, r.ticket_id, s.actor_id, s.role, visibility, body, automated, False, "", s.ev.at)
    )
    data = {
        "message_id": message_id,
        "author_role": s.role,
        "visibility": visibility,
        "is_automated": automated,
        "via_merge": False,
    }
    s.emit(r, K.MESSAGE, data, visibility, automated)


def _replay_status(r: _Replay, s: _Step) -> None:
    t, at = r.t, s.ev.at
    source, target = t["status"], s.ev.value
    if target not in workflow.TRANSITIONS.get(source, ()):
        # Not in the table: ask the state machine for the reason.
        try:
            workflow.check_transition(source, target)
        except workflow.InvalidTransition as exc:
            r.refuse(s.ev, exc.message)
            return
    t["status"] = target
    t["status_changed_at"] = at
    if workflow.is_resolution(source, target):
        t["solved_at"] = at
    elif workflow.is_reopen(source, target):
        t["solved_at"] = None
    r.touch(at)
    s.emit(r, K.STATUS, {"from": source, "to": target})


def _logged_closed_owner(r: _Replay, ev: ParsedEvent) -> bool:
    """A ticket created closed (logged after the fact) may carry an `assign`
    at its creation instant: who owned it when it was logged, part of how it
    was created, not a change to a closed ticket (docs/import.md). Later
    assignments are refused as on any closed ticket."""
    return r.line.status == "closed" and ev.at == r.line.created_at


def _replay_assign(r: _Replay, s: _Step) -> None:
    ev, t = s.ev, r.t
    assignee = r.ctx.users[ev.value] if ev.value else None
    if assignee is not None and assignee.role not in STAFF:
        r.refuse(ev, f"{ev.value} is not an agent; only agents can be assigned tickets")
        return
    if t["status"] == "closed" and not _logged_closed_owner(r, ev):
        r.refuse(ev, "the ticket is closed; it can no longer be changed")
        return
    new_id = assignee.id if assignee else None
    if t["assignee_id"] == new_id:
        return
    source = t["assignee_id"]
    t["assignee_id"] = new_id
    r.touch(ev.at)
    s.emit(r, K.ASSIGNEE, {"from": source, "to": new_id, "to_email": ev.value or None})


def _replay_queue(r: _Replay, s: _Step) -> None:
    ev, t = s.ev, r.t
    target_q = r.ctx.queues.get(ev.value)
    if target_q is None:
        r.refuse(ev, f"unknown queue {ev.value!r}")
        return
    if t["status"] == "closed":
        r.refuse(ev, "the ticket is closed; it can no longer be changed")
        return
    if t["queue_id"] == target_q.id:
        return
    old = r.queue
    r.queue = target_q
    t["queue_id"], t["kind"] = target_q.id, target_q.kind
    r.touch(ev.at)
    data = {
        "from": old.id,
        "from_slug": old.slug,
        "from_kind": old.kind,
        "to": target_q.id,
        "to_slug": target_q.slug,
        "to_kind": target_q.kind,
        "escalation": old.kind != target_q.kind,
        "reason": str(ev.raw.get("reason") or ""),
    }
    s.emit(r, K.QUEUE, data)


def _replay_priority(r: _Replay, s: _Step) -> None:
    t = r.t
    if t["priority"] == s.ev.value:
        return
    source = t["priority"]
    t["priority"] = s.ev.value
    r.touch(s.ev.at)
    s.emit(r, K.PRIORITY, {"from": source, "to": s.ev.value})


def _replay_tag(r: _Replay, s: _Step) -> None:
    add, remove = s.ev.value
    tags = r.out.tags
    to_add = set(add) - tags
    to_remove = set(remove) & tags
    if not to_add and not to_remove:
        return
    tags |= to_add
    tags -= to_remove
    r.touch(s.ev.at)
    s.emit(r, K.TAGS, {"add": sorted(to_add), "remove": sorted(to_remove)})


def _replay_work_session(r: _Replay, s: _Step) -> None:
    email, started, ended = s.ev.value
    agent = r.ctx.users[email]
    if s.new:
        data = {
            "agent_id": agent.id,
            "started_at": started.isoformat(),
            "ended_at": ended.isoformat(),
            "source": "import",
        }
        r.emit(K.WORK_SESSION, s.ev.fp, agent.id, _agent_role(agent), s.ev.at, data)


def _replay_time_entry(r: _Replay, s: _Step) -> None:
    email, seconds, note = s.ev.value
    agent = r.ctx.users[email]
    if s.new:
        data = {"agent_id": agent.id, "seconds": seconds, "note": note}
        r.emit(K.TIME_ENTRY, s.ev.fp, agent.id, _agent_role(agent), s.ev.at, data)


def _agent_role(agent: UserInfo) -> str:
    return "agent" if agent.role in STAFF else "customer"


def _replay_survey_offered(r: _Replay, s: _Step) -> None:
    if s.new:
        r.emit(K.SURVEY_OFFERED, s.ev.fp, None, "system", s.ev.at, {"survey": s.ev.value})


def _replay_survey(r: _Replay, s: _Step) -> None:
    scale, value, comment = s.ev.value
    if s.new:
        role = s.role if s.actor else "customer"
        data = {"scale": scale, "value": value, "comment": comment}
        r.emit(SURVEY_KIND[s.ev.type], s.ev.fp, s.actor_id, role, s.ev.at, data)


def _replay_flag(column: str, kind: str) -> Callable[[_Replay, _Step], None]:
    """Spam and deleted: set once, an event when it changes."""

    def handler(r: _Replay, s: _Step) -> None:
        if r.t[column]:
            return
        r.t[column] = True
        r.touch(s.ev.at)
        s.emit(r, kind, {})

    return handler


def _replay_merged_into(r: _Replay, s: _Step) -> None:
    ev, t = s.ev, r.t
    target_pk = r.ctx.ticket_pk(ev.value)
    if target_pk is None:
        r.refuse(ev, f"merge target {ev.value!r} was not found in the file or the database")
        return
    if target_pk == r.ticket_id:
        r.refuse(ev, "a ticket cannot be merged into itself")
        return
    if t["merged_into_id"]:
        r.refuse(ev, "the ticket is already merged")
        return
    t["merged_into_id"] = target_pk
    r.touch(ev.at)
    s.emit(r, K.MERGED_INTO, {"target_id": target_pk})


# A handler per event type of the import format (survey answers: SURVEY_KIND).
REPLAYERS: dict[str, Callable[[_Replay, _Step], None]] = {
    "message": _replay_message,
    "status": _replay_status,
    "assign": _replay_assign,
    "queue": _replay_queue,
    "priority": _replay_priority,
    "tag": _replay_tag,
    "work_session": _replay_work_session,
    "time_entry": _replay_time_entry,
    "survey_offered": _replay_survey_offered,
    "spam": _replay_flag("is_spam", K.SPAM),
    "deleted": _replay_flag("is_deleted", K.DELETED),
    "merged_into": _replay_merged_into,
}
