"""Dashboard filter form: date range (presets or custom, local days), filters, clock."""

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from metrics.dashboard import DRILL_METRICS, Drill, Period, Scope, local_today, period_for_preset
from tickets.models import Ticket

PRESETS = [
    ("last7", gettext_lazy("Last 7 days")),
    ("last30", gettext_lazy("Last 30 days")),
    ("last90", gettext_lazy("Last 90 days")),
    ("this_month", gettext_lazy("This month")),
    ("last_month", gettext_lazy("Last month")),
    ("custom", gettext_lazy("Custom")),
]
MAX_DAYS = 731


class DashboardForm(forms.Form):
    range = forms.ChoiceField(choices=PRESETS, required=False, initial="last30")
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    queue = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    kind = forms.ChoiceField(
        choices=[
            ("", gettext_lazy("Support and service")),
            ("support", gettext_lazy("Support")),
            ("service", gettext_lazy("Service")),
        ],
        required=False,
    )
    agent = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    priority = forms.ChoiceField(choices=[("", gettext_lazy("Any priority")), *Ticket.Priority.choices], required=False)
    channel = forms.ChoiceField(choices=[("", gettext_lazy("Any channel")), *Ticket.Channel.choices], required=False)
    clock = forms.ChoiceField(
        choices=[("cal", gettext_lazy("Calendar hours")), ("bus", gettext_lazy("Business hours"))],
        required=False,
        initial="cal",
    )
    bucket = forms.ChoiceField(
        choices=[("", gettext_lazy("Auto")), ("day", gettext_lazy("Per day")), ("week", gettext_lazy("Per week"))],
        required=False,
    )

    def __init__(self, *args: Any, queues: list[tuple[int, str]], agents: list[tuple[int, str]] | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = [("", gettext_lazy("All queues")), *queues]
        if agents is None:  # an agent's own page: no agent filter
            del self.fields["agent"]
        else:
            self.fields["agent"].choices = [("", gettext_lazy("All agents")), *agents]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (data.get("range") or "last30") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError(_("A custom range needs a start and an end date."))
            if start > end:
                raise forms.ValidationError(_("The start date must be on or before the end date."))
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError(_("A range may span at most %(days)d days.") % {"days": MAX_DAYS})
        return data

    def scope(self, *, zone: ZoneInfo, today: date | None = None) -> Scope:
        """The scope asked for; call after is_valid() (invalid input falls back to the defaults)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        today = today or local_today(zone)
        preset = data.get("range") or "last30"
        if preset == "custom":
            period = Period(data["start"], data["end"], zone)
        else:
            period = period_for_preset(preset, today=today, zone=zone)
        bucket = data.get("bucket") or ("week" if period.days > 62 else "day")
        return Scope(
            period=period,
            clock=data.get("clock") or "cal",
            bucket=bucket,
            queue_id=data.get("queue"),
            kind=data.get("kind") or None,
            agent_id=data.get("agent"),
            priority=data.get("priority") or None,
            channel=data.get("channel") or None,
        )


class DrillForm(forms.Form):
    metric = forms.ChoiceField(choices=[(m, m) for m in DRILL_METRICS])
    side = forms.ChoiceField(choices=[("all", "all"), ("support", "support"), ("service", "service")], required=False)
    period = forms.ChoiceField(choices=[("cur", "current"), ("prev", "previous")], required=False)
    bucket_day = forms.DateField(required=False)
    agent_row = forms.IntegerField(required=False, min_value=0)
    hist = forms.IntegerField(required=False, min_value=0, max_value=20)

    def drill(self) -> Drill:
        d = self.cleaned_data
        return Drill(
            metric=d["metric"],
            side=d.get("side") or "all",
            period=d.get("period") or "cur",
            bucket=d.get("bucket_day"),
            agent=d.get("agent_row"),
            hist=d.get("hist"),
        )


def previous_label(period: Period) -> str:
    prev = period.previous
    return f"{prev.first:%Y-%m-%d} – {prev.last:%Y-%m-%d}"


def period_label(period: Period) -> str:
    if period.first == period.last:
        return f"{period.first:%Y-%m-%d}"
    return f"{period.first:%Y-%m-%d} – {period.last:%Y-%m-%d}"
