"""Configuration as code (docs/import.md): one JSON document for calendars, SLA
policies, queues, request types, agents and the reporting time zone.

`config_apply(document, dry_run)` validates the whole document first (every
problem with its JSON path), then creates or updates in one transaction;
nothing is ever deleted. Applying the same document twice changes nothing.
`config_dump()` returns the current configuration in the same shape, so
dump -> apply round-trips.
"""

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import policy as accounts_policy
from accounts.models import User
from helpdesk.lib.exceptions import ApplicationError
from tickets import calendar_versions as cv
from tickets.models import (
    Calendar,
    HelpdeskSetting,
    Queue,
    QueueKind,
    QueueMembership,
    RequestType,
    SLAPolicy,
    Ticket,
)

SECTIONS = ("calendars", "sla_policies", "queues", "request_types", "agents", "reporting")
OBJECT_SECTIONS = ("reporting",)


@dataclass(frozen=True)
class ConfigSection:
    """A configuration section owned by another app (e.g. surveys), registered
    from its AppConfig.ready so that tickets imports none of them
    (docs/architecture.md). `problems(value)` gives (sub-path, message) pairs;
    `apply(value)` saves and gives (name, action) pairs for the report;
    `dump()` gives the section's current value or None."""

    problems: Callable[[dict[str, Any]], list[tuple[str, str]]]
    apply: Callable[[dict[str, Any]], list[tuple[str, str]]]
    dump: Callable[[], dict[str, Any] | None]


EXTRA_SECTIONS: dict[str, ConfigSection] = {}


def config_section_register(name: str, section: ConfigSection) -> None:
    EXTRA_SECTIONS[name] = section


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TARGET_FIELDS = ("first_response", "next_reply", "resolution")
STAFF_ROLES = User.STAFF_ROLES
REPORTING_TZ_KEY = "reporting.timezone"
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


@dataclass(frozen=True)
class ConfigProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigInvalid(ApplicationError):
    code = "invalid_config"
    status_code = 400

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__(
            ngettext("The configuration has %(n)d problem.", "The configuration has %(n)d problems.", len(problems))
            % {"n": len(problems)},
            extra={"problems": [{"path": p.path, "message": p.message} for p in problems]},
        )


@dataclass
class ConfigChange:
    section: str
    key: str
    action: str  # "create" | "update" | "unchanged"
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        what = f" ({', '.join(self.fields)})" if self.fields else ""
        return f"{self.action:9} {self.section} {self.key}{what}"


@dataclass
class ConfigReport:
    dry_run: bool
    changes: list[ConfigChange] = field(default_factory=list)
    # Open (unsolved) tickets in queues whose calendar or SLA policy changes.
    sla_affected_open_tickets: int = 0
    # ... of which the stored SLA state (due instants, next check) changes.
    sla_state_changed_open_tickets: int = 0

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def created(self) -> int:
        return self.count("create")

    @property
    def updated(self) -> int:
        return self.count("update")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def has_changes(self) -> bool:
        return bool(self.created or self.updated)

    def lines(self) -> list[str]:
        prefix = "would " if self.dry_run else ""
        out = [f"{prefix}{c}" if c.action != "unchanged" else str(c) for c in self.changes]
        out.append(
            f"{'Dry run: ' if self.dry_run else ''}{self.created} {prefix}create, {self.updated} {prefix}update, "
            f"{self.unchanged} unchanged; open tickets that {'would ' if self.dry_run else ''}change SLA state: "
            f"{self.sla_affected_open_tickets}"
        )
        out.append(
            f"open tickets whose SLA due instants {'would ' if self.dry_run else ''}change: "
            f"{self.sla_state_changed_open_tickets}"
        )
        return out


# --- validation ------------------------------------------------------------
# Messages are translated (docs/languages.md); paths, keys and allowed values stay as written in the file.


def _one_of(values: Any) -> str:
    return _("must be one of %(values)s") % {"values": ", ".join(values)}


