"""Validate one import line (docs/import.md) into plain values.

Pure: no queries. A line with any structural problem (missing field, bad
timestamp, unknown status/priority/event type...) is refused as a whole,
with every reason and its JSON path. Problems that depend on history (a move
the state machine refuses, an unknown merge target) are found by the replay.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tickets.models import Message, Ticket

STATUSES = frozenset(Ticket.Status.values)
PRIORITIES = frozenset(Ticket.Priority.values)
CHANNELS = frozenset(Ticket.Channel.values)
PERSON_ROLES = frozenset({"customer", "agent", "manager", "admin"})
VISIBILITIES = frozenset(Message.Visibility.values)
SURVEYS = ("csat", "ces", "nps")
DEFAULT_SCALE = {"csat": "1-5", "ces": "1-7", "nps": "0-10"}
EVENT_TYPES = frozenset(
    {
        "message",
        "status",
        "assign",
        "queue",
        "priority",
        "tag",
        "work_session",
        "time_entry",
        "survey_offered",
        "csat",
        "ces",
        "nps",
        "spam",
        "merged_into",
        "deleted",
    }
)


class LineError(Exception):
    """The line cannot be imported; `reasons` says why (all of them)."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(slots=True)
class Person:
    email: str | None  # lower-cased; None = the help desk itself (system)
    name: str
    role: str  # customer, agent, manager, admin or system


@dataclass(slots=True)
class ParsedEvent:
    at: datetime
    pos: int  # position in the line: ties in `at` keep file order
    type: str
    raw: dict[str, Any]
    actor: Person | None = None
    value: Any = None  # type-specific parsed value
    fp: str = ""


@dataclass(slots=True)
class ParsedLine:
    external_id: str
    queue: str
    subject: str
    priority: str
    channel: str
    status: str
    tags: list[str]
    requester: Person
    created_by: Person
    created_at: datetime
    description: str
    description_visibility: str
    events: list[ParsedEvent]
    digest: str
    merge_targets: list[str] = field(default_factory=list)


def _ts(value: Any, path: str, errors: list[str]) -> datetime | None:
    if not isinstance(value, str):
        errors.append(f"{path}: a timestamp (ISO 8601 with offset) is required")
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errors.append(f"{path}: {value!r} is not an ISO 8601 timestamp")
        return None
    if parsed.tzinfo is None:  # fromisoformat gives fixed offsets only
        errors.append(f"{path}: {value!r} has no UTC offset (add e.g. 'Z' or '-05:00')")
        return None
    return parsed


def _person(value: Any, path: str, errors: list[str], *, default_role: str, allow_system: bool) -> Person | None:
    if isinstance(value, str):  # a bare email
        value = {"email": value}
    if not isinstance(value, dict):
        errors.append(f"{path}: must be an object with email, name and role")
        return None
    role = value.get("role") or default_role
    email = value.get("email")
    if role == "system":
        if not allow_system:
            errors.append(f"{path}.role: 'system' is not allowed here")
            return None
        return Person(None, "", "system")
    if role not in PERSON_ROLES:
        errors.append(f"{path}.role: unknown role {role!r} (customer, agent, manager, admin or system)")
        return None
    if not isinstance(email, str) or "@" not in email or len(email) > 254 or email != email.strip():
        errors.append(f"{path}.email: a valid email address is required")
        return None
    name = value.get("name") or ""
    if not isinstance(name, str):
        errors.append(f"{path}.name: must be a string")
        name = ""
    return Person(email.lower(), name[:200], role)


def _email(value: Any, path: str, errors: list[str]) -> str | None:
    if not isinstance(value, str) or "@" not in value or len(value) > 254:
        errors.append(f"{path}: a valid email address is required")
        return None
    return value.strip().lower()


