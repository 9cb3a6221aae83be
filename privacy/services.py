"""Writes of the privacy app: the audited export and the erasure.

The erasure reaches into the rows of every app in one transaction. It
writes them here, directly, rather than through a "redact" service in each
app: the policy (what is personal, what is kept, what is blanked) is one
decision and is reviewed in one place (docs/privacy.md). Ticket history is
still written through tickets.services (CC removals are events).
"""

import logging
import re
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.files.storage import default_storage
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext

from accounts.models import User
from apikeys.models import ApiToken
from helpdesk.lib.exceptions import Conflict, PermissionDenied
from knowledge_base import services as kb_services
from knowledge_base.models import Article, ArticleFeedback, ArticleVersion, DeflectionEvent, SearchLog
from mail.models import InboundMessage, Notification, NotificationPreference
from mail.storage import raw_names
from privacy import selectors
from privacy.models import PrivacyAuditEvent
from privacy.redaction import (
    ERASED,
    EVENT_REDACTABLE_KEYS,
    identifiers_of,
    pseudonym_email,
    pseudonym_name,
    redact_event_data,
    scrub,
    scrub_json,
    scrub_pattern,
)
from tickets import services as ticket_services
from tickets.models import Attachment, Message, Ticket, TicketEvent
from tickets.search import ticket_search_refresh
from webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)
DEADLOCK = "40P01"  # PostgreSQL's deadlock_detected


class LastAdminRefused(Conflict):
    code = "last_admin"


class AlreadyErased(Conflict):
    code = "already_erased"


class ConfirmationMismatch(Conflict):
    code = "confirmation_mismatch"
    status_code = 400


