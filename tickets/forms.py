"""Ticket forms: parse input only. Rules live in tickets.services; the
attachment limits are checked by services.attachments_validate so every
path (portal, agent, email, API) enforces the same ones."""

from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from tickets import services
from tickets.models import Message, Queue, QueueKind, RequestType, Ticket
from tickets.selectors import STATUS_FILTER_UNSOLVED


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


class ReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, label=_("Message"))
    attachments = MultipleFileField(label=_("Attach files"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("body") or "").strip() and not data.get("attachments") and "attachments" not in self.errors:
            self.add_error("body", _("Write a message or attach a file."))
        return data


class AgentReplyForm(ReplyForm):
    visibility = forms.ChoiceField(
        choices=Message.Visibility.choices,
        initial=Message.Visibility.PUBLIC,
        widget=forms.RadioSelect,
        label=_("Visibility"),
    )
    # Set when the text came from a macro: its actions are applied on send.
    macro = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # "Send as Open / Pending / Solved / On hold" (the button pressed); empty
    # keeps the status.
    send_as = forms.ChoiceField(
        choices=[
            ("", _("Keep status")),
            *[(s, Ticket.Status(s).label) for s in ("open", "pending", "solved", "on_hold")],
        ],
        required=False,
        widget=forms.HiddenInput,
    )


class TransitionForm(forms.Form):
    target = forms.ChoiceField(choices=Ticket.Status.choices, label=_("Status"))
    note = forms.CharField(max_length=500, required=False, label=_("Why (optional)"))


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label=_("Unassigned"), label=_("Assignee")
    )

    def __init__(self, *args: Any, members: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = members


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Ticket.Priority.choices, label=_("Priority"))


class PortalTicketForm(forms.Form):
    request_type = forms.ModelChoiceField(
        queryset=RequestType.objects.none(), label=_("What do you need help with?"), empty_label=None
    )
    subject = forms.CharField(label=_("Subject"), max_length=500)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 8}))
    attachments = MultipleFileField(label=_("Attach files"))

    def __init__(self, *args: Any, request_types: QuerySet[RequestType], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["request_type"].queryset = request_types
        self.fields["request_type"].label_from_instance = lambda rt: (
            f"{rt.name} — {rt.description}" if rt.description else rt.name
        )
        default = next((rt for rt in request_types if rt.is_default), None)
        if default is not None:
            self.fields["request_type"].initial = default.pk


# --- Agent workspace (issue 4) -------------------------------------------------


class WorkspaceFilterForm(forms.Form):
    """The workspace list's GET parameters; bad values are dropped, not errors."""

    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    view = forms.CharField(required=False, max_length=32)
    queue = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label=_("Queue"))
    kind = forms.ChoiceField(choices=[("", _("Any kind")), *QueueKind.choices], required=False, label=_("Kind"))
    status = forms.ChoiceField(
        choices=[("", _("Any status")), (STATUS_FILTER_UNSOLVED, _("Unsolved")), *Ticket.Status.choices],
        required=False,
        label=_("Status"),
    )
    priority = forms.ChoiceField(
        choices=[("", _("Any priority")), *Ticket.Priority.choices], required=False, label=_("Priority")
    )
    assignee = forms.ChoiceField(required=False, label=_("Assignee"))
    tags = forms.CharField(
        required=False, max_length=200, label=_("Tags"), help_text=_("comma-separated; all must match")
    )
    requester = forms.CharField(required=False, max_length=254, label=_("Requester email"))
    created_from = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Created from")
    )
    created_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Created to"))
    updated_from = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Updated from")
    )
    updated_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Updated to"))
    sort = forms.ChoiceField(required=False, label=_("Sort"))

    FILTER_FIELDS = (
        "queue",
        "kind",
        "status",
        "priority",
        "assignee",
        "tags",
        "requester",
        "created_from",
        "created_to",
        "updated_from",
        "updated_to",
    )

    def __init__(self, *args: Any, queues: QuerySet[Any], agents: QuerySet[User], **kwargs: Any) -> None:
        from tickets.workspace import SORTS

        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = [
            ("", gettext("All my queues")),
            *[(q.pk, f"{q.name} ({q.get_kind_display()})") for q in queues],
        ]
        self.fields["assignee"].choices = [
            ("", gettext("Anyone")),
            ("me", gettext("Me")),
            ("none", gettext("Unassigned")),
            *[(str(u.pk), u.display_name) for u in agents],
        ]
        self.fields["sort"].choices = [(s.key, s.label) for s in SORTS.values()]

    def clean_tags(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        return sorted({t.strip().lower() for t in raw.split(",") if t.strip()})

    def values(self) -> dict[str, Any]:
        """Cleaned values, dropping any field with an error."""
        self.is_valid()
        return {name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors}


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("View name"))
    is_shared = forms.BooleanField(required=False, label=_("Share with every agent"))