def _str_list(value: Any, path: str, errors: list[str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(f"{path}: must be a list of strings")
        return []
    return [v.strip().lower()[:64] for v in value if v.strip()]


def event_fingerprint(ev: "ParsedEvent", seen: dict[str, int]) -> str:
    """Identity of an event within its line (stored by tickets.importing.fingerprint).

    Type + instant (UTC ms) + order among events of that type at that
    instant: stable when a line is re-exported with other offsets or key
    order, or when events are added; an edited body is not a new event.
    """
    fp = f"{ev.type}@{int(ev.at.timestamp() * 1000)}"
    n = seen.get(fp, 0)
    seen[fp] = n + 1
    return f"{fp}#{n}" if n else fp


def _value_message(ev: dict[str, Any], path: str, errors: list[str], actor: "Person | None") -> Any:
    visibility = ev.get("visibility", "public")
    if visibility not in VISIBILITIES:
        errors.append(f"{path}.visibility: must be public or internal")
    elif actor is not None and actor.role == "customer" and visibility == "internal":
        errors.append(f"{path}.visibility: a customer cannot write an internal note")
    body = ev.get("body")
    if not isinstance(body, str) or not body.strip():
        errors.append(f"{path}.body: the message is empty")
    automated = ev.get("automated", False)
    if not isinstance(automated, bool):
        errors.append(f"{path}.automated: must be true or false")
    return (visibility, body, automated)


def _value_status_or_priority(ev: dict[str, Any], path: str, errors: list[str], actor: "Person | None") -> Any:
    etype = ev["type"]
    allowed = STATUSES if etype == "status" else PRIORITIES
    if ev.get("to") not in allowed:
        errors.append(f"{path}.to: unknown {etype} {ev.get('to')!r} ({', '.join(sorted(allowed))})")
    return ev.get("to")


def _value_assign(ev: dict[str, Any], path: str, errors: list[str], actor: "Person | None") -> Any:
    return None if ev.get("to") is None else _email(ev.get("to"), f"{path}.to", errors)


def _value_queue(ev: dict[str, Any], path: str, errors: list[str], actor: "Person | None") -> Any:
    if not isinstance(ev.get("to"), str) or not ev["to"]:
        errors.append(f"{path}.to: a queue slug is required")
    return ev.get("to")


def _value_tag(ev: dict[str, Any], path: str, errors: list[str], actor: "Person | None") -> Any:
    return (_str_list(ev.get("add"), f"{path}.add", errors), _str_list(ev.get("remove"), f"{path}.remove", errors))


def _value_work_session(ev: dict[str, Any], path: str, errors: list[str], actor: "Person | None") -> Any:
    agent = _email(ev.get("agent"), f"{path}.agent", errors)
    started = _ts(ev.get("started_at"), f"{path}.started_at", errors)
    ended = _ts(ev.get("ended_at"), f"{path}.ended_at", errors)
    if started and ended and ended <= started:
        errors.append(f"{path}: a work session must end after it starts")
    return (agent, started, ended)


def _value_time_entry(ev: dict[str, Any], path: str, errors: list[str], actor: "Person | None") -> Any:
    agent = _email(ev.get("agent"), f"{path}.agent", errors)
    seconds = ev.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 < seconds <= 24 * 3600:
        errors.append(f"{path}.seconds: must be a whole number from 1 to 86400")
    return (agent, seconds, str(ev.get("note") or ""))


def _value_survey_offered(ev: dict[str, Any], path: str, errors: list[str], actor: "Person | None") -> Any:
    survey = ev.get("survey", "csat")
    if survey not in SURVEYS:
        errors.append(f"{path}.survey: unknown survey {survey!r} (csat, ces, nps)")
    return survey


def _value_survey(ev: dict[str, Any], path: str, errors: list[str], actor: "Person | None") -> Any:
    from helpdesk.lib.exceptions import ApplicationError
    from tickets.services import survey_validate  # the one rule for ratings

    etype = ev["type"]
    scale = ev.get("scale") or DEFAULT_SCALE[etype]
    try:
        survey_validate(etype, scale, ev.get("value"))
    except ApplicationError as exc:
        errors.append(f"{path}.value: {exc.message}")
    comment = ev.get("comment") or ""
    if not isinstance(comment, str):
        errors.append(f"{path}.comment: must be a string")
        comment = ""
    return (scale, ev.get("value"), comment[:2000])


def _value_merged_into(ev: dict[str, Any], path: str, errors: list[str], actor: "Person | None") -> Any:
    if not isinstance(ev.get("target"), str) or not ev["target"]:
        errors.append(f"{path}.target: the external_id of the target ticket is required")
    return ev.get("target")


# A value parser per event type (survey answers: SURVEYS); each appends its problems to `errors`.
VALUE_PARSERS: dict[str, Callable[[dict[str, Any], str, list[str], "Person | None"], Any]] = {
    "message": _value_message,
    "status": _value_status_or_priority,
    "priority": _value_status_or_priority,
    "assign": _value_assign,
    "queue": _value_queue,
    "tag": _value_tag,
    "work_session": _value_work_session,
    "time_entry": _value_time_entry,
    "survey_offered": _value_survey_offered,
    "merged_into": _value_merged_into,
    **dict.fromkeys(SURVEYS, _value_survey),
}


def _event(i: int, ev: Any, errors: list[str]) -> "ParsedEvent | None":
    path = f"events[{i}]"
    if not isinstance(ev, dict):
        errors.append(f"{path}: must be an object")
        return None
    etype = ev.get("type")
    if etype not in EVENT_TYPES:
        errors.append(f"{path}.type: unknown event type {etype!r}")
        return None
    n_errors = len(errors)
    at_raw = ev.get("at")
    if etype == "work_session" and at_raw is None:
        at_raw = ev.get("ended_at")
    at = _ts(at_raw, f"{path}.at", errors)
    actor = None
    if "actor" in ev:
        actor = _person(ev["actor"], f"{path}.actor", errors, default_role="agent", allow_system=True)
    if etype == "message":
        actor = _person(ev.get("author"), f"{path}.author", errors, default_role="customer", allow_system=True)
    parser = VALUE_PARSERS.get(etype)
    value = parser(ev, path, errors, actor) if parser is not None else None
    if len(errors) > n_errors or at is None:
        return None
    return ParsedEvent(at, i, etype, ev, actor, value)


def _choice(obj: dict[str, Any], key: str, default: str, allowed: Any, errors: list[str]) -> Any:
    value = obj.get(key, default)
    if value not in allowed:
        errors.append(f"{key}: unknown {key} {value!r} ({', '.join(sorted(allowed))})")
    return value


def _external_id(obj: dict[str, Any], errors: list[str]) -> Any:
    ext = obj.get("external_id")
    if isinstance(ext, int) and not isinstance(ext, bool):
        ext = str(ext)
    if not isinstance(ext, str) or not ext.strip() or len(ext) > 200:
        errors.append("external_id: a non-empty string of at most 200 characters is required")
    return ext


def _events(raw_events: Any, errors: list[str]) -> list["ParsedEvent"]:
    events: list[ParsedEvent] = []
    if not isinstance(raw_events, list):
        errors.append("events: must be a list")
        return events
    for i, ev in enumerate(raw_events):
        parsed = _event(i, ev, errors)
        if parsed is not None:
            events.append(parsed)
    return events


def parse_line(obj: Any, digest: str) -> "ParsedLine":
    """Validate a decoded line. Raises LineError with every problem found."""
    if not isinstance(obj, dict):
        raise LineError(["the line must be a JSON object"])
    errors: list[str] = []
    ext = _external_id(obj, errors)
    queue = obj.get("queue")
    if not isinstance(queue, str) or not queue:
        errors.append("queue: a queue slug is required")
    subject = obj.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        errors.append("subject: a non-empty subject is required")
    priority = _choice(obj, "priority", "normal", PRIORITIES, errors)
    channel = _choice(obj, "channel", "import", CHANNELS, errors)
    status = _choice(obj, "status", "new", STATUSES, errors)
    tags = _str_list(obj.get("tags"), "tags", errors)
    requester = _person(obj.get("requester"), "requester", errors, default_role="customer", allow_system=False)
    created_by = requester
    if obj.get("created_by") is not None:
        created_by = _person(obj.get("created_by"), "created_by", errors, default_role="customer", allow_system=True)
    created_at = _ts(obj.get("created_at"), "created_at", errors)
    description = obj.get("description", "")
    if not isinstance(description, str):
        errors.append("description: must be a string")
    dvis = obj.get("description_visibility", "public")
    if dvis not in VISIBILITIES:
        errors.append("description_visibility: must be public or internal")
    events = _events(obj.get("events", []), errors)
    if errors:
        raise LineError(errors)
    seen: dict[str, int] = {}
    for ev in events:
        ev.fp = event_fingerprint(ev, seen)
    events.sort(key=lambda e: (e.at, e.pos))
    # Checked above (an error for each raised LineError); spelled out for the type checker.
    assert requester is not None and created_by is not None and created_at is not None  # noqa: S101
    assert isinstance(queue, str) and isinstance(subject, str)  # noqa: S101
    return ParsedLine(
        external_id=ext.strip(),
        queue=queue,
        subject=subject.strip()[:500],
        priority=priority,
        channel=channel,
        status=status,
        tags=sorted(set(tags)),
        requester=requester,
        created_by=created_by,
        created_at=created_at,
        description=description,
        description_visibility=dvis,
        events=events,
        digest=digest,
        merge_targets=[e.value for e in events if e.type == "merged_into"],
    )