def _unknown_zone(name: Any) -> str:
    return _("unknown time zone %(name)s (use an IANA name)") % {"name": repr(name)}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(path, message))

    def obj(self, value: Any, path: str) -> bool:
        if not isinstance(value, dict):
            self.add(path, _("must be an object"))
            return False
        return True

    def text(self, d: dict[str, Any], key: str, path: str, *, required: bool = True, max_len: int = 200) -> Any:
        if key not in d or d[key] is None:
            if required:
                self.add(f"{path}.{key}", _("is required"))
            return None
        value = d[key]
        if not isinstance(value, str) or not value.strip():
            self.add(f"{path}.{key}", _("must be a non-empty string"))
            return None
        if len(value) > max_len:
            self.add(f"{path}.{key}", _("must be at most %(n)d characters") % {"n": max_len})
            return None
        return value

    def unknown_keys(self, d: dict[str, Any], allowed: set[str], path: str) -> None:
        for key in sorted(set(d) - allowed):
            self.add(f"{path}.{key}", _("unknown key"))

    def intervals(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.add(path, _('must be a list of ["HH:MM", "HH:MM"] intervals'))
            return
        for i, iv in enumerate(value):
            p = f"{path}[{i}]"
            if not (isinstance(iv, list) and len(iv) == 2 and all(isinstance(x, str) for x in iv)):
                self.add(p, _('must be ["HH:MM", "HH:MM"]'))
                continue
            if not all(_HHMM.match(x) for x in iv):
                self.add(p, _("times must be HH:MM (00:00-24:00)"))
            elif iv[0] >= iv[1]:
                self.add(p, _("the start must be before the end"))

    def date(self, value: Any, path: str) -> None:
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            self.add(path, _("must be a date YYYY-MM-DD"))


QUEUE_DAYS = ("auto_close_days", "pending_reminder_days")


def _check_sla_extras(c: _Checker, pol: dict[str, Any], path: str) -> None:
    """SLA policy warning fraction and escalation actions (tickets.sla_services)."""
    from tickets.sla_services import ESCALATION_ACTIONS, ESCALATION_ON

    frac = pol.get("warning_fraction")
    if frac is not None and (isinstance(frac, bool) or not isinstance(frac, int | float) or not 0 < frac < 1):
        c.add(f"{path}.warning_fraction", _("must be a number between 0 and 1 (exclusive)"))
    escalations = pol.get("escalations", [])
    if not isinstance(escalations, list):
        c.add(f"{path}.escalations", _("must be a list"))
        return
    for j, esc in enumerate(escalations):
        p = f"{path}.escalations[{j}]"
        if not c.obj(esc, p):
            continue
        c.unknown_keys(esc, {"on", "targets", "action", "queue", "priority"}, p)
        if esc.get("on", "breach") not in ESCALATION_ON:
            c.add(f"{p}.on", _one_of(ESCALATION_ON))
        if esc.get("action") not in ESCALATION_ACTIONS:
            c.add(f"{p}.action", _one_of(ESCALATION_ACTIONS))
        targets = esc.get("targets", [])
        if not isinstance(targets, list) or any(t not in TARGET_FIELDS for t in targets):
            c.add(f"{p}.targets", _("must be a list of %(values)s") % {"values": ", ".join(TARGET_FIELDS)})
        if esc.get("action") == "reassign" and not isinstance(esc.get("queue"), str):
            c.add(f"{p}.queue", _("a reassign action needs a queue slug"))
        if "priority" in esc and esc["priority"] not in Ticket.Priority.values:
            c.add(f"{p}.priority", _one_of(Ticket.Priority.values))


def _valid_tz(name: Any) -> bool:
    if not isinstance(name, str) or not name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def config_validate(document: Any, *, history: bool = True) -> list[ConfigProblem]:
    """Every problem of the document, each with its JSON path (empty = valid).

    References (a queue's calendar, an agent's queues...) may name objects
    of the same document or objects that already exist. One function per
    section, in the document's order (later sections read earlier names).
    """
    c = _Checker()
    if not isinstance(document, dict):
        c.add("$", _("the document must be a JSON object"))
        return c.problems
    c.unknown_keys(document, {*SECTIONS, *EXTRA_SECTIONS}, "$")
    for section in SECTIONS:
        if section not in OBJECT_SECTIONS and section in document and not isinstance(document[section], list):
            c.add(section, _("must be a list"))
    calendars = _validate_calendars(c, document, history=history)
    policies = _validate_policies(c, document)
    queues = _validate_queues(c, document, calendars, policies)
    refers = any(document.get(k) for k in ("request_types", "agents"))
    existing_queues = {s.lower() for s in Queue.objects.values_list("slug", flat=True)} if refers else set()
    known_queues = {*queues, *existing_queues}
    _validate_request_types(c, document, known_queues)
    _validate_agents(c, document, known_queues)
    _validate_reporting(c, document)
    _validate_extra_sections(c, document)
    return c.problems


def _validate_extra_sections(c: _Checker, document: dict[str, Any]) -> None:
    for name, section in EXTRA_SECTIONS.items():
        value = document.get(name)
        if value is None or not c.obj(value, name):
            continue
        for path, message in section.problems(value):
            c.add(f"{name}.{path}" if path else name, message)


def _items(c: _Checker, document: dict[str, Any], section: str) -> list[tuple[str, dict[str, Any]]]:
    """(path, item) of a section's objects (non-objects are reported)."""
    value = document.get(section)
    if not isinstance(value, list):
        return []
    out = []
    for i, item in enumerate(value):
        if c.obj(item, f"{section}[{i}]"):
            out.append((f"{section}[{i}]", item))
    return out


def _unique(c: _Checker, path: str, seen: dict[str, str], key: Any, label: str) -> None:
    if key is None:
        return
    norm = key.lower() if isinstance(key, str) else key
    if norm in seen:
        c.add(
            path, _("duplicate %(what)s '%(key)s' (also at %(path)s)") % {"what": label, "key": key, "path": seen[norm]}
        )
    else:
        seen[norm] = path


CALENDAR_CONTENT_KEYS = {"timezone", "hours", "holidays", "overrides"}


def _validate_calendars(c: _Checker, document: dict[str, Any], *, history: bool) -> dict[str, str]:
    calendars: dict[str, str] = {}
    items = _items(c, document, "calendars")
    for path, cal in items:
        c.unknown_keys(cal, {"name", "effective_from", "versions", *CALENDAR_CONTENT_KEYS}, path)
        _unique(c, f"{path}.name", calendars, c.text(cal, "name", path, max_len=100), _("calendar"))
        _validate_calendar_content(c, cal, path)
        if cal.get("effective_from") is not None:
            problem = cv.effective_from_problem(cal["effective_from"])
            if problem:
                c.add(f"{path}.effective_from", problem)
        _validate_versions(c, cal.get("versions"), f"{path}.versions")
    if history and not c.problems:  # a write: judged against the stored versions
        _validate_calendar_history(c, items)
    return calendars


def _validate_calendar_content(c: _Checker, cal: dict[str, Any], path: str) -> None:
    if not _valid_tz(cal.get("timezone")):
        c.add(f"{path}.timezone", _unknown_zone(cal.get("timezone")))
    _validate_hours(c, cal.get("hours", {}), f"{path}.hours")
    holidays = cal.get("holidays", [])
    if not isinstance(holidays, list):
        c.add(f"{path}.holidays", _("must be a list of dates"))
    else:
        for j, d in enumerate(holidays):
            c.date(d, f"{path}.holidays[{j}]")
    _validate_overrides(c, cal.get("overrides", []), f"{path}.overrides")


def _validate_versions(c: _Checker, versions: Any, path: str) -> None:
    """A calendar's history in the config file: the first version in force
    since the beginning (effective_from null), the others in time order."""
    if versions is None:
        return
    if not isinstance(versions, list) or not versions:
        c.add(path, "must be a non-empty list of versions")
        return
    previous: datetime | None = None
    for j, v in enumerate(versions):
        p = f"{path}[{j}]"
        if not c.obj(v, p):
            continue
        c.unknown_keys(v, {"effective_from", *CALENDAR_CONTENT_KEYS}, p)
        _validate_calendar_content(c, v, p)
        when = cv.effective_from_parse(v.get("effective_from"))
        if j == 0 and v.get("effective_from") is not None:
            c.add(f"{p}.effective_from", "the first version is in force since the beginning: null")
        elif j > 0 and when is None:
            c.add(f"{p}.effective_from", "must be an ISO 8601 date-time with its offset")
        elif j > 0 and previous is not None and when is not None and when <= previous:
            c.add(f"{p}.effective_from", "versions must be in time order")
        previous = when or previous


def calendar_wanted(cal: dict[str, Any]) -> dict[str, Any]:
    """A calendar item's (or version's) values as stored."""
    hours = cal.get("hours", {})
    return {
        "timezone": cal["timezone"],
        "hours": {d: hours[d] for d in DAYS if d in hours},
        "holidays": sorted(cal.get("holidays", [])),
        "overrides": sorted(cal.get("overrides", []), key=lambda o: o["date"]),
    }


def _listed_versions(cal: dict[str, Any]) -> list[tuple[datetime | None, dict[str, Any]]]:
    return [(cv.effective_from_parse(v.get("effective_from")), calendar_wanted(v)) for v in cal.get("versions") or []]


def _validate_calendar_history(c: _Checker, items: list[tuple[str, dict[str, Any]]]) -> None:
    """Past values never move (docs/metrics.md#calendar-versions): against
    the stored versions of the calendars the document names."""
    named = {cal["name"].lower(): (path, cal) for path, cal in items}
    if not named:
        return
    rows = list(Calendar.objects.annotate(lname=Lower("name")).filter(lname__in=list(named)))
    stored = cv.calendar_versions_by_id(r.pk for r in rows)
    now = timezone.now()
    for row in rows:
        path, cal = named[row.name.lower()]
        history = [(v.effective_from, cv.calendar_content(v)) for v in stored.get(row.pk, [])]
        history = history or [(None, cv.calendar_content(row))]
        listed = _listed_versions(cal)
        _check_listed_versions(c, f"{path}.versions", listed, dict(history), now)
        latest_from = max((w for w, _ in [*history, *listed] if w is not None), default=None)
        latest = (listed or history)[-1][1]
        if calendar_wanted(cal) != latest:
            problem = cv.scheduled_problem(latest_from, cv.effective_from_parse(cal.get("effective_from")) or now)
            if problem:
                c.add(f"{path}.effective_from", problem)


def _check_listed_versions(
    c: _Checker, path: str, listed: list[tuple[datetime | None, dict[str, Any]]], stored: dict[Any, Any], now: datetime
) -> None:
    for j, (when, content) in enumerate(listed):
        in_force = when is None or when <= now
        if when in stored and stored[when] != content and in_force:
            c.add(f"{path}[{j}]", "a version already in force cannot change (past business values never move)")
        elif when not in stored and in_force:
            c.add(f"{path}[{j}].effective_from", cv.PAST_MESSAGE)


def _validate_hours(c: _Checker, hours: Any, path: str) -> None:
    if not c.obj(hours, path):
        return
    for day, ivs in hours.items():
        if day not in DAYS:
            c.add(f"{path}.{day}", _("unknown day (use %(values)s)") % {"values": ", ".join(DAYS)})
        else:
            c.intervals(ivs, f"{path}.{day}")
    # A calendar never open (or only on one-off dates) would make business-hours
    # targets unreachable (docs/metrics.md#calendars-with-no-open-hours).
    if not any(isinstance(hours.get(day), list) and hours[day] for day in DAYS):
        c.add(
            path,
            _(
                "needs open hours on at least one weekday: a calendar that is never open makes every"
                " business-hours target unreachable (a queue without a calendar runs round the clock)"
            ),
        )


def _validate_overrides(c: _Checker, overrides: Any, path: str) -> None:
    if not isinstance(overrides, list):
        c.add(path, _("must be a list"))
        return
    for j, ov in enumerate(overrides):
        p = f"{path}[{j}]"
        if c.obj(ov, p):
            c.unknown_keys(ov, {"date", "hours"}, p)
            c.date(ov.get("date"), f"{p}.date")
            c.intervals(ov.get("hours"), f"{p}.hours")


def _validate_policies(c: _Checker, document: dict[str, Any]) -> dict[str, str]:
    policies: dict[str, str] = {}
    for path, pol in _items(c, document, "sla_policies"):
        c.unknown_keys(pol, {"name", "pause_statuses", "targets", "warning_fraction", "escalations"}, path)
        _check_sla_extras(c, pol, path)
        _unique(c, f"{path}.name", policies, c.text(pol, "name", path, max_len=100), _("SLA policy"))
        pauses = pol.get("pause_statuses", ["pending"])
        if not isinstance(pauses, list):
            c.add(f"{path}.pause_statuses", _("must be a list of statuses"))
        else:
            for j, s in enumerate(pauses):
                if s not in Ticket.UNSOLVED:
                    c.add(f"{path}.pause_statuses[{j}]", _one_of(Ticket.UNSOLVED))
        targets = pol.get("targets", {})
        if c.obj(targets, f"{path}.targets"):
            for prio, target in targets.items():
                _validate_target(c, prio, target, f"{path}.targets.{prio}")
    return policies


def _validate_target(c: _Checker, prio: Any, target: Any, p: str) -> None:
    if prio not in Ticket.Priority.values:
        c.add(p, _("unknown priority (use %(values)s)") % {"values": ", ".join(Ticket.Priority.values)})
        return
    if not c.obj(target, p):
        return
    c.unknown_keys(target, {*TARGET_FIELDS, "business_hours"}, p)
    for key in TARGET_FIELDS:
        v = target.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0):
            c.add(f"{p}.{key}", _("must be a positive number of seconds"))
    if "business_hours" in target and not isinstance(target["business_hours"], bool):
        c.add(f"{p}.business_hours", _("must be true or false"))


