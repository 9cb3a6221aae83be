"""Settings forms: people-friendly inputs (an hours grid, durations, lists)
turned into the configuration document's item and checked by the one
validation layer (desk_settings.validation -> tickets.config)."""

import re
import zoneinfo
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from desk_settings.durations import DurationError, duration_format, duration_parse
from desk_settings.validation import add_item_errors
from tickets.config import DAYS, TARGET_FIELDS
from tickets.models import Calendar, Queue, QueueKind, RequestType, SLAPolicy, Ticket
from tickets.sla_services import ESCALATION_ACTIONS, ESCALATION_ON

DAY_LABELS = dict(
    zip(
        DAYS,
        (
            gettext_lazy("Monday"),
            gettext_lazy("Tuesday"),
            gettext_lazy("Wednesday"),
            gettext_lazy("Thursday"),
            gettext_lazy("Friday"),
            gettext_lazy("Saturday"),
            gettext_lazy("Sunday"),
        ),
        strict=True,
    )
)
PRIORITIES = tuple(Ticket.Priority.values)
TARGET_LABELS = {
    "first_response": gettext_lazy("First response"),
    "next_reply": gettext_lazy("Next reply"),
    "resolution": gettext_lazy("Resolution"),
}
ESCALATION_ROWS = 3
# What a reader sees for the config values (docs/settings.md); the stored value stays the key.
ESCALATION_ACTION_LABELS = {
    "raise_priority": gettext_lazy("raise priority"),
    "notify_manager": gettext_lazy("notify manager"),
    "reassign": gettext_lazy("reassign"),
}
ESCALATION_ON_LABELS = {"warning": gettext_lazy("warning"), "breach": gettext_lazy("breach")}
_INTERVAL = re.compile(r"^\s*(\d{1,2}:\d\d)\s*[-–]\s*(\d{1,2}:\d\d)\s*$")


@cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(z, z) for z in sorted(zoneinfo.available_timezones())]


def _hhmm(value: str) -> str:
    return f"0{value}" if len(value) == 4 else value


def intervals_parse(text: str) -> list[list[str]]:
    """ "09:00-12:00, 13:00-17:00" -> [["09:00", "12:00"], ["13:00", "17:00"]].

    A piece that is not START-END is kept as one string so the config
    validator reports it (with the same wording as every other path)."""
    out: list[list[str]] = []
    for piece in (p for p in re.split(r"[,;]", text) if p.strip()):
        m = _INTERVAL.match(piece)
        if m:
            out.append([_hhmm(m.group(1)), _hhmm(m.group(2))])
        else:
            start, _, end = piece.strip().partition("-")
            out.append([start.strip(), end.strip()] if end else [piece.strip()])
    return out


def intervals_format(intervals: Any) -> str:
    if not isinstance(intervals, list):
        return str(intervals)
    return ", ".join("-".join(map(str, iv)) if isinstance(iv, list) else str(iv) for iv in intervals)


def local_instant(text: str, zone_name: Any) -> str:
    """'2026-12-01T09:00' read in the calendar's zone -> ISO 8601 with its
    offset; anything else is passed on for the validator to name."""
    try:
        local = datetime.fromisoformat(text)
        zone = zoneinfo.ZoneInfo(zone_name) if isinstance(zone_name, str) and zone_name else UTC
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return text
    return (local if local.tzinfo else local.replace(tzinfo=zone)).isoformat()


def _scheduled_from(calendar: Calendar) -> datetime | None:
    """The effective instant of the calendar's latest version if it is not in force yet."""
    from django.utils import timezone

    from tickets.calendar_versions import latest_effective_from

    when = latest_effective_from([calendar.pk]).get(calendar.pk)
    try:
        zoneinfo.ZoneInfo(calendar.timezone)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None
    return when if when is not None and when > timezone.now() else None


class CalendarForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    timezone = forms.CharField(
        label=gettext_lazy("Time zone"),
        max_length=64,
        widget=forms.Select(choices=[]),
        help_text=gettext_lazy("The zone the hours below are in (IANA zone database)."),
    )
    holidays = forms.CharField(
        label=gettext_lazy("Holidays"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Closed all day: one date per line, YYYY-MM-DD."),
    )
    overrides = forms.CharField(
        label=gettext_lazy("One-off hours"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "One date per line with its hours, e.g. <code>2026-12-24 09:00-12:00</code>; "
            "a date alone is closed. Wins over the weekly hours and the holidays."
        ),
    )

    effective_from = forms.CharField(
        label=gettext_lazy("Takes effect"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=gettext_lazy(
            "Empty = now. A later date and time (in the calendar's time zone) schedules the change."
            " Earlier business values never move."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].widget.choices = timezone_choices()
        for day in DAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                label=DAY_LABELS[day],
                required=False,
                help_text=_("e.g. 09:00-12:00, 13:00-17:00; empty = closed"),
            )

    @property
    def day_fields(self) -> list[forms.BoundField]:
        return [self[f"hours_{day}"] for day in DAYS]

    @staticmethod
    def initial_for(calendar: Calendar) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": calendar.name,
            "timezone": calendar.timezone,
            "holidays": "\n".join(map(str, calendar.holidays or [])),
            "overrides": "\n".join(
                f"{o.get('date')} {intervals_format(o.get('hours', []))}".strip()
                for o in calendar.overrides or []
                if isinstance(o, dict)
            ),
        }
        for day in DAYS:
            data[f"hours_{day}"] = intervals_format((calendar.hours or {}).get(day, []))
        scheduled = _scheduled_from(calendar)
        if scheduled is not None:  # the values shown are those of a scheduled version: saving amends it
            local = scheduled.astimezone(zoneinfo.ZoneInfo(calendar.timezone)).replace(tzinfo=None)
            data["effective_from"] = local.isoformat("T", "seconds")
        return data

    def item(self) -> dict[str, Any]:
        """The calendar as the configuration document writes it."""
        d = self.cleaned_data
        overrides = []
        for line in (d.get("overrides") or "").splitlines():
            if line.strip():
                day, _, rest = line.strip().partition(" ")
                overrides.append({"date": day, "hours": intervals_parse(rest)})
        item = {
            "name": d.get("name"),
            "timezone": d.get("timezone"),
            "hours": {day: ivs for day in DAYS if (ivs := intervals_parse(d.get(f"hours_{day}") or ""))},
            "holidays": [x.strip() for x in (d.get("holidays") or "").splitlines() if x.strip()],
            "overrides": overrides,
        }
        if (d.get("effective_from") or "").strip():
            item["effective_from"] = local_instant(d["effective_from"].strip(), d.get("timezone"))
        return item

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        add_item_errors(self, "calendars", self.item(), _calendar_field)
        return data


def _calendar_field(path: str) -> str | None:
    head = re.split(r"[.\[]", path, maxsplit=1)[0]
    if head == "hours":
        day = re.split(r"[.\[]", path)[1] if "." in path else DAYS[0]  # the whole week: on its first day
        return f"hours_{day}" if day in DAYS else None
    return head


class SLAPolicyForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    pause_statuses = forms.MultipleChoiceField(
        label=gettext_lazy("Pause the clocks while"),
        required=False,
        choices=[(s, Ticket.Status(s).label) for s in Ticket.UNSOLVED],
        widget=forms.CheckboxSelectMultiple,
    )
    warning_percent = forms.IntegerField(
        # xgettext:no-python-format
        label=gettext_lazy("Warn at (% of a target)"),
        initial=75,
        help_text=gettext_lazy("An SLA warning when this share of a target has elapsed (1-99)."),
    )

    def __init__(self, *args: Any, queues: list[Queue] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for prio in PRIORITIES:
            for target in TARGET_FIELDS:
                self.fields[f"target_{prio}_{target}"] = forms.CharField(
                    label=f"{Ticket.Priority(prio).label}: {TARGET_LABELS[target]}", required=False, max_length=60
                )
        queue_choices = [("", "—")] + [(q.slug, q.name) for q in queues or []]
        for i in range(ESCALATION_ROWS):
            self.fields[f"esc_{i}_action"] = forms.ChoiceField(
                label=_("Action"),
                required=False,
                choices=[("", "—")]
                + [(a, ESCALATION_ACTION_LABELS.get(a, a.replace("_", " "))) for a in ESCALATION_ACTIONS],
            )
            self.fields[f"esc_{i}_on"] = forms.ChoiceField(
                label=_("On"), required=False, choices=[(o, ESCALATION_ON_LABELS.get(o, o)) for o in ESCALATION_ON]
            )
            self.fields[f"esc_{i}_targets"] = forms.MultipleChoiceField(
                label=_("Targets (none = all)"),
                required=False,
                choices=list(TARGET_LABELS.items()),
                widget=forms.CheckboxSelectMultiple,
            )
            self.fields[f"esc_{i}_queue"] = forms.ChoiceField(
                label=_("Move to queue"), required=False, choices=queue_choices
            )
            self.fields[f"esc_{i}_priority"] = forms.ChoiceField(
                label=_("Raise to"), required=False, choices=[("", "—"), *Ticket.Priority.choices]
            )

    @property
    def target_rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(Ticket.Priority(p).label, [self[f"target_{p}_{t}"] for t in TARGET_FIELDS]) for p in PRIORITIES]

    @property
    def escalation_rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"esc_{i}_{n}"] for n in ("action", "on", "targets", "queue", "priority")]
            for i in range(ESCALATION_ROWS)
        ]

    @staticmethod
    def initial_for(policy: SLAPolicy) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": policy.name,
            "pause_statuses": list(policy.pause_statuses or []),
            "warning_percent": round((policy.warning_fraction or 0) * 100),
        }
        for prio, target in (policy.targets or {}).items():
            if not isinstance(target, dict):
                continue
            business = bool(target.get("business_hours", True))
            for name in TARGET_FIELDS:
                if isinstance(target.get(name), int):
                    data[f"target_{prio}_{name}"] = duration_format(target[name], business)
        for i, esc in enumerate((policy.escalations or [])[:ESCALATION_ROWS]):
            for n in ("action", "on", "targets", "queue", "priority"):
                if n in esc:
                    data[f"esc_{i}_{n}"] = esc[n]
        return data

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        targets: dict[str, dict[str, Any]] = {}
        for prio in PRIORITIES:
            kinds: dict[bool, list[str]] = {}
            for name in TARGET_FIELDS:
                field = f"target_{prio}_{name}"
                text = (data.get(field) or "").strip()
                if not text:
                    continue
                try:
                    parsed = duration_parse(text)
                except DurationError as exc:
                    self.add_error(field, str(exc))
                    continue
                targets.setdefault(prio, {})[name] = parsed.seconds
                kinds.setdefault(parsed.business, []).append(field)
            if len(kinds) == 2:
                for field in kinds[False]:
                    self.add_error(
                        field,
                        _(
                            "the targets of one priority count either business time or clock time: "
                            "write 'business' on all of them or on none"
                        ),
                    )
            elif prio in targets:
                targets[prio]["business_hours"] = next(iter(kinds))
        escalations = []
        for i in range(ESCALATION_ROWS):
            action = data.get(f"esc_{i}_action")
            if not action:
                continue
            esc: dict[str, Any] = {"on": data.get(f"esc_{i}_on") or "breach", "action": action}
            if data.get(f"esc_{i}_targets"):
                esc["targets"] = list(data[f"esc_{i}_targets"])
            if data.get(f"esc_{i}_queue"):
                esc["queue"] = data[f"esc_{i}_queue"]
            if data.get(f"esc_{i}_priority"):
                esc["priority"] = data[f"esc_{i}_priority"]
            escalations.append(esc)
        pct = data.get("warning_percent")
        self.item_value = {
            "name": data.get("name"),
            "pause_statuses": list(data.get("pause_statuses") or []),
            "targets": targets,
            "warning_fraction": pct / 100 if isinstance(pct, int) else 0.75,
            "escalations": escalations,
        }
        add_item_errors(self, "sla_policies", self.item_value, _policy_field)
        return data