def user_may_erase(user: Any) -> bool:
    """Only active admins erase people."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role == User.Role.ADMIN)


def user_may_export(*, actor: Any, subject: User) -> bool:
    """Admins export anyone; everybody may export themselves."""
    return user_may_erase(actor) or (getattr(actor, "pk", None) == subject.pk)


def person_is_erased(user: User) -> bool:
    return user.email == pseudonym_email(user.pk)


@transaction.atomic
def person_export_record(*, subject: User, actor: User | None, via: str) -> dict[str, Any]:
    """The export of `subject` (privacy.selectors.person_export), audited.

    Raises PermissionDenied unless the actor is an admin or the subject
    (actor None = an operator at the command line).
    """
    if actor is not None and not user_may_export(actor=actor, subject=subject):
        raise PermissionDenied(gettext("Only admins can export another person's data."))
    data = selectors.person_export(user=subject)
    PrivacyAuditEvent.objects.create(
        kind=PrivacyAuditEvent.Kind.EXPORTED,
        subject=subject,
        actor=actor,
        via=via,
        data={"tickets": len(data["tickets"]), "emails": len(data["emails_sent"])},
    )
    return data


# --- erasure ---------------------------------------------------------------


def _check_may_erase(subject: User, actor: User | None, confirm_email: str | None) -> None:
    if actor is not None and not user_may_erase(actor):
        raise PermissionDenied(gettext("Only admins can erase a person."))
    if person_is_erased(subject):
        raise AlreadyErased(f"User #{subject.pk} is already erased.")
    if confirm_email is not None and confirm_email.strip().lower() != subject.email.lower():
        raise ConfirmationMismatch("Type the person's e-mail address exactly to confirm the erasure.")
    if subject.role == User.Role.ADMIN and subject.is_active:
        # Lock every active admin row so two concurrent erasures of the
        # last two admins cannot both pass this check.
        admins = list(
            User.objects.select_for_update(no_key=True)
            .filter(role=User.Role.ADMIN, is_active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if [pk for pk in admins if pk != subject.pk] == []:
            raise LastAdminRefused("This is the last active admin; make another admin first.")


def _erase_messages(subject: User, pattern: re.Pattern[str] | None, ticket_ids: list[int]) -> dict[str, Any]:
    """Bodies the person wrote as a customer are erased, with their files;
    what staff wrote is kept (work product) with the person's name and
    address scrubbed. Returns counts and the files to delete on commit."""
    own = Message.objects.filter(author=subject, author_role=Message.AuthorRole.CUSTOMER)
    own_ids = list(own.values_list("pk", flat=True))
    erased_count = own.exclude(body=ERASED).update(body=ERASED, email_message_id="")
    attachments = Attachment.objects.filter(message_id__in=own_ids)
    files = [a.file.name for a in attachments if a.file]
    attachment_count = attachments.count()
    attachments.delete()
    # Other messages: those on the person's tickets, and any mentioning the
    # address or full name (an internal note elsewhere).
    mention = Q(ticket_id__in=ticket_ids)
    if pattern is None:  # the sweep: no identity left to look for
        mention = Q(pk__in=[])
    elif subject.email:
        mention |= Q(body__icontains=subject.email)
    if subject.name.strip():
        mention |= Q(body__icontains=subject.name.strip())
    scrubbed = 0
    touched_tickets = set(ticket_ids)
    for m in Message.objects.filter(mention).exclude(pk__in=own_ids).only("pk", "ticket_id", "body"):
        body = scrub(m.body, pattern)
        if body != m.body:
            Message.objects.filter(pk=m.pk).update(body=body)
            scrubbed += 1
            touched_tickets.add(m.ticket_id)
    touched_tickets.update(Message.objects.filter(pk__in=own_ids).values_list("ticket_id", flat=True))
    for a in Attachment.objects.filter(message__ticket_id__in=ticket_ids).only("pk", "filename"):
        name = scrub(a.filename, pattern)
        if name != a.filename:
            Attachment.objects.filter(pk=a.pk).update(filename=name)
    return {
        "messages_erased": erased_count,
        "messages_scrubbed": scrubbed,
        "attachments_deleted": attachment_count,
        "files": files,
        "touched_tickets": sorted(touched_tickets),
    }


def _erase_tickets(
    subject: User, actor: User | None, pattern: re.Pattern[str] | None, ids: dict[str, list[int]]
) -> int:
    """Subjects of requested tickets are the person's words; CC
    memberships end through the ticket service (a ccs.changed event)."""
    Ticket.objects.filter(pk__in=ids["requested"]).exclude(subject=ERASED).update(subject=ERASED)
    for t in Ticket.objects.filter(pk__in=ids["authored"]).exclude(pk__in=ids["requested"]).only("pk", "subject"):
        subject_text = scrub(t.subject, pattern)
        if subject_text != t.subject:
            Ticket.objects.filter(pk=t.pk).update(subject=subject_text)
    for ticket_id in ids["cc"]:
        ticket = Ticket.objects.get(pk=ticket_id)
        remaining = list(ticket.ccs.exclude(pk=subject.pk))
        ticket_services.ticket_set_ccs(ticket_id=ticket_id, ccs=remaining, actor=actor)
    return len(ids["cc"])


def _redact_events(subject: User, email: str, ticket_ids: list[int]) -> list[int]:
    """Blank free text on the tickets about the person and in events they
    acted, and their address in assignment events. The event trigger admits
    this UPDATE only with the session flag and only of these keys (privacy
    migration 0002)."""
    free_text = [k for k in EVENT_REDACTABLE_KEYS if k != "to_email"]
    changed: list[int] = []
    candidates = TicketEvent.objects.filter(
        Q(ticket_id__in=ticket_ids) | Q(actor=subject) | Q(kind=TicketEvent.Kind.ASSIGNEE, data__to_email=email)
    ).only("pk", "data", "actor_id", "ticket_id")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT set_config('helpdesk.event_redaction', 'on', true)")
    try:
        about = set(ticket_ids)
        for e in candidates:
            data = e.data or {}
            mine = e.ticket_id in about or e.actor_id == subject.pk
            new = redact_event_data(data, keys=free_text) if mine else dict(data)
            if str(data.get("to_email") or "").lower() == email.lower():
                new = redact_event_data(new, keys=["to_email"])
            if new != data:
                TicketEvent.objects.filter(pk=e.pk).update(data=new)
                changed.append(e.pk)
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT set_config('helpdesk.event_redaction', '', true)")
    # The webhook outbox holds copies of those payloads.
    for d in WebhookDelivery.objects.filter(event_id__in=changed).only("pk", "payload"):
        payload = dict(d.payload or {})
        data = payload.get("data") or {}
        new = redact_event_data(data, keys=free_text)
        if str(data.get("to_email") or "").lower() == email.lower():
            new = redact_event_data(new, keys=["to_email"])
        payload["data"] = new
        WebhookDelivery.objects.filter(pk=d.pk).update(payload=payload)
    return changed


def _erase_mail(
    subject: User, pattern: re.Pattern[str] | None, about_ids: list[int], ticket_ids: list[int]
) -> dict[str, Any]:
    """Raw e-mails they sent (or that reached their tickets) lose the raw
    bytes and headers; dedupe keys stay so a redelivery is still a
    duplicate. The outbox: mails to them are deleted, mails about their
    tickets keep only their envelope."""
    inbound = InboundMessage.objects.filter(
        Q(from_address__iexact=subject.email) | Q(result_message__author=subject) | Q(ticket_id__in=about_ids)
    )
    inbound_count = inbound.exclude(subject=ERASED, from_address="").update(raw=b"", from_address="", subject=ERASED)
    # The stored raw objects go after the commit, with the attachments.
    raw_files = raw_names(inbound)
    inbound.exclude(raw_file="").update(raw_file="")
    for m in InboundMessage.objects.filter(reason__icontains=subject.email).only("pk", "reason"):
        InboundMessage.objects.filter(pk=m.pk).update(reason=scrub(m.reason, pattern))
    deleted, _ = Notification.objects.filter(recipient=subject).delete()
    about = Notification.objects.filter(ticket_id__in=about_ids).exclude(body=ERASED)
    about.filter(status=Notification.Status.PENDING).update(status=Notification.Status.SKIPPED, last_error=ERASED)
    about_count = about.update(subject=ERASED, body=ERASED, body_html="")
    # Tickets a staff person only worked on: their name leaves the mails.
    worked = Notification.objects.filter(ticket_id__in=ticket_ids).exclude(ticket_id__in=about_ids)
    for n in worked.only("pk", "subject", "body", "body_html"):
        fields = {f: scrub(getattr(n, f), pattern) for f in ("subject", "body", "body_html")}
        if any(fields[f] != getattr(n, f) for f in fields):
            Notification.objects.filter(pk=n.pk).update(**fields)
    NotificationPreference.objects.filter(user=subject).delete()
    return {
        "emails_erased": inbound_count,
        "notifications_deleted": deleted,
        "notifications_blanked": about_count,
        "files": raw_files,
    }


def _erase_kb(subject: User, pattern: re.Pattern[str] | None, ticket_ids: list[int]) -> int:
    """Feedback keeps its vote (article statistics) without the comment;
    search queries are blanked. Articles drafted from their tickets are
    scrubbed of their name and address."""
    ArticleFeedback.objects.filter(user=subject).update(comment="")
    SearchLog.objects.filter(user=subject).update(query=ERASED)
    DeflectionEvent.objects.filter(user=subject).update(query=ERASED)
    article_ids = []
    for a in Article.objects.filter(source_ticket_id__in=ticket_ids):
        fields = {f: scrub(getattr(a, f), pattern) for f in ("title", "body", "body_html", "body_text")}
        if any(fields[f] != getattr(a, f) for f in fields):
            Article.objects.filter(pk=a.pk).update(**fields)
            article_ids.append(a.pk)
        for v in ArticleVersion.objects.filter(article=a):
            ArticleVersion.objects.filter(pk=v.pk).update(title=scrub(v.title, pattern), body=scrub(v.body, pattern))
    if article_ids:
        kb_services.article_index(article_ids=article_ids)
    return len(article_ids)


def _erase_logins(subject: User) -> dict[str, int]:
    """API tokens and sessions go; magic links die with the password and
    the deactivation (they are signed over both, accounts.services)."""
    tokens, _ = ApiToken.objects.filter(user=subject).delete()
    sessions = [s.pk for s in Session.objects.iterator(chunk_size=2000) if _session_user(s) == str(subject.pk)]
    Session.objects.filter(pk__in=sessions).delete()
    return {"api_tokens_deleted": tokens, "sessions_deleted": len(sessions)}


def _session_user(session: Session) -> str | None:
    try:
        return str(session.get_decoded().get("_auth_user_id"))
    except Exception:  # a corrupt session is not this person's
        return None


def _erase_sole_organisation(subject: User, pattern: re.Pattern[str] | None) -> None:
    """An organisation is the customer company's data and stays, unless the
    person is its only member and its name carries their name."""
    org = subject.organisation
    if org is None or org.members.exclude(pk=subject.pk).exists():
        return
    if scrub(org.name, pattern) != org.name:
        type(org).objects.filter(pk=org.pk).update(name=f"Erased organisation #{org.pk}")


def _pseudonymise(subject: User, pattern: re.Pattern[str] | None) -> None:
    _erase_sole_organisation(subject, pattern)
    pseudo = pseudonym_email(subject.pk)
    subject.email = subject.username = pseudo
    subject.name = pseudonym_name(subject.pk)
    subject.first_name = subject.last_name = subject.timezone = ""
    subject.organisation = None
    subject.is_active = subject.is_staff = subject.is_superuser = False
    subject.last_login = None
    subject.set_unusable_password()
    subject.save(
        update_fields=[
            "email",
            "username",
            "name",
            "first_name",
            "last_name",
            "timezone",
            "organisation",
            "is_active",
            "is_staff",
            "is_superuser",
            "last_login",
            "password",
        ]
    )
    # Django admin's history names the object by its str() at the time.
    user_type = ContentType.objects.get_for_model(User)
    for entry in LogEntry.objects.filter(content_type=user_type, object_id=str(subject.pk)):
        LogEntry.objects.filter(pk=entry.pk).update(
            object_repr=pseudonym_name(subject.pk), change_message=scrub(entry.change_message, pattern)
        )
    _scrub_config_audit(subject, user_type, pattern)


def _scrub_config_audit(subject: User, user_type: Any, pattern: re.Pattern[str] | None) -> None:
    """The configuration audit (django-auditlog, docs/settings.md) names the
    person in entries about their account and in entries they made."""
    from auditlog.models import LogEntry as AuditEntry
    from django.db.models import Q

    # The account row is already pseudonymised here: find the rest by the
    # original identifiers' pattern (the audit of configuration is small).
    def names_person(entry: Any) -> bool:
        texts = (entry.object_repr, entry.changes_text, entry.actor_email or "")
        return pattern is not None and any(pattern.search(t or "") for t in texts)

    about = Q(content_type=user_type, object_pk=str(subject.pk)) | Q(actor=subject)
    wanted = {e.pk for e in AuditEntry.objects.filter(about)}
    scanned = AuditEntry.objects.only("pk", "object_repr", "changes_text", "actor_email")
    wanted |= {e.pk for e in scanned.iterator() if names_person(e)}
    for entry in AuditEntry.objects.filter(pk__in=wanted):
        own = entry.content_type_id == user_type.pk and entry.object_pk == str(subject.pk)
        AuditEntry.objects.filter(pk=entry.pk).update(
            object_repr=pseudonym_name(subject.pk) if own else scrub(entry.object_repr, pattern),
            changes_text=scrub(entry.changes_text, pattern),
            changes=scrub_json(entry.changes, pattern),
            serialized_data=scrub_json(entry.serialized_data, pattern),
            additional_data=scrub_json(entry.additional_data, pattern),
            actor_email=scrub(entry.actor_email or "", pattern) if entry.actor_email else entry.actor_email,
            remote_addr=None if entry.actor_id == subject.pk else entry.remote_addr,
        )


def _scrub_saved_filters(pattern: re.Pattern[str] | None, email: str) -> None:
    from tickets.models import SavedView

    for view in SavedView.objects.filter(filters__icontains=email) if email else []:
        SavedView.objects.filter(pk=view.pk).update(filters=scrub_json(view.filters, pattern))


ERASE_ATTEMPTS = 3


def person_erase(
    *, subject_id: int, actor: User | None, via: str, confirm_email: str | None = None
) -> PrivacyAuditEvent:
    """Erase a person; keep their row as a pseudonymous placeholder.

    Removes or blanks everything docs/privacy.md lists (message bodies and
    files, raw e-mails, CCs, KB comments, tokens, sessions, free text in
    event payloads) and records one `person.erased` audit row without any
    personal data. Metrics are unchanged: no event is removed or retimed.
    Files are deleted from storage after the commit. One transaction,
    retried (whole) when PostgreSQL breaks a deadlock with a concurrent
    write about the person.

    Raises PermissionDenied (actor not an admin), AlreadyErased,
    ConfirmationMismatch (confirm_email given and different),
    LastAdminRefused (the last active admin), User.DoesNotExist.
    """
    for attempt in range(1, ERASE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _person_erase_once(subject_id=subject_id, actor=actor, via=via, confirm_email=confirm_email)
        except OperationalError as exc:
            if getattr(exc.__cause__, "pgcode", None) != DEADLOCK or attempt == ERASE_ATTEMPTS:
                raise
            logger.warning("privacy: erasure of user #%s hit a deadlock, retrying", subject_id)
    raise AssertionError("unreachable")


def _about_ids(subject_id: int) -> tuple[dict[str, list[int]], list[int]]:
    """The person's ticket ids, and those about them (requested, CC'd,
    written on as a customer): the latter lose free text wholesale, tickets
    a staff person only worked on are scrubbed of their name."""
    subject = User(pk=subject_id)
    ids = selectors.person_ticket_ids(user=subject)
    customer_on = Message.objects.filter(author_id=subject_id, author_role=Message.AuthorRole.CUSTOMER)
    about = set(ids["requested"]) | set(ids["cc"]) | set(customer_on.values_list("ticket_id", flat=True))
    return ids, sorted(about)


def _person_erase_once(
    *, subject_id: int, actor: User | None, via: str, confirm_email: str | None
) -> PrivacyAuditEvent:
    subject = _lock_person(subject_id)
    _check_may_erase(subject, actor, confirm_email)
    email = subject.email
    whole, parts = identifiers_of(email=email, names=[subject.name, f"{subject.first_name} {subject.last_name}"])
    pattern = scrub_pattern(whole, parts)
    counts, files = _erase_content(subject, actor, pattern, email)
    _pseudonymise(subject, pattern)
    audit = PrivacyAuditEvent.objects.create(
        kind=PrivacyAuditEvent.Kind.ERASED, subject=subject, actor=actor, via=via, data=counts
    )
    transaction.on_commit(lambda: _files_delete(files))
    transaction.on_commit(lambda: _sweep_enqueue(subject.pk))
    return audit


def _lock_person(subject_id: int) -> User:
    """Lock order as the ticket services take it: the tickets about the
    person first, then the person. Their row is locked FOR UPDATE (not NO
    KEY), which conflicts with the KEY SHARE lock of an immediate foreign
    key check, so such a write in flight commits first. Django's foreign
    keys are checked at commit, though: a ticket being created for them
    right now can still commit after the erasure; the sweep catches it."""
    _ids, about_ids = _about_ids(subject_id)
    list(Ticket.objects.select_for_update(no_key=True).filter(pk__in=about_ids).order_by("pk").values_list("pk"))
    return User.objects.select_for_update().get(pk=subject_id)


def _erase_content(
    subject: User, actor: User | None, pattern: re.Pattern[str] | None, email: str
) -> tuple[dict[str, Any], list[str]]:
    """Every erasure step but the user row itself; idempotent (a second run
    changes nothing and counts zeros)."""
    ids, about_ids = _about_ids(subject.pk)  # again: the locks may have waited
    ticket_ids = sorted(set(about_ids) | set(ids["authored"]))
    counts: dict[str, Any] = {"tickets": len(ticket_ids)}
    messages = _erase_messages(subject, pattern, ticket_ids)
    files = messages.pop("files")
    touched = messages.pop("touched_tickets")
    counts.update(messages)
    counts["ccs_removed"] = _erase_tickets(subject, actor, pattern, ids)
    counts["events_redacted"] = len(_redact_events(subject, email, about_ids))
    mail = _erase_mail(subject, pattern, about_ids, ticket_ids)
    files = [*files, *mail.pop("files")]
    counts.update(mail)
    counts["kb_articles_scrubbed"] = _erase_kb(subject, pattern, ticket_ids)
    counts.update(_erase_logins(subject))
    _scrub_saved_filters(pattern, email)
    ticket_search_refresh(ticket_ids=sorted(set(ticket_ids) | set(touched)))
    return counts, files


SWEEP_DELAY_S = 120


def _sweep_enqueue(subject_id: int) -> None:
    from privacy import tasks  # tasks import services

    try:
        tasks.erasure_sweep.apply_async(kwargs={"subject_id": subject_id}, countdown=SWEEP_DELAY_S, retry=False)
    except Exception:  # a broker outage must not undo the erasure; re-run by hand
        logger.warning("privacy: sweep of user #%s not enqueued", subject_id, exc_info=True)


@transaction.atomic
def person_erase_sweep(*, subject_id: int) -> dict[str, Any] | None:
    """Erase again what reached an erased person after their erasure (a
    write that was in flight then). Without their identity only content
    tied to their row is found: their messages and files, requested
    tickets, CCs, e-mails that became their messages, their tokens and
    sessions. Writes a `person.erased` audit row (via "sweep") only when
    it found something. Returns the counts, or None if not erased."""
    subject = _lock_person(subject_id)
    if not person_is_erased(subject):
        return None
    counts, files = _erase_content(subject, None, None, subject.email)
    transaction.on_commit(lambda: _files_delete(files))
    found = {k: v for k, v in counts.items() if k != "tickets" and v}
    if found:
        PrivacyAuditEvent.objects.create(
            kind=PrivacyAuditEvent.Kind.ERASED, subject=subject, actor=None, via="sweep", data=counts
        )
    return counts


def _files_delete(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("privacy: could not delete stored file %s", name)
