"""Customer success forms: the period and the outreach ticket."""

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from tickets.models import Ticket

PERIODS = [(30, _("Last 30 days")), (90, _("Last 90 days")), (180, _("Last 180 days"))]
BANDS = [("", _("Any health")), ("at_risk", _("At risk")), ("watch", _("Watch")), ("healthy", _("Healthy"))]


class PeriodForm(forms.Form):
    days = forms.TypedChoiceField(choices=PERIODS, coerce=int, required=False, initial=90, label=_("Period"))
    band = forms.ChoiceField(choices=BANDS, required=False, label=_("Health"))
    q = forms.CharField(required=False, max_length=200, label=_("Name"))
    page = forms.IntegerField(required=False, min_value=1)

    def clean_days(self) -> int:
        return self.cleaned_data.get("days") or 90


class OutreachForm(forms.Form):
    contact = forms.TypedChoiceField(coerce=int, label=_("Contact"))
    queue = forms.TypedChoiceField(coerce=int, label=_("Service queue"))
    subject = forms.CharField(max_length=500, label=_("Subject"))
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label=_("Message to the customer"))
    priority = forms.ChoiceField(choices=Ticket.Priority.choices, initial=Ticket.Priority.NORMAL, label=_("Priority"))

    def __init__(self, *args: Any, contacts: Any, queues: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "outreach_%s")
        super().__init__(*args, **kwargs)
        self.queues = {q.pk: q for q in queues}
        cast(forms.ChoiceField, self.fields["contact"]).choices = [
            (u.pk, f"{u.display_name} <{u.email}>") for u in contacts
        ]
        cast(forms.ChoiceField, self.fields["queue"]).choices = [(q.pk, q.name) for q in queues]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["queue_obj"] = self.queues.get(data.get("queue") or 0)
        return data
