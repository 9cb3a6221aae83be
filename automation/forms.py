"""The one validation of macros, routing rules and shared saved views.

Each form is both the Settings page's form and the API's validator
(automation/api/views.py binds the same form to the JSON body), so a value the
page refuses the API refuses with the same field and message.
"""

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from tickets.macros import PLACEHOLDERS, MacroError, macro_validate_actions
from tickets.models import Macro, Message, Queue, RequestType, RoutingRule, SavedView, Ticket

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,49}$")
ROUTABLE_CHANNELS = [
    (c, c.label)
    for c in (
        Ticket.Channel.PORTAL,
        Ticket.Channel.EMAIL,
        Ticket.Channel.API,
        Ticket.Channel.AGENT,
        Ticket.Channel.PHONE,
        Ticket.Channel.CHAT,
    )
]


def split_list(value: Any) -> list[str]:
    """A comma-separated string (page) or a list of strings (API)."""
    if value in (None, ""):
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return [str(v).strip() for v in items if str(v).strip()]


def tags_clean(value: Any) -> list[str]:
    tags = sorted({t.lower() for t in split_list(value)})
    bad = [t for t in tags if not TAG_RE.match(t)]
    if bad:
        raise ValidationError(
            gettext("Not a valid tag: %s (letters, digits, - _ . :, at most 50 characters).") % ", ".join(bad)
        )
    return tags


def domains_clean(value: Any) -> list[str]:
    domains = sorted({d.lower().lstrip("@") for d in split_list(value)})
    bad = [d for d in domains if not DOMAIN_RE.match(d)]
    if bad:
        raise ValidationError(gettext("Not a domain name: %s (expected e.g. example.com).") % ", ".join(bad))
    return domains