QUEUE_KEYS = {
    "slug",
    "name",
    "kind",
    "calendar",
    "sla_policy",
    "auto_assign",
    "inbound_email",
    "send_acknowledgement",
    *QUEUE_DAYS,
}


def _validate_queues(
    c: _Checker, document: dict[str, Any], calendars: dict[str, str], policies: dict[str, str]
) -> dict[str, str]:
    queues: dict[str, str] = {}
    existing_calendars: set[str] = set()
    existing_policies: set[str] = set()
    if isinstance(document.get("queues"), list) and document["queues"]:  # only queues refer to existing rows
        existing_calendars = {n.lower() for n in Calendar.objects.values_list("name", flat=True)}
        existing_policies = {n.lower() for n in SLAPolicy.objects.values_list("name", flat=True)}
    known_calendars = {*calendars, *existing_calendars}
    known_policies = {*policies, *existing_policies}
    for path, q in _items(c, document, "queues"):
        _validate_queue(c, path, q, queues, known_calendars, known_policies)
    return queues


def _validate_queue(
    c: _Checker, path: str, q: dict[str, Any], queues: dict[str, str], calendars: set[str], policies: set[str]
) -> None:
    c.unknown_keys(q, QUEUE_KEYS, path)
    if "send_acknowledgement" in q and not isinstance(q["send_acknowledgement"], bool):
        c.add(f"{path}.send_acknowledgement", _("must be true or false"))
    for key in QUEUE_DAYS:
        v = q.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            c.add(f"{path}.{key}", _("must be a whole number of days >= 0 or null"))
    slug = c.text(q, "slug", path, max_len=100)
    if slug and not _SLUG.match(slug):
        c.add(f"{path}.slug", _("may contain only letters, digits, '-' and '_'"))
    _unique(c, f"{path}.slug", queues, slug, _("queue"))
    c.text(q, "name", path)
    if q.get("kind") not in QueueKind.values:
        c.add(f"{path}.kind", _one_of(QueueKind.values))
    cal = q.get("calendar")
    if cal is not None and (not isinstance(cal, str) or cal.lower() not in calendars):
        c.add(f"{path}.calendar", _("unknown calendar %(name)s") % {"name": repr(cal)})
    pol = q.get("sla_policy")
    if pol is not None and (not isinstance(pol, str) or pol.lower() not in policies):
        c.add(f"{path}.sla_policy", _("unknown SLA policy %(name)s") % {"name": repr(pol)})
    if q.get("auto_assign", "none") not in Queue.AutoAssign.values:
        c.add(f"{path}.auto_assign", _one_of(Queue.AutoAssign.values))
    if q.get("inbound_email"):
        try:
            validate_email(q["inbound_email"])
        except ValidationError:
            c.add(f"{path}.inbound_email", _("must be an email address"))