class BulkForm(forms.Form):
    """One bulk action over the selected tickets, or over every ticket
    matching the list (`scope=matching`). "Update" sets any combination of
    status, priority, assignee, queue and tags at once; merge asks to confirm.

    Ids are prefixed (`bulk_status`, ...) so they never collide with the
    filter form's fields on the same page; the posted names stay short."""

    ACTIONS = [
        ("update", _("Update properties")),
        ("assign", _("Assign")),
        ("status", _("Set status")),
        ("priority", _("Set priority")),
        ("tag", _("Add tags")),
        ("merge", _("Merge into…")),
    ]
    SCOPES = [("selected", _("Selected tickets")), ("matching", _("All tickets matching this list"))]
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False, label=_("Tickets"))
    action = forms.ChoiceField(choices=ACTIONS, label=_("Action"))
    scope = forms.ChoiceField(choices=SCOPES, required=False, initial="selected", label=_("Apply to"))
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=[("", "—"), *Ticket.Status.choices], required=False, label=_("Status"))
    priority = forms.ChoiceField(choices=[("", "—"), *Ticket.Priority.choices], required=False, label=_("Priority"))
    assignee = forms.ChoiceField(required=False, label=_("Assignee"))
    queue = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label=_("Queue"))
    tags = forms.CharField(required=False, max_length=200, label=_("Add tags"))
    merge_target = forms.IntegerField(required=False, min_value=1, label=_("Merge into ticket #"))
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args: Any, agents: QuerySet[User], queues: Any = (), **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)
        self.agents = {str(u.pk): u for u in agents}
        self.queues = {q.pk: q for q in queues}
        self.fields["assignee"].choices = [
            ("", "—"),
            ("me", gettext("Me")),
            ("none", gettext("Nobody")),
            *[(k, u.display_name) for k, u in self.agents.items()],
        ]
        self.fields["queue"].choices = [("", "—"), *[(q.pk, q.name) for q in self.queues.values()]]
        raw_ids = self.data.getlist("ids") if hasattr(self.data, "getlist") else self.data.get("ids", [])
        self.fields["ids"].choices = [(i, i) for i in raw_ids if str(i).isdigit()]

    # The field each action reads, and what to say when it is empty.
    ACTION_FIELDS: ClassVar[dict[str, tuple[str, Any]]] = {
        "assign": ("assignee", _("Choose who to assign.")),
        "status": ("status", _("Choose a status.")),
        "priority": ("priority", _("Choose a priority.")),
        "tag": ("tags", _("Give at least one tag.")),
        "merge": ("merge_target", _("Give the ticket number to merge into.")),
    }
    # What the other action's field holds, for the hint in _other_action_hint.
    CHOSEN: ClassVar[dict[str, Any]] = {
        "assignee": _("the assignee you chose"),
        "status": _("the status you chose"),
        "priority": _("the priority you chose"),
        "tags": _("the tags you gave"),
        "merge_target": _("the ticket number you gave"),
    }
    UPDATE_FIELDS = ("status", "priority", "assignee", "queue", "tags")

    def selected_ids(self) -> list[int]:
        """The ticket ids as posted (to keep the selection on an error)."""
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else self.data.get("ids", [])
        return [int(i) for i in raw if str(i).isdigit()]

    @property
    def matching(self) -> bool:
        return self.is_bound and self.data.get("scope") == "matching"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        data["tag_list"] = [t.strip() for t in (data.get("tags") or "").split(",") if t.strip()]
        if data.get("scope") != "matching" and not data.get("ids"):
            self.add_error("ids", gettext("Select tickets."))
        if data.get("scope") == "matching" and action == "merge":
            self.add_error("scope", gettext("Merge works on selected tickets only."))
        if action == "update":
            if not any(data.get("tag_list") if f == "tags" else data.get(f) for f in self.UPDATE_FIELDS):
                self.add_error("action", gettext("Choose at least one property to change."))
        elif action in self.ACTION_FIELDS:
            field, message = self.ACTION_FIELDS[action]
            value = data.get("tag_list") if action == "tag" else data.get(field)
            if not value:
                self.add_error(field, str(message) + self._other_action_hint(action))
        return data

    def _other_action_hint(self, action: str) -> str:
        """When the field of another action was filled in instead (a
        priority chosen while the action is still "Assign"), say so."""
        labels = dict(self.ACTIONS)
        for other, (field, _message) in self.ACTION_FIELDS.items():
            if other != action and self.data.get(field) not in (None, ""):
                return " " + gettext(
                    "The action is “%(action)s”: to apply %(chosen)s, pick “%(other)s” as the action."
                ) % {
                    "action": labels[action],
                    "chosen": self.CHOSEN[field],
                    "other": labels[other],
                }
        return ""

    def _assignee_for(self, user: User) -> User | None:
        who = self.cleaned_data["assignee"]
        return user if who == "me" else None if who == "none" else self.agents[who]

    def value_for(self, user: User) -> Any:
        action = self.cleaned_data["action"]
        if action == "assign":
            return self._assignee_for(user)
        if action == "update":
            return self.changes_for(user)
        return {
            "status": self.cleaned_data.get("status"),
            "priority": self.cleaned_data.get("priority"),
            "tag": self.cleaned_data.get("tag_list"),
            "merge": self.cleaned_data.get("merge_target"),
        }[action]

    def changes_for(self, user: User) -> dict[str, Any]:
        """The properties to set in an "update" (only those chosen)."""
        data = self.cleaned_data
        changes: dict[str, Any] = {}
        if data.get("queue"):
            changes["queue"] = self.queues[data["queue"]]
        if data.get("assignee"):
            changes["assignee"] = self._assignee_for(user)
        if data.get("priority"):
            changes["priority"] = data["priority"]
        if data.get("tag_list"):
            changes["tags"] = data["tag_list"]
        if data.get("status"):
            changes["status"] = data["status"]
        return changes