class ListField(forms.CharField):
    """Comma-separated on the page, a JSON list in the API."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return super().to_python(value)


def placeholders_help() -> str:
    return gettext("Placeholders: %s") % ", ".join("{{ " + p + " }}" for p in PLACEHOLDERS)


class MacroForm(forms.Form):
    """A macro: reply text with placeholders plus actions.

    `actor` decides what may be saved: managers and admins keep shared or
    personal macros, agents only their own personal ones."""

    name = forms.CharField(max_length=100, label=_("Name"))
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 8}), label=_("Reply text"))
    visibility = forms.ChoiceField(
        choices=Message.Visibility.choices,
        initial=Message.Visibility.PUBLIC,
        required=False,
        label=_("Visibility"),
        help_text=_("default public"),
    )
    personal = forms.BooleanField(required=False, label=_("Personal (only I see and use it)"))
    queue = forms.ModelChoiceField(
        queryset=Queue.objects.none(), required=False, empty_label=_("Every queue"), label=_("Offered in queue")
    )
    is_active = forms.BooleanField(required=False, initial=True, label=_("Enabled"))
    set_status = forms.ChoiceField(choices=[("", "—"), *Ticket.Status.choices], required=False, label=_("Set status"))
    set_priority = forms.ChoiceField(
        choices=[("", "—"), *Ticket.Priority.choices], required=False, label=_("Set priority")
    )
    add_tags = ListField(required=False, max_length=500, label=_("Add tags"), help_text=_("comma-separated"))
    remove_tags = ListField(required=False, max_length=500, label=_("Remove tags"), help_text=_("comma-separated"))
    set_assignee = forms.ChoiceField(
        choices=[("", "—"), ("me", _("The agent applying it")), ("none", _("Nobody (unassign)"))],
        required=False,
        label=_("Set assignee"),
    )
    set_queue = forms.ModelChoiceField(
        queryset=Queue.objects.none(), required=False, empty_label="—", label=_("Move to queue")
    )

    def __init__(self, *args: Any, actor: User, instance: Macro | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = macro_initial(instance)
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.instance = instance
        queues = Queue.objects.filter(is_active=True).order_by("name")
        self.fields["queue"].queryset = queues
        self.fields["set_queue"].queryset = queues
        self.fields["body"].help_text = placeholders_help()
        if not actor.is_manager_role:
            self.fields["personal"].initial = True
            self.fields["personal"].help_text = gettext("Agents keep personal macros; a manager shares them.")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(gettext("Give the macro a name."))
        others = Macro.objects.filter(name__iexact=name)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(gettext("A macro with this name already exists."))
        return name

    def clean_body(self) -> str:
        from django.template import Engine

        body = self.cleaned_data.get("body") or ""
        try:
            Engine(libraries={}, builtins=["django.template.defaultfilters", "tickets.macros"]).from_string(body)
        except Exception as exc:  # TemplateSyntaxError and friends: say what is wrong
            raise ValidationError(
                gettext("The text has a template error: %(error)s. %(help)s.")
                % {"error": exc, "help": placeholders_help()}
            ) from None
        return body

    def clean_visibility(self) -> str:
        return self.cleaned_data.get("visibility") or Message.Visibility.PUBLIC

    def clean_personal(self) -> bool:
        personal = bool(self.cleaned_data.get("personal"))
        if not personal and not self.actor.is_manager_role:
            raise ValidationError(gettext("Only a manager or an admin can share a macro; keep it personal."))
        return personal

    def clean_add_tags(self) -> list[str]:
        return tags_clean(self.cleaned_data.get("add_tags"))

    def clean_remove_tags(self) -> list[str]:
        return tags_clean(self.cleaned_data.get("remove_tags"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            data["actions"] = macro_validate_actions(self.actions_from(data))
        except MacroError as exc:
            raise ValidationError(exc.message) from None
        if not (data.get("body") or "").strip() and not data["actions"]:
            raise ValidationError(gettext("A macro needs reply text or at least one action."))
        return data

    @staticmethod
    def actions_from(data: dict[str, Any]) -> dict[str, Any]:
        actions: dict[str, Any] = {}
        if data.get("set_status"):
            actions["status"] = data["set_status"]
        if data.get("set_priority"):
            actions["priority"] = data["set_priority"]
        if data.get("add_tags"):
            actions["add_tags"] = data["add_tags"]
        if data.get("remove_tags"):
            actions["remove_tags"] = data["remove_tags"]
        if data.get("set_assignee"):
            actions["assignee"] = data["set_assignee"]
        if data.get("set_queue"):
            actions["queue"] = data["set_queue"].pk
        return actions


def macro_initial(macro: Macro) -> dict[str, Any]:
    a = macro.actions or {}
    return {
        "name": macro.name,
        "body": macro.body,
        "visibility": macro.visibility,
        "personal": macro.owner_id is not None,
        "queue": macro.queue_id,
        "is_active": macro.is_active,
        "set_status": a.get("status", ""),
        "set_priority": a.get("priority", ""),
        "add_tags": ", ".join(a.get("add_tags") or []),
        "remove_tags": ", ".join(a.get("remove_tags") or []),
        "set_assignee": a.get("assignee", ""),
        "set_queue": a.get("queue"),
    }


class MacroPreviewForm(forms.Form):
    body = forms.CharField(required=False, widget=forms.Textarea, label=_("Body"))
    ticket = forms.IntegerField(min_value=1, label=_("Preview with ticket #"))


class RoutingRuleForm(forms.Form):
    """Conditions (all must hold; within a list any value) and actions."""

    name = forms.CharField(max_length=100, label=_("Name"))
    is_active = forms.BooleanField(required=False, initial=True, label=_("Enabled"))
    channels = forms.MultipleChoiceField(
        choices=ROUTABLE_CHANNELS, required=False, widget=forms.CheckboxSelectMultiple, label=_("Channel is one of")
    )
    requester_domains = ListField(
        required=False,
        max_length=1000,
        label=_("Requester's email domain is one of"),
        help_text=_("e.g. acme.com, acme.org"),
    )
    keywords = ListField(
        required=False, max_length=1000, label=_("Subject or text contains one of"), help_text=_("comma-separated")
    )
    request_type = forms.ModelChoiceField(
        queryset=RequestType.objects.none(), required=False, empty_label=_("Any"), label=_("Request type")
    )
    set_queue = forms.ModelChoiceField(
        queryset=Queue.objects.none(), required=False, empty_label="—", label=_("Move to queue")
    )
    set_priority = forms.ChoiceField(
        choices=[("", "—"), *Ticket.Priority.choices], required=False, label=_("Set priority")
    )
    add_tags = ListField(required=False, max_length=500, label=_("Add tags"), help_text=_("comma-separated"))
    stop_processing = forms.BooleanField(required=False, label=_("Stop: apply no later rule when this one matches"))

    def __init__(self, *args: Any, instance: RoutingRule | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "is_active": instance.is_active,
                "channels": instance.channels,
                "requester_domains": ", ".join(instance.requester_domains),
                "keywords": ", ".join(instance.keywords),
                "request_type": instance.request_type_id,
                "set_queue": instance.set_queue_id,
                "set_priority": instance.set_priority,
                "add_tags": ", ".join(instance.add_tags),
                "stop_processing": instance.stop_processing,
            }
        super().__init__(*args, **kwargs)
        self.instance = instance
        self.fields["request_type"].queryset = RequestType.objects.filter(is_active=True)
        self.fields["set_queue"].queryset = Queue.objects.filter(is_active=True).order_by("name")

    def clean_requester_domains(self) -> list[str]:
        return domains_clean(self.cleaned_data.get("requester_domains"))

    def clean_keywords(self) -> list[str]:
        words = split_list(self.cleaned_data.get("keywords"))
        if any(len(w) > 100 for w in words):
            raise ValidationError(gettext("A keyword is at most 100 characters."))
        return words

    def clean_add_tags(self) -> list[str]:
        return tags_clean(self.cleaned_data.get("add_tags"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        if not (data.get("set_queue") or data.get("set_priority") or data.get("add_tags")):
            raise ValidationError(gettext("Choose at least one action: a queue, a priority or tags."))
        return data


class RuleTestForm(forms.Form):
    ticket = forms.IntegerField(min_value=1, label=_("Test against ticket #"))


class SharedViewForm(forms.Form):
    """Name and sort of a shared view; its filters come from the workspace's
    own filter form (tickets.forms.TicketFilterForm)."""

    name = forms.CharField(max_length=100, label=_("View name"))
    is_active = forms.BooleanField(required=False, initial=True, label=_("Enabled"))

    def __init__(self, *args: Any, owner: User, instance: SavedView | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.instance = instance

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        owner = self.instance.owner if self.instance else self.owner
        clash = SavedView.objects.filter(Q(owner=owner) | Q(is_shared=True), name__iexact=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(gettext("A shared view (or one of yours) already has this name."))
        return name
