"""Replay one parsed line in memory into the rows the services would write.

Pure Python, no queries: lookups come from the batch's caches. Every status
move is checked with `tickets.workflow.check_transition` (the one table);
the other refusals mirror tickets/services.py (no assignment or queue move on
a closed ticket, only staff can be assignees, merge rules). A refused event
is reported and skipped; the rest of the line goes in.

Rows match what the services write for the same action: the same kinds,
columns and data keys, plus data["import_fp"] (the event's fingerprint in its
line, so a changed line appends only what is new).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tickets import workflow
from tickets.importing.parse import ParsedEvent, ParsedLine, Person
from tickets.models import TicketEvent

K = TicketEvent.Kind
STAFF = frozenset({"agent", "manager", "admin"})
SURVEY_KIND = {"csat": K.CSAT, "ces": K.CES, "nps": K.NPS}
CREATED_FP = "created"


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
    users = ctx.users
    queue = ctx.queues[line.queue]
    requester = users[line.requester.email]  # type: ignore[index]
    creator = users[line.created_by.email] if line.created_by.email else None
    creator_role = event_role(line.created_by)
    at0 = line.created_at
    t: dict[str, Any] = {
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
    out = Replayed(ticket=t, tags=set(line.tags))
    recorded = ctx.recorded_at
    skip = existing_fps or ()
    events = out.events
    messages = out.messages

    def emit(
        kind: str,
        fp: str,
        actor_id: int | None,
        role: str,
        at: datetime,
        data: dict[str, Any],
        visibility: str = "",
        automated: bool = False,
    ) -> None:
        data["import_fp"] = fp
        events.append((None, ticket_id, kind, actor_id, role, at, visibility, automated, data, recorded))

    if CREATED_FP not in skip:
        message_id = ctx.next_message_id()
        messages.append(
            (
                message_id,
                ticket_id,
                creator.id if creator else None,
                creator_role,
                line.description_visibility,
                line.description,
                False,
                True,
                line.channel,
                at0,
            )
        )
        emit(
            K.CREATED,
            CREATED_FP,
            creator.id if creator else None,
            creator_role,
            at0,
            {
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
            },
        )

    def refuse(ev: ParsedEvent, reason: str) -> None:
        out.refused.append(f"events[{ev.pos}] ({ev.type} at {ev.raw.get('at')}): {reason}")

    def touch(at: datetime) -> None:
        if at > t["updated_at"]:
            t["updated_at"] = at

    allowed_moves = workflow.TRANSITIONS
    for ev in line.events:
        at = ev.at
        etype = ev.type
        new = ev.fp not in skip
        actor = users[ev.actor.email] if ev.actor is not None and ev.actor.email else None
        actor_id = actor.id if actor else None
        role = event_role(ev.actor)
        if etype == "message":
            visibility, body, automated = ev.value
            touch(at)
            if new:
                message_id = ctx.next_message_id()
                messages.append((message_id, ticket_id, actor_id, role, visibility, body, automated, False, "", at))
                emit(
                    K.MESSAGE,
                    ev.fp,
                    actor_id,
                    role,
                    at,
                    {
                        "message_id": message_id,
                        "author_role": role,
                        "visibility": visibility,
                        "is_automated": automated,
                        "via_merge": False,
                    },
                    visibility,
                    automated,
                )
        elif etype == "status":
            source, target = t["status"], ev.value
            if target not in allowed_moves.get(source, ()):
                # Not in the table: ask the state machine for the reason.
                try:
                    workflow.check_transition(source, target)
                except workflow.InvalidTransition as exc:
                    refuse(ev, exc.message)
                    continue
            t["status"] = target
            t["status_changed_at"] = at
            if workflow.is_resolution(source, target):
                t["solved_at"] = at
            elif workflow.is_reopen(source, target):
                t["solved_at"] = None
            touch(at)
            if new:
                emit(K.STATUS, ev.fp, actor_id, role, at, {"from": source, "to": target})
        elif etype == "assign":
            assignee = users[ev.value] if ev.value else None
            if assignee is not None and assignee.role not in STAFF:
                refuse(ev, f"{ev.value} is not an agent; only agents can be assigned tickets")
                continue
            if t["status"] == "closed":
                refuse(ev, "the ticket is closed; it can no longer be changed")
                continue
            new_id = assignee.id if assignee else None
            if t["assignee_id"] == new_id:
                continue
            source = t["assignee_id"]
            t["assignee_id"] = new_id
            touch(at)
            if new:
                emit(
                    K.ASSIGNEE, ev.fp, actor_id, role, at, {"from": source, "to": new_id, "to_email": ev.value or None}
                )
        elif etype == "queue":
            target_q = ctx.queues.get(ev.value)
            if target_q is None:
                refuse(ev, f"unknown queue {ev.value!r}")
                continue
            if t["status"] == "closed":
                refuse(ev, "the ticket is closed; it can no longer be changed")
                continue
            if t["queue_id"] == target_q.id:
                continue
            old = queue
            queue = target_q
            t["queue_id"], t["kind"] = target_q.id, target_q.kind
            touch(at)
            if new:
                emit(
                    K.QUEUE,
                    ev.fp,
                    actor_id,
                    role,
                    at,
                    {
                        "from": old.id,
                        "from_slug": old.slug,
                        "from_kind": old.kind,
                        "to": target_q.id,
                        "to_slug": target_q.slug,
                        "to_kind": target_q.kind,
                        "escalation": old.kind != target_q.kind,
                        "reason": str(ev.raw.get("reason") or ""),
                    },
                )
        elif etype == "priority":
            if t["priority"] == ev.value:
                continue
            source = t["priority"]
            t["priority"] = ev.value
            touch(at)
            if new:
                emit(K.PRIORITY, ev.fp, actor_id, role, at, {"from": source, "to": ev.value})
        elif etype == "tag":
            add, remove = ev.value
            tags = out.tags
            to_add = set(add) - tags
            to_remove = set(remove) & tags
            if not to_add and not to_remove:
                continue
            tags |= to_add
            tags -= to_remove
            touch(at)
            if new:
                emit(K.TAGS, ev.fp, actor_id, role, at, {"add": sorted(to_add), "remove": sorted(to_remove)})
        elif etype == "work_session":
            email, started, ended = ev.value
            agent = users[email]
            if new:
                emit(
                    K.WORK_SESSION,
                    ev.fp,
                    agent.id,
                    "agent" if agent.role in STAFF else "customer",
                    at,
                    {
                        "agent_id": agent.id,
                        "started_at": started.isoformat(),
                        "ended_at": ended.isoformat(),
                        "source": "import",
                    },
                )
        elif etype == "time_entry":
            email, seconds, note = ev.value
            agent = users[email]
            if new:
                emit(
                    K.TIME_ENTRY,
                    ev.fp,
                    agent.id,
                    "agent" if agent.role in STAFF else "customer",
                    at,
                    {"agent_id": agent.id, "seconds": seconds, "note": note},
                )
        elif etype == "survey_offered":
            if new:
                emit(K.SURVEY_OFFERED, ev.fp, None, "system", at, {"survey": ev.value})
        elif etype in SURVEY_KIND:
            scale, value, comment = ev.value
            if new:
                emit(
                    SURVEY_KIND[etype],
                    ev.fp,
                    actor_id,
                    role if actor else "customer",
                    at,
                    {"scale": scale, "value": value, "comment": comment},
                )
        elif etype == "spam":
            if t["is_spam"]:
                continue
            t["is_spam"] = True
            touch(at)
            if new:
                emit(K.SPAM, ev.fp, actor_id, role, at, {})
        elif etype == "deleted":
            if t["is_deleted"]:
                continue
            t["is_deleted"] = True
            touch(at)
            if new:
                emit(K.DELETED, ev.fp, actor_id, role, at, {})
        elif etype == "merged_into":
            target_pk = ctx.ticket_pk(ev.value)
            if target_pk is None:
                refuse(ev, f"merge target {ev.value!r} was not found in the file or the database")
                continue
            if target_pk == ticket_id:
                refuse(ev, "a ticket cannot be merged into itself")
                continue
            if t["merged_into_id"]:
                refuse(ev, "the ticket is already merged")
                continue
            t["merged_into_id"] = target_pk
            touch(at)
            if new:
                emit(K.MERGED_INTO, ev.fp, actor_id, role, at, {"target_id": target_pk})
    return out