class QueueMoveForm(forms.Form):
    queue = forms.ModelChoiceField(queryset=Queue.objects.none(), empty_label=None, label=_("Queue"))
    reason = forms.CharField(
        max_length=500, required=False, label=_("Reason"), help_text=_("Required when escalating support ↔ service.")
    )

    def __init__(self, *args: Any, queues: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = queues
        self.fields["queue"].label_from_instance = lambda q: f"{q.name} ({q.get_kind_display()})"


class TagsForm(forms.Form):
    add = forms.CharField(max_length=300, required=False, label=_("Add tags"), help_text=_("comma-separated"))
    remove = forms.CharField(max_length=300, required=False, label=_("Remove tags"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["add_list"] = [t.strip() for t in (data.get("add") or "").split(",") if t.strip()]
        data["remove_list"] = [t.strip() for t in (data.get("remove") or "").split(",") if t.strip()]
        if not data["add_list"] and not data["remove_list"]:
            self.add_error("add", gettext("Give a tag to add or remove."))
        return data


class TimeEntryForm(forms.Form):
    minutes = forms.IntegerField(min_value=1, max_value=24 * 60, label=_("Minutes"))
    note = forms.CharField(max_length=300, required=False, label=pgettext_lazy("time entry", "Note"))


class AgentTicketCreateForm(forms.Form):
    """A ticket an agent opens for a customer: a phone call taken, or an
    outbound (proactive) follow-up, which belongs to a service queue."""

    HOW = [("phone", _("Phone call from the customer")), ("outbound", _("Outbound follow-up (we contact them)"))]
    how = forms.ChoiceField(choices=HOW, initial="phone", widget=forms.RadioSelect, label=_("Type"))
    requester_email = forms.EmailField(label=_("Customer e-mail"), max_length=254)
    requester_name = forms.CharField(
        required=False, max_length=200, label=_("Customer name"), help_text=_("Used when a new customer is created.")
    )
    create_customer = forms.BooleanField(required=False, label=_("Create the customer if there is no account"))
    queue = forms.TypedChoiceField(coerce=int, label=_("Queue"))
    subject = forms.CharField(max_length=500, label=_("Subject"))
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label=_("Description"))
    priority = forms.ChoiceField(choices=Ticket.Priority.choices, initial=Ticket.Priority.NORMAL, label=_("Priority"))

    def __init__(self, *args: Any, queues: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "new_%s")
        super().__init__(*args, **kwargs)
        self.queues = {q.pk: q for q in queues}
        self.fields["queue"].choices = [(q.pk, f"{q.name} ({q.get_kind_display()})") for q in queues]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        queue = self.queues.get(data.get("queue") or 0)
        if queue is not None and data.get("how") == "outbound" and queue.kind != QueueKind.SERVICE:
            self.add_error("queue", gettext("An outbound follow-up is customer service: choose a service queue."))
        data["queue_obj"] = queue
        return data


# --- agent ticket page: properties panel and ticket operations (issue #14) ---------


def _split_list(value: str) -> list[str]:
    return [p.strip() for p in value.replace("\n", ",").replace(";", ",").split(",") if p.strip()]


@dataclass(frozen=True)
class PropertiesRows:
    """What an unbound properties panel shows besides the ticket's own
    columns: (id, label) choices of its assignee and queue selects, in
    order, and the CCs' addresses in address order."""

    assignees: list[tuple[int, str]]
    queues: list[tuple[int, str]]
    cc_emails: list[str]


class TicketPropertiesForm(forms.Form):
    """The consolidated properties panel: every field is sent; the service
    writes only what differs. Access rules are the policy's (errors come
    back on these field names). Prefixed `prop-` so its ids never collide
    with other forms of the page."""

    prefix = "prop"
    PROPERTIES = ("status", "priority", "assignee", "queue", "tags", "ccs")

    status = forms.ChoiceField(choices=Ticket.Status.choices, label=_("Status"))
    priority = forms.ChoiceField(choices=Ticket.Priority.choices, label=_("Priority"))
    assignee = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label=_("Unassigned"), label=_("Assignee")
    )
    queue = forms.ModelChoiceField(queryset=Queue.objects.none(), empty_label=None, label=_("Queue"))
    reason = forms.CharField(
        max_length=500, required=False, label=_("Reason for a queue move"), help_text=_("Required for an escalation.")
    )
    tags = forms.CharField(max_length=1000, required=False, label=_("Tags"), help_text=_("Comma-separated."))
    ccs = forms.CharField(
        max_length=2000,
        required=False,
        label="CCs",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("E-mail addresses of people with an account, comma-separated."),
    )

    def __init__(
        self,
        *args: Any,
        ticket: Ticket,
        members: QuerySet[User] | None = None,
        queues: QuerySet[Any] | None = None,
        rows: PropertiesRows | None = None,
        **kwargs: Any,
    ):
        """`members` and `queues`: the policy's choices (validation, and the
        unbound panel's selects). `rows` instead: an unbound panel's choices
        and CCs as read by the caller (statements written out,
        tickets.views.agent_ticket.properties_form)."""
        if (not args or args[0] is None) and kwargs.get("data") is None and "initial" not in kwargs:
            emails = (
                rows.cc_emails if rows is not None else ticket.ccs.order_by("email").values_list("email", flat=True)
            )
            kwargs["initial"] = {
                "status": ticket.status,
                "priority": ticket.priority,
                "assignee": ticket.assignee_id,
                "queue": ticket.queue_id,
                "tags": ", ".join(sorted(t.name for t in ticket.tags.all())),  # prefetch-friendly
                "ccs": ", ".join(emails),
            }
        super().__init__(*args, **kwargs)
        # The panel posts the values it was rendered with (hidden
        # `initial-prop-*` inputs) so the save writes only what this agent
        # changed, never setting back a change someone else made meanwhile
        # (`changed_fields`).
        for name in self.PROPERTIES:
            self.fields[name].show_hidden_initial = True
        if rows is not None:
            # Shown, never validated (an unbound form is never valid): the
            # choices as read by the caller, no queryset built.
            if self.is_bound:
                raise ValueError("rows are for an unbound panel; a posted one validates against the querysets")
            for name, read in (("assignee", rows.assignees), ("queue", rows.queues)):
                field = self.fields[name]
                empty = [("", field.empty_label)] if field.empty_label is not None else []
                field.choices = [*empty, *read]
            return
        # The choices are the policy's (tickets.policy); the service asks it
        # again, so a crafted value is refused either way.
        from django.db.models import Q

        if members is None or queues is None:
            raise TypeError("the panel needs the policy's members and queues, or rows")
        self.fields["assignee"].queryset = members
        self.fields["queue"].queryset = Queue.objects.filter(
            Q(pk__in=queues.values("pk")) | Q(pk=ticket.queue_id)
        ).order_by("name")
        if not self.is_bound:
            # The page renders the choices: read each list once (a ModelChoiceField
            # queries on every iteration, twice for the queue select: the
            # "required" check reads its first choice). Validation still asks the
            # querysets above. docs/workspace-list.md, "Rendering cost".
            for name in ("assignee", "queue"):
                field = self.fields[name]
                empty = [("", field.empty_label)] if field.empty_label is not None else []
                field.choices = [
                    *empty,
                    *((field.prepare_value(obj), field.label_from_instance(obj)) for obj in field.queryset),
                ]

    def changed_fields(self) -> set[str]:
        """The properties the agent changed on the panel: compared with the
        values the panel was rendered with when the post carries them, else
        (a script, an old page) every property (the service then writes
        what differs from the ticket, as before)."""
        posted = [name for name in self.PROPERTIES if self[name].html_initial_name in self.data]
        if len(posted) < len(self.PROPERTIES):
            return set(self.PROPERTIES)
        return {name for name in self.PROPERTIES if name in self.changed_data}

    def clean_tags(self) -> list[str]:
        return _split_list(self.cleaned_data.get("tags") or "")

    def clean_ccs(self) -> list[str]:
        return _split_list(self.cleaned_data.get("ccs") or "")


class LinkForm(forms.Form):
    other = forms.IntegerField(min_value=1, label=_("Link to ticket #"))


class SplitForm(forms.Form):
    message = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    subject = forms.CharField(max_length=500, required=False, label=_("Subject"))
