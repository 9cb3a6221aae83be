"""Reads of the privacy app: what the help desk holds about one person.

The export is the data subject's copy (docs/privacy.md): their account,
organisation, the tickets they requested or are CC'd on with the public
conversation (never internal notes: staff work product), attachments of
those public messages, survey responses, KB feedback and searches, e-mail
settings, login and API-token metadata, the raw e-mails they sent and the
event-log entries where they are the actor (internal rows excluded).
Tickets of colleagues that are only shared through the organisation are
not part of it: they are the colleagues' data.
"""

import base64
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from apikeys.models import ApiToken
from knowledge_base.models import ArticleFeedback, DeflectionEvent, SearchLog
from mail.models import InboundMessage, NotificationPreference
from mail.storage import inbound_raw
from privacy.models import PrivacyAuditEvent
from tickets.models import Attachment, Message, Ticket, TicketEvent

EXPORT_FORMAT = "helpdesk.person-export/1"
SURVEY_KINDS = (TicketEvent.Kind.CSAT, TicketEvent.Kind.CES, TicketEvent.Kind.NPS)


def person_get(*, user_id: int) -> User:
    """Raises User.DoesNotExist."""
    return User.objects.select_related("organisation").get(pk=user_id)


def person_search(*, query: str, limit: int = 50) -> QuerySet[User]:
    """People by e-mail or name (the admin page's search)."""
    qs = User.objects.select_related("organisation").order_by("email")
    query = query.strip()
    if query:
        qs = qs.filter(Q(email__icontains=query) | Q(name__icontains=query))
    return qs[:limit]


def person_ticket_ids(*, user: User) -> dict[str, list[int]]:
    """Tickets the person requested, is CC'd on, or wrote a message on."""
    requested = list(Ticket.objects.filter(requester=user).order_by("pk").values_list("pk", flat=True))
    cc = list(user.cc_tickets.order_by("pk").values_list("pk", flat=True))
    authored = list(Message.objects.filter(author=user).order_by().values_list("ticket_id", flat=True).distinct())
    return {"requested": requested, "cc": cc, "authored": sorted(set(authored))}


def person_inbound_messages(*, user: User) -> QuerySet[InboundMessage]:
    """Raw e-mails the person sent: by sender address or by the message
    they became."""
    return InboundMessage.objects.filter(Q(from_address__iexact=user.email) | Q(result_message__author=user))


def _dt(value: Any) -> str | None:
    return value.isoformat() if value else None


def _attachment(a: Attachment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "created_at": _dt(a.created_at),
        "download_path": reverse("tickets:attachment-download", args=[a.pk]),
    }


def _message(m: Message, *, user: User) -> dict[str, Any]:
    return {
        "id": m.pk,
        "created_at": _dt(m.created_at),
        "author": "you" if m.author_id == user.pk else (m.author.display_name if m.author else "system"),
        "author_role": m.author_role,
        "channel": m.channel,
        "body": m.body,
        "body_format": m.body_format,
        "attachments": [_attachment(a) for a in m.attachments.all()],
    }


def _tickets(user: User, ids: dict[str, list[int]]) -> list[dict[str, Any]]:
    wanted = sorted(set(ids["requested"]) | set(ids["cc"]))
    tickets = Ticket.objects.filter(pk__in=wanted).select_related("queue").order_by("pk")
    public = (
        Message.objects.filter(ticket_id__in=wanted, visibility=Message.Visibility.PUBLIC)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("ticket_id", "created_at", "pk")
    )
    by_ticket: dict[int, list[dict[str, Any]]] = {}
    for m in public:
        by_ticket.setdefault(m.ticket_id, []).append(_message(m, user=user))
    return [
        {
            "id": t.pk,
            "relation": "requester" if t.requester_id == user.pk else "cc",
            "subject": t.subject,
            "status": t.status,
            "priority": t.priority,
            "channel": t.channel,
            "queue": t.queue.name,
            "created_at": _dt(t.created_at),
            "solved_at": _dt(t.solved_at),
            "messages": by_ticket.get(t.pk, []),
        }
        for t in tickets
    ]


def _messages_elsewhere(user: User, ids: dict[str, list[int]]) -> list[dict[str, Any]]:
    """Public messages the person wrote on tickets not listed above (an
    agent's replies, a merged ticket's messages)."""
    listed = set(ids["requested"]) | set(ids["cc"])
    qs = (
        Message.objects.filter(author=user, visibility=Message.Visibility.PUBLIC)
        .exclude(ticket_id__in=listed)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("created_at", "pk")
    )
    return [{"ticket_id": m.ticket_id, **_message(m, user=user)} for m in qs]