def _validate_request_types(c: _Checker, document: dict[str, Any], known_queues: set[str]) -> None:
    types: dict[str, str] = {}
    defaults: dict[str, str] = {}  # at most one request type is the default
    for path, rt in _items(c, document, "request_types"):
        c.unknown_keys(rt, {"slug", "name", "queue", "description", "default"}, path)
        if "description" in rt and (not isinstance(rt["description"], str) or len(rt["description"]) > 300):
            c.add(f"{path}.description", _("must be a string of at most 300 characters"))
        if "default" in rt and not isinstance(rt["default"], bool):
            c.add(f"{path}.default", _("must be true or false"))
        elif rt.get("default"):
            _unique(c, f"{path}.default", defaults, "default", _("default request type"))
        slug = c.text(rt, "slug", path, max_len=100)
        if slug and not _SLUG.match(slug):
            c.add(f"{path}.slug", _("may contain only letters, digits, '-' and '_'"))
        _unique(c, f"{path}.slug", types, slug, _("request type"))
        c.text(rt, "name", path)
        qs = c.text(rt, "queue", path, max_len=100)
        if qs and qs.lower() not in known_queues:
            c.add(f"{path}.queue", _("unknown queue %(name)s") % {"name": repr(qs)})


def _validate_agents(c: _Checker, document: dict[str, Any], known_queues: set[str]) -> None:
    agents: dict[str, str] = {}
    for path, a in _items(c, document, "agents"):
        c.unknown_keys(a, {"email", "name", "role", "queues", "capacity", "active"}, path)
        email = c.text(a, "email", path, max_len=254)
        if email:
            try:
                validate_email(email)
            except ValidationError:
                c.add(f"{path}.email", _("must be an email address"))
        _unique(c, f"{path}.email", agents, email, _("agent"))
        if "name" in a and not isinstance(a["name"], str):
            c.add(f"{path}.name", _("must be a string"))
        if a.get("role", "agent") not in STAFF_ROLES:
            c.add(f"{path}.role", _one_of(STAFF_ROLES))
        _validate_agent_queues(c, a.get("queues", []), f"{path}.queues", known_queues)
        cap = a.get("capacity")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
            c.add(f"{path}.capacity", _("must be a whole number >= 0 or null"))
        if "active" in a and not isinstance(a["active"], bool):
            c.add(f"{path}.active", _("must be true or false"))