def _policy_field(path: str) -> str | None:
    parts = re.split(r"[.\[\]]+", path)
    if parts[0] == "targets" and len(parts) >= 3:
        return f"target_{parts[1]}_{parts[2]}"
    if parts[0] == "escalations" and len(parts) >= 3:
        return f"esc_{parts[1]}_{parts[2]}"
    if parts[0] == "warning_fraction":
        return "warning_percent"
    return parts[0]


class QueueForm(forms.Form):
    slug = forms.SlugField(
        label=gettext_lazy("Slug"),
        max_length=100,
        help_text=gettext_lazy("Identifier in URLs and the config file; cannot change later."),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=QueueKind.choices)
    calendar = forms.ModelChoiceField(
        Calendar.objects.order_by("name"),
        label=gettext_lazy("Calendar"),
        required=False,
        empty_label=gettext_lazy("24/7 (none)"),
    )
    sla_policy = forms.ModelChoiceField(
        SLAPolicy.objects.order_by("name"),
        required=False,
        label=gettext_lazy("SLA policy"),
        empty_label=gettext_lazy("No SLA"),
    )
    inbound_email = forms.EmailField(
        required=False,
        label=gettext_lazy("Inbound address"),
        help_text=gettext_lazy("Mail to this address opens tickets in this queue."),
    )
    auto_assign = forms.ChoiceField(label=gettext_lazy("Auto-assignment"), choices=Queue.AutoAssign.choices)
    auto_close_days = forms.IntegerField(
        label=gettext_lazy("Auto close days"),
        required=False,
        min_value=0,
        help_text=gettext_lazy("Close solved tickets after this many days; empty = the global setting, 0 = never."),
    )
    pending_reminder_days = forms.IntegerField(
        label=gettext_lazy("Pending reminder days"),
        required=False,
        min_value=0,
        help_text=gettext_lazy("Remind the customer of a pending ticket after this many days; empty = off."),
    )
    is_active = forms.BooleanField(required=False, initial=True, label=gettext_lazy("Active (offered for new tickets)"))

    def __init__(self, *args: Any, instance: Queue | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance = instance
        if instance is not None:
            self.fields["slug"].disabled = True
        self.staff = list(User.objects.filter(role__in=User.STAFF_ROLES, is_active=True).order_by("email"))
        for user in self.staff:
            self.fields[f"member_{user.pk}"] = forms.BooleanField(required=False, label=user.display_name)
            self.fields[f"capacity_{user.pk}"] = forms.IntegerField(
                required=False, min_value=0, label=_("Capacity of %(name)s") % {"name": user.display_name}
            )

    @property
    def member_rows(self) -> list[tuple[User, forms.BoundField, forms.BoundField]]:
        return [(u, self[f"member_{u.pk}"], self[f"capacity_{u.pk}"]) for u in self.staff]

    @staticmethod
    def initial_for(queue: Queue | None) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if queue is not None:
            data = {
                "slug": queue.slug,
                "name": queue.name,
                "kind": queue.kind,
                "calendar": queue.calendar_id,
                "sla_policy": queue.sla_policy_id,
                "inbound_email": queue.inbound_email,
                "auto_assign": queue.auto_assign,
                "auto_close_days": queue.auto_close_days,
                "pending_reminder_days": queue.pending_reminder_days,
                "is_active": queue.is_active,
            }
            for uid in queue.members.values_list("pk", flat=True):
                data[f"member_{uid}"] = True
        for uid, cap in User.objects.filter(role__in=User.STAFF_ROLES).values_list("pk", "capacity"):
            data[f"capacity_{uid}"] = cap
        return data

    def item(self) -> dict[str, Any]:
        d = self.cleaned_data
        item: dict[str, Any] = {
            "slug": self.instance.slug if self.instance else d.get("slug"),
            "name": d.get("name"),
            "kind": d.get("kind"),
            "calendar": d["calendar"].name if d.get("calendar") else None,
            "sla_policy": d["sla_policy"].name if d.get("sla_policy") else None,
            "auto_assign": d.get("auto_assign"),
            "inbound_email": d.get("inbound_email") or "",
            "auto_close_days": d.get("auto_close_days"),
            "pending_reminder_days": d.get("pending_reminder_days"),
        }
        return item

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        slug = data.get("slug")
        if self.instance is None and slug and Queue.objects.filter(slug__iexact=slug).exists():
            self.add_error("slug", _("a queue '%(slug)s' already exists") % {"slug": slug})
        add_item_errors(self, "queues", self.item(), lambda p: re.split(r"[.\[]", p, maxsplit=1)[0])
        return data


class RequestTypeForm(forms.Form):
    slug = forms.SlugField(
        label=gettext_lazy("Slug"),
        max_length=100,
        help_text=gettext_lazy("Identifier in the config file; cannot change later."),
    )
    name = forms.CharField(
        label=gettext_lazy("Name"), max_length=200, help_text=gettext_lazy("What customers pick on the portal.")
    )
    queue = forms.ModelChoiceField(Queue.objects.order_by("name"), label=gettext_lazy("Queue"), to_field_name="slug")
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("Shown to customers next to the name, e.g. what this covers."),
    )
    position = forms.IntegerField(
        label=gettext_lazy("Position"),
        min_value=0,
        initial=0,
        help_text=gettext_lazy("Order on the portal (lowest first)."),
    )
    is_default = forms.BooleanField(
        required=False,
        label=gettext_lazy("Default"),
        help_text=gettext_lazy("Preselected on the portal (replaces the current default)."),
    )
    is_active = forms.BooleanField(required=False, initial=True, label=gettext_lazy("Offered on the portal"))

    def __init__(self, *args: Any, instance: RequestType | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance = instance
        if instance is not None:
            self.fields["slug"].disabled = True

    @staticmethod
    def initial_for(rt: RequestType) -> dict[str, Any]:
        return {
            "slug": rt.slug,
            "name": rt.name,
            "queue": rt.queue.slug,
            "description": rt.description,
            "position": rt.position,
            "is_default": rt.is_default,
            "is_active": rt.is_active,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        slug = self.instance.slug if self.instance else data.get("slug")
        if self.instance is None and slug and RequestType.objects.filter(slug__iexact=slug).exists():
            self.add_error("slug", _("a request type '%(slug)s' already exists") % {"slug": slug})
        item = {"slug": slug, "name": data.get("name"), "queue": data["queue"].slug if data.get("queue") else None}
        add_item_errors(self, "request_types", item, lambda p: re.split(r"[.\[]", p, maxsplit=1)[0])
        if data.get("is_default") and not data.get("is_active"):
            self.add_error("is_default", _("a request type that is not offered cannot be the default"))
        return data


class NpsSurveyForm(forms.Form):
    """The NPS relationship survey (surveys/nps.py, docs/surveys.md); the
    document it builds is validated again by tickets.config on save."""

    enabled = forms.BooleanField(required=False, label=gettext_lazy("Send the NPS relationship survey"))
    interval_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        label=gettext_lazy("At most every (days)"),
        help_text=gettext_lazy("A customer (or organisation) is asked at most once in this many days."),
    )
    per = forms.ChoiceField(
        choices=[
            ("customer", gettext_lazy("Each customer")),
            ("organisation", gettext_lazy("One customer per organisation")),
        ],
        label=gettext_lazy("Ask"),
        help_text=gettext_lazy(
            "Per organisation: its member with the latest solved request; others are asked themselves."
        ),
    )
    audience = forms.ChoiceField(
        choices=[
            ("solved_within", gettext_lazy("Customers with a request solved recently")),
            ("all", gettext_lazy("Every customer")),
        ],
        label=gettext_lazy("Who"),
    )
    audience_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        label=gettext_lazy("Solved within the last (days)"),
        help_text=gettext_lazy("Used when Who is 'solved recently'."),
    )

    def document(self) -> dict[str, Any]:
        return {k: self.cleaned_data[k] for k in ("enabled", "interval_days", "per", "audience", "audience_days")}