def _surveys(user: User, ids: dict[str, list[int]]) -> list[dict[str, Any]]:
    # Responses by the person, or by the requester's e-mailed link (actor
    # None with the customer role) on the tickets they requested.
    qs = TicketEvent.objects.filter(kind__in=SURVEY_KINDS).filter(
        Q(actor=user) | Q(actor__isnull=True, actor_role=TicketEvent.ActorRole.CUSTOMER, ticket_id__in=ids["requested"])
    )
    return [
        {
            "ticket_id": e.ticket_id,
            "survey": e.kind.split(".")[0],
            "scale": e.data.get("scale"),
            "value": e.data.get("value"),
            "comment": e.data.get("comment", ""),
            "responded_at": _dt(e.occurred_at),
        }
        for e in qs.order_by("occurred_at", "pk")
    ]


def _events(user: User) -> list[dict[str, Any]]:
    qs = TicketEvent.objects.filter(actor=user).exclude(visibility=Message.Visibility.INTERNAL)
    return [
        {
            "id": e.pk,
            "ticket_id": e.ticket_id,
            "kind": e.kind,
            "actor_role": e.actor_role,
            "occurred_at": _dt(e.occurred_at),
            "data": e.data,
        }
        for e in qs.order_by("occurred_at", "pk")
    ]


def _raw_mails(user: User) -> list[dict[str, Any]]:
    out = []
    for m in person_inbound_messages(user=user).order_by("received_at", "pk"):
        raw = inbound_raw(m)
        try:
            text, encoding = raw.decode("ascii"), "text"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(raw).decode("ascii"), "base64"
        out.append(
            {
                "id": m.pk,
                "received_at": _dt(m.received_at),
                "status": m.status,
                "from_address": m.from_address,
                "subject": m.subject,
                "message_id": m.message_id,
                "ticket_id": m.ticket_id,
                "raw_encoding": encoding,
                "raw": text,
            }
        )
    return out


def person_export(*, user: User) -> dict[str, Any]:
    """Everything about `user` as a JSON-ready dict (see module docstring)."""
    ids = person_ticket_ids(user=user)
    org = user.organisation
    internal_count = Message.objects.filter(author=user, visibility=Message.Visibility.INTERNAL).count()
    return {
        "format": EXPORT_FORMAT,
        "generated_at": timezone.now().isoformat(),
        "account": {
            "id": user.pk,
            "email": user.email,
            "name": user.name,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "role": user.role,
            "timezone": user.timezone,
            "is_active": user.is_active,
            "date_joined": _dt(user.date_joined),
            "last_login": _dt(user.last_login),
            "has_password": user.has_usable_password(),
        },
        "organisation": {"id": org.pk, "name": org.name, "domain": org.domain} if org else None,
        "tickets": _tickets(user, ids),
        "messages_on_other_tickets": _messages_elsewhere(user, ids),
        # Staff's internal notes are work product: counted, not copied.
        "internal_notes_written": internal_count,
        "survey_responses": _surveys(user, ids),
        "kb_feedback": [
            {
                "article": f.article.title,
                "helpful": f.helpful,
                "comment": f.comment,
                "created_at": _dt(f.created_at),
                "updated_at": _dt(f.updated_at),
            }
            for f in ArticleFeedback.objects.filter(user=user).select_related("article").order_by("pk")
        ],
        "kb_searches": [
            {"query": s.query, "source": s.source, "at": _dt(s.created_at)}
            for s in SearchLog.objects.filter(user=user).order_by("pk")
        ],
        "kb_suggestions_opened": [
            {"article_id": d.article_id, "query": d.query, "at": _dt(d.opened_at)}
            for d in DeflectionEvent.objects.filter(user=user).order_by("pk")
        ],
        "notification_preferences": [
            {"kind": p.kind, "enabled": p.enabled, "updated_at": _dt(p.updated_at)}
            for p in NotificationPreference.objects.filter(user=user).order_by("kind")
        ],
        "api_tokens": [
            {
                "name": t.name,
                "prefix": t.prefix,
                "created_at": _dt(t.created_at),
                "last_used_at": _dt(t.last_used_at),
                "revoked_at": _dt(t.revoked_at),
            }
            for t in ApiToken.objects.filter(user=user).order_by("pk")
        ],
        "emails_sent": _raw_mails(user),
        "events_as_actor": _events(user),
        "privacy_log": [
            {"kind": a.kind, "via": a.via, "at": _dt(a.occurred_at)}
            for a in PrivacyAuditEvent.objects.filter(subject=user).order_by("pk")
        ],
    }