def _validate_agent_queues(c: _Checker, aq: Any, path: str, known_queues: set[str]) -> None:
    if not isinstance(aq, list):
        c.add(path, _("must be a list of queue slugs"))
        return
    for j, s in enumerate(aq):
        if not isinstance(s, str) or s.lower() not in known_queues:
            c.add(f"{path}[{j}]", _("unknown queue %(name)s") % {"name": repr(s)})


def _validate_reporting(c: _Checker, document: dict[str, Any]) -> None:
    reporting = document.get("reporting")
    if reporting is not None and c.obj(reporting, "reporting"):
        c.unknown_keys(reporting, {"timezone"}, "reporting")
        if "timezone" in reporting and not _valid_tz(reporting["timezone"]):
            c.add("reporting.timezone", _unknown_zone(reporting["timezone"]))


# --- apply -------------------------------------------------------------------


def _sync(obj: Any, wanted: dict[str, Any]) -> list[str]:
    """Set differing attributes on `obj`; return the names that changed."""
    changed = []
    for name, value in wanted.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _record(
    report: ConfigReport, section: str, key: str, obj: Any, changed: list[str], created: bool, *, saved: bool = False
) -> None:
    """Save (unless `saved`) and report one item's change."""
    if created:
        if not saved:
            obj.save()
        report.changes.append(ConfigChange(section, key, "create"))
    elif changed:
        extra = ["updated_at"] if hasattr(obj, "updated_at") else []
        if not saved:
            obj.save(update_fields=[*changed, *extra])
        report.changes.append(ConfigChange(section, key, "update", changed))
    else:
        report.changes.append(ConfigChange(section, key, "unchanged"))


def _normalise_targets(targets: dict[str, Any]) -> dict[str, Any]:
    return {prio: dict(sorted(t.items())) for prio, t in sorted(targets.items())}


class _DryRunRollback(Exception):
    pass


def config_apply(document: Any, dry_run: bool = False, *, actor: User | None = None) -> ConfigReport:
    """Validate `document` and create/update everything it names.

    All in one transaction; with `dry_run` the same work is done and rolled
    back, so the report says exactly what would change. Agents created here
    get an unusable password (they sign in after a reset or via SSO).

    `actor` is who asks (None: the operator running the command, trusted
    like a superuser). Role and active-flag changes follow accounts.policy:
    only admins grant or revoke manager/admin or (de)activate staff, and
    nobody removes the last active admin.

    Raises ConfigInvalid (with every problem and its path); nothing is
    written then.
    """
    problems = config_validate(document)
    if problems:
        raise ConfigInvalid(problems)
    report = ConfigReport(dry_run=dry_run)
    try:
        with transaction.atomic():
            _apply(document, report, actor=actor)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    return report


def _apply(doc: dict[str, Any], report: ConfigReport, *, actor: User | None) -> None:
    """A function per section, in the document's order (later sections refer to earlier ones)."""
    calendars, changed_calendar_ids = _apply_calendars(doc.get("calendars", []), report)
    policies, changed_policy_ids = _apply_policies(doc.get("sla_policies", []), report)
    queues, sla_queue_ids = _apply_queues(doc.get("queues", []), report, calendars, policies)
    sla_queue_ids |= set(Queue.objects.filter(calendar_id__in=changed_calendar_ids).values_list("pk", flat=True)) | set(
        Queue.objects.filter(sla_policy_id__in=changed_policy_ids).values_list("pk", flat=True)
    )
    _apply_request_types(doc.get("request_types", []), report, queues)
    _apply_agents(doc.get("agents", []), queues, report, actor=actor)
    _apply_reporting(doc.get("reporting") or {}, report)
    for name, section in EXTRA_SECTIONS.items():
        if doc.get(name):
            report.changes.extend(ConfigChange(name, item, action) for item, action in section.apply(doc[name]))
    if sla_queue_ids:
        _refresh_sla(sla_queue_ids, report)


