"""Ticket forms: parse input only. Rules live in tickets.services; the
attachment limits are checked by services.attachments_validate so every
path (portal, agent, email, API) enforces the same ones."""

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet

from accounts.models import User
from tickets import services
from tickets.models import Message, QueueKind, RequestType, Ticket
from tickets.selectors import AGENT_VIEWS, STATUS_FILTER_UNSOLVED


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Zero or more uploads, returned as a list of IncomingFile."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[services.IncomingFile]:
        uploads = data if isinstance(data, list | tuple) else ([data] if data else [])
        cleaned: list[UploadedFile] = [super(MultipleFileField, self).clean(u, initial) for u in uploads]
        files = [services.IncomingFile.from_upload(u) for u in cleaned if u]
        try:
            services.attachments_validate(files)
        except services.AttachmentRejected as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None
        return files


class AgentTicketFilterForm(forms.Form):
    """The agent list's GET filters; bad values are dropped, not errors."""

    view = forms.ChoiceField(
        choices=[(v, {"all": "All tickets", "mine": "Mine", "unassigned": "Unassigned"}[v]) for v in AGENT_VIEWS],
        required=False,
    )
    queue = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(
        choices=[("", "Any status"), (STATUS_FILTER_UNSOLVED, "Unsolved"), *Ticket.Status.choices], required=False
    )
    kind = forms.ChoiceField(choices=[("", "Any kind"), *QueueKind.choices], required=False)

    def __init__(self, *args: Any, queues: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = [("", "All my queues"), *[(q.pk, q.name) for q in queues]]

    def filters(self) -> dict[str, Any]:
        if self.is_valid():
            return self.cleaned_data
        return {name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors}


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, label="Message")
    attachments = MultipleFileField(label="Attach files")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("body") or "").strip() and not data.get("attachments") and "attachments" not in self.errors:
            self.add_error("body", "Write a message or attach a file.")
        return data


class AgentReplyForm(ReplyForm):
    visibility = forms.ChoiceField(
        choices=Message.Visibility.choices, initial=Message.Visibility.PUBLIC, widget=forms.RadioSelect
    )


class TransitionForm(forms.Form):
    target = forms.ChoiceField(choices=Ticket.Status.choices, label="Status")
    note = forms.CharField(max_length=500, required=False, label="Why (optional)")


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Unassigned")

    def __init__(self, *args: Any, members: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = members


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Ticket.Priority.choices)


class PortalTicketForm(forms.Form):
    request_type = forms.ModelChoiceField(
        queryset=RequestType.objects.none(), label="What do you need help with?", empty_label=None
    )
    subject = forms.CharField(max_length=500)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}))
    attachments = MultipleFileField(label="Attach files")

    def __init__(self, *args: Any, request_types: QuerySet[RequestType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["request_type"].queryset = request_types