def _apply_calendars(items: list[dict[str, Any]], report: ConfigReport) -> tuple[dict[str, Calendar], set[int]]:
    """(calendars by lower-case name, ids of existing calendars that changed).

    A change of values is a new version effective `effective_from` or now;
    listed `versions` seed a new calendar's history or schedule later ones
    (docs/metrics.md#calendar-versions). The row mirrors the latest version."""
    changed_ids: set[int] = set()
    calendars = {c.name.lower(): c for c in Calendar.objects.all()}
    for cal in items:
        obj = calendars.get(cal["name"].lower())
        created = obj is None
        listed = _listed_versions(cal)
        if obj is None:
            obj = Calendar(name=cal["name"], **(listed[0][1] if listed else calendar_wanted(cal)))
            obj.save()
            cv.calendar_history_seed(calendar=obj, versions=listed)
        written = False
        for when, content in [] if created else listed:
            written |= cv.calendar_version_put(calendar=obj, effective_from=when, content=content)
        when = cv.effective_from_parse(cal.get("effective_from"))
        written |= cv.calendar_edit_record(calendar=obj, effective_from=when, content=calendar_wanted(cal))
        changed = cv.calendar_row_mirror(obj) or (["versions"] if written else [])
        _record(report, "calendar", cal["name"], obj, [] if created else changed, created, saved=True)
        calendars[cal["name"].lower()] = obj
        if changed and not created:
            changed_ids.add(obj.pk)
    return calendars, changed_ids


def _apply_policies(items: list[dict[str, Any]], report: ConfigReport) -> tuple[dict[str, SLAPolicy], set[int]]:
    """(policies by lower-case name, ids of existing policies that changed)."""
    changed_ids: set[int] = set()
    policies = {p.name.lower(): p for p in SLAPolicy.objects.all()}
    for pol in items:
        obj = policies.get(pol["name"].lower())
        created = obj is None
        if obj is None:
            obj = SLAPolicy(name=pol["name"])
        wanted_policy: dict[str, Any] = {
            "pause_statuses": list(pol.get("pause_statuses", ["pending"])),
            "targets": _normalise_targets(pol.get("targets", {})),
        }
        if "warning_fraction" in pol:
            wanted_policy["warning_fraction"] = float(pol["warning_fraction"])
        if "escalations" in pol:
            wanted_policy["escalations"] = [dict(sorted(e.items())) for e in pol["escalations"]]
        changed = _sync(obj, wanted_policy)
        _record(report, "sla_policy", pol["name"], obj, changed, created)
        policies[pol["name"].lower()] = obj
        if changed and not created:
            changed_ids.add(obj.pk)
    return policies, changed_ids


def _queue_wanted(q: dict[str, Any], calendars: dict[str, Calendar], policies: dict[str, SLAPolicy]) -> dict[str, Any]:
    cal = calendars[q["calendar"].lower()] if q.get("calendar") else None
    pol = policies[q["sla_policy"].lower()] if q.get("sla_policy") else None
    wanted: dict[str, Any] = {
        "name": q["name"],
        "kind": q["kind"],
        "calendar_id": cal.pk if cal else None,
        "sla_policy_id": pol.pk if pol else None,
        "auto_assign": q.get("auto_assign", Queue.AutoAssign.NONE),
    }
    if "inbound_email" in q:
        wanted["inbound_email"] = q["inbound_email"] or ""
    if "send_acknowledgement" in q:  # absent = unchanged (default on)
        wanted["send_acknowledgement"] = q["send_acknowledgement"]
    for key in QUEUE_DAYS:
        if key in q:
            wanted[key] = q[key]
    return wanted


def _apply_queues(
    items: list[dict[str, Any]],
    report: ConfigReport,
    calendars: dict[str, Calendar],
    policies: dict[str, SLAPolicy],
) -> tuple[dict[str, Queue], set[int]]:
    """(queues by lower-case slug, ids of existing queues whose calendar or policy changed)."""
    sla_queue_ids: set[int] = set()
    queues = {q.slug.lower(): q for q in Queue.objects.all()}
    for q in items:
        obj = queues.get(q["slug"].lower())
        created = obj is None
        if obj is None:
            obj = Queue(slug=q["slug"])
        before = obj.calendar_id
        changed = _sync(obj, _queue_wanted(q, calendars, policies))
        _record(report, "queue", q["slug"], obj, changed, created)
        if created or "calendar_id" in changed:  # from now on; the past keeps its calendar
            cv.queue_calendar_record(queue_id=obj.pk, before=before, after=obj.calendar_id, created=created)
        queues[q["slug"].lower()] = obj
        if not created and ({"calendar_id", "sla_policy_id"} & set(changed)):
            sla_queue_ids.add(obj.pk)
    return queues, sla_queue_ids


def _apply_request_types(items: list[dict[str, Any]], report: ConfigReport, queues: dict[str, Queue]) -> None:
    types = {t.slug.lower(): t for t in RequestType.objects.all()}
    for position, rt in enumerate(items):
        obj = types.get(rt["slug"].lower())
        created = obj is None
        if obj is None:
            obj = RequestType(slug=rt["slug"])
        wanted_type: dict[str, Any] = {
            "name": rt["name"],
            "queue_id": queues[rt["queue"].lower()].pk,
            "position": position,
        }
        if "description" in rt:
            wanted_type["description"] = rt["description"]
        if "default" in rt:
            wanted_type["is_default"] = rt["default"]
        changed = _sync(obj, wanted_type)
        _record(report, "request_type", rt["slug"], obj, changed, created)
        types[rt["slug"].lower()] = obj
    new_default = next((rt["slug"].lower() for rt in items if rt.get("default")), None)
    if new_default is not None:  # a new default replaces the previous one
        for slug, obj in types.items():
            if obj.is_default and slug != new_default:
                obj.is_default = False
                _record(report, "request_type", obj.slug, obj, ["is_default"], False)


def _apply_reporting(reporting: dict[str, Any], report: ConfigReport) -> None:
    if "timezone" not in reporting:
        return
    setting = HelpdeskSetting.objects.filter(key=REPORTING_TZ_KEY).first()
    if setting is None:
        HelpdeskSetting.objects.create(key=REPORTING_TZ_KEY, value=reporting["timezone"])
        report.changes.append(ConfigChange("reporting", "timezone", "create"))
    elif setting.value != reporting["timezone"]:
        setting.value = reporting["timezone"]
        setting.save(update_fields=["value", "updated_at"])
        report.changes.append(ConfigChange("reporting", "timezone", "update", ["timezone"]))
    else:
        report.changes.append(ConfigChange("reporting", "timezone", "unchanged"))


def _refresh_sla(sla_queue_ids: set[int], report: ConfigReport) -> None:
    report.sla_affected_open_tickets = Ticket.objects.filter(
        queue_id__in=sla_queue_ids, status__in=Ticket.UNSOLVED, is_spam=False, is_deleted=False
    ).count()
    # Recompute their stored SLA state (rolled back with a dry run).
    from tickets.sla_services import tickets_sla_refresh

    open_ids = Ticket.objects.filter(queue_id__in=sla_queue_ids, status__in=Ticket.UNSOLVED).values_list(
        "pk", flat=True
    )
    report.sla_state_changed_open_tickets = tickets_sla_refresh(ticket_ids=list(open_ids))


def _apply_agents(
    agents: list[dict[str, Any]], queues: dict[str, Queue], report: ConfigReport, *, actor: User | None
) -> None:
    """The agents section, under accounts.policy (see config_apply)."""
    users = {
        u.email_l: u
        for u in User.objects.annotate(email_l=Lower("email")).filter(email_l__in=[a["email"].lower() for a in agents])
    }
    accounts_policy.active_admin_ids()  # lock the admin rows until commit
    problems: list[ConfigProblem] = []
    removed: list[str] = []  # fields of changes that took an admin away
    for i, a in enumerate(agents):
        _apply_agent(a, f"agents[{i}]", users.get(a["email"].lower()), queues, report, actor, problems, removed)
    if problems:
        raise ConfigInvalid(problems)
    # Judged on the whole document: demoting one admin while promoting
    # another is fine, leaving none is not.
    if removed and not accounts_policy.active_admin_ids():
        raise ConfigInvalid([ConfigProblem(field, accounts_policy.LAST_ADMIN) for field in removed])


def _apply_agent(
    a: dict[str, Any],
    path: str,
    obj: User | None,
    queues: dict[str, Queue],
    report: ConfigReport,
    actor: User | None,
    problems: list[ConfigProblem],
    removed: list[str],
) -> None:
    """One agent: refused changes go to `problems`, admin removals to `removed`."""
    created = obj is None
    if obj is None:
        obj = User(email=a["email"], username=a["email"], password=make_password(None))
    wanted = {"role": a.get("role", User.Role.AGENT), "capacity": a.get("capacity")}
    if "name" in a or created:
        wanted["name"] = a.get("name", "")
    if "active" in a:
        wanted["is_active"] = a["active"]
    before = None if created else accounts_policy.AccountState.of(obj)
    after = accounts_policy.AccountState(
        role=wanted["role"], is_active=wanted.get("is_active", obj.is_active), is_superuser=obj.is_superuser
    )
    names = {"role": f"{path}.role", "is_active": f"{path}.active", "is_superuser": f"{path}.role"}
    refused = accounts_policy.account_change_problems(actor=actor, before=before, after=after, fields=names)
    problems += [ConfigProblem(p.field, p.message) for p in refused]
    if refused:
        return
    changed = _sync(obj, wanted)
    if created:
        obj.save()
    if _sync_agent_queues(obj, {queues[s.lower()].pk for s in a.get("queues", [])}, created):
        changed.append("queues")
    _record_agent(report, a["email"], obj, changed, created)
    if before is not None and before.is_admin and not after.is_admin:
        removed.append(names["role"] if after.role != before.role else names["is_active"])


def _sync_agent_queues(obj: User, wanted_queues: set[int], created: bool) -> bool:
    """Make the agent's memberships `wanted_queues`; True if they changed."""
    current_queues = (
        set() if created else set(QueueMembership.objects.filter(user=obj).values_list("queue_id", flat=True))
    )
    if wanted_queues == current_queues:
        return False
    QueueMembership.objects.filter(user=obj, queue_id__in=current_queues - wanted_queues).delete()
    for qid in sorted(wanted_queues - current_queues):  # not bulk_create: each one is audited
        QueueMembership.objects.create(user=obj, queue_id=qid)
    return True


def _record_agent(report: ConfigReport, email: str, obj: User, changed: list[str], created: bool) -> None:
    if created:
        report.changes.append(ConfigChange("agent", email, "create"))
    elif changed:
        fields = [f for f in changed if f != "queues"]
        if fields:
            obj.save(update_fields=fields)
        report.changes.append(ConfigChange("agent", email, "update", changed))
    else:
        report.changes.append(ConfigChange("agent", email, "unchanged"))


# --- dump --------------------------------------------------------------------


def reporting_timezone(default: str = "UTC") -> str:
    """The reporting time zone set by configuration (`reporting.timezone`)."""
    value = HelpdeskSetting.objects.filter(key=REPORTING_TZ_KEY).values_list("value", flat=True).first()
    return value if isinstance(value, str) and value else default


def _policy_dump(p: SLAPolicy) -> dict[str, Any]:
    item: dict[str, Any] = {"name": p.name, "pause_statuses": p.pause_statuses, "targets": p.targets}
    if p.warning_fraction != SLAPolicy._meta.get_field("warning_fraction").default:
        item["warning_fraction"] = p.warning_fraction
    if p.escalations:
        item["escalations"] = p.escalations
    return item


def _calendars_dump() -> list[dict[str, Any]]:
    """Each calendar's latest values; `versions` (its history, oldest first)
    once it has more than the first one."""
    rows = list(Calendar.objects.order_by("name"))
    versions = cv.calendar_versions_by_id(c.pk for c in rows)
    out = []
    for c in rows:
        item = {"name": c.name, **cv.calendar_content(c)}
        if len(versions.get(c.pk, [])) > 1:
            item["versions"] = [
                {"effective_from": v.effective_from.isoformat() if v.effective_from else None, **cv.calendar_content(v)}
                for v in versions[c.pk]
            ]
        out.append(item)
    return out


def config_dump() -> dict[str, Any]:
    """The current configuration as a document `config_apply` accepts."""
    doc: dict[str, Any] = {
        "calendars": _calendars_dump(),
        "sla_policies": [_policy_dump(p) for p in SLAPolicy.objects.order_by("name")],
        "queues": [],
        "request_types": [
            {
                "slug": t.slug,
                "name": t.name,
                "queue": t.queue.slug,
                **({"description": t.description} if t.description else {}),
                **({"default": True} if t.is_default else {}),
            }
            for t in RequestType.objects.select_related("queue").order_by("position", "slug")
        ],
        "agents": [],
    }
    for q in Queue.objects.select_related("calendar", "sla_policy").order_by("slug"):
        item = {
            "slug": q.slug,
            "name": q.name,
            "kind": q.kind,
            "calendar": q.calendar.name if q.calendar else None,
            "sla_policy": q.sla_policy.name if q.sla_policy else None,
            "auto_assign": q.auto_assign,
        }
        if q.inbound_email:
            item["inbound_email"] = q.inbound_email
        if not q.send_acknowledgement:  # only the non-default, like the other optional keys
            item["send_acknowledgement"] = False
        for key in QUEUE_DAYS:
            if getattr(q, key) is not None:
                item[key] = getattr(q, key)
        doc["queues"].append(item)
    memberships: dict[int, list[str]] = {}
    for user_id, slug in QueueMembership.objects.order_by("queue__slug").values_list("user_id", "queue__slug"):
        memberships.setdefault(user_id, []).append(slug)
    for u in User.objects.filter(role__in=STAFF_ROLES).order_by("email"):
        item = {
            "email": u.email,
            "name": u.name,
            "role": u.role,
            "queues": memberships.get(u.pk, []),
            "capacity": u.capacity,
        }
        if not u.is_active:
            item["active"] = False
        doc["agents"].append(item)
    tz = HelpdeskSetting.objects.filter(key=REPORTING_TZ_KEY).values_list("value", flat=True).first()
    if tz:
        doc["reporting"] = {"timezone": tz}
    for name, section in EXTRA_SECTIONS.items():
        value = section.dump()
        if value is not None:
            doc[name] = value
    return doc


def config_item_problems(section: str, item: dict[str, Any], *, history: bool = True) -> dict[str, list[str]]:
    """Problems of one calendar or SLA policy, by top-level field.

    The same checks as `config_validate` (so the Django admin and the config
    file refuse the same values), keyed by the model field they concern."""
    by_field: dict[str, list[str]] = {}
    prefix = f"{section}[0]."
    for problem in config_validate({section: [item]}, history=history):
        rest = problem.path.removeprefix(prefix)
        name = re.split(r"[.\[]", rest, maxsplit=1)[0] or "__all__"
        detail = rest if rest != name else ""
        by_field.setdefault(name, []).append(f"{detail}: {problem.message}" if detail else problem.message)
    return by_field


def config_health_of(row: Calendar | SLAPolicy) -> str:
    """Why a stored calendar or SLA policy cannot be used ('' when it can)."""
    if isinstance(row, Calendar):
        section, names = "calendars", ("name", "timezone", "hours", "holidays", "overrides")
    else:
        section, names = "sla_policies", ("name", "pause_statuses", "targets", "warning_fraction", "escalations")
    # The values alone (no query): the history rules are for changes.
    problems = config_item_problems(section, {n: getattr(row, n) for n in names}, history=False)
    return "; ".join(f"{field}: {'; '.join(messages)}" for field, messages in problems.items())


def config_health() -> list[str]:
    """Every stored calendar or policy that cannot be used, for managers."""
    out = []
    for row in [*Calendar.objects.order_by("name"), *SLAPolicy.objects.order_by("name")]:
        problem = config_health_of(row)
        if problem:
            label = _("Calendar") if isinstance(row, Calendar) else _("SLA policy")
            message = _("%(what)s '%(name)s' cannot be used (%(problem)s); its queues have no SLA until it is fixed.")
            out.append(message % {"what": label, "name": row.name, "problem": problem})
    return out
