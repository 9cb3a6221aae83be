"""Erasure: after it, the person's name, address and words are nowhere in
the database or in stored files; the history and the metrics hold."""

import os
from datetime import UTC, datetime

import pytest
from django.contrib.sessions.models import Session
from django.db import connection

from accounts.models import User
from metrics import services as metrics_services
from metrics.models import TicketMetrics
from metrics.present import stored_row
from privacy import services
from privacy.models import PrivacyAuditEvent
from tests.privacy.conftest import EMAIL, MARKER, NEEDLES
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db

AS_OF = datetime(2030, 1, 1, tzinfo=UTC)
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb", "tsvector", "bytea")


def database_hits(needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every text-like column of every table
    of the schema holding a needle (case-insensitive; bytea as escaped
    text; tsvector also by lower-case lexeme prefix)."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
               JOIN information_schema.tables t USING (table_schema, table_name)
               WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                 AND c.data_type = ANY(%s)""",
            [list(TEXT_TYPES)],
        )
        columns = cur.fetchall()
        assert len(columns) > 50  # the scan really covers the schema
        hits = []
        for table, column, data_type in columns:
            expr = f"encode(\"{column}\", 'escape')" if data_type == "bytea" else f'"{column}"::text'
            for needle in needles:
                pattern = f"%{needle}%"
                if data_type == "tsvector":
                    pattern = f"%{needle.lower()[:8]}%"
                cur.execute(f'SELECT count(*) FROM "{table}" WHERE {expr} ILIKE %s', [pattern])  # noqa: S608
                if cur.fetchone()[0]:
                    hits.append((table, column, needle))
        return hits


def file_hits(root: str, needles: list[str]) -> list[tuple[str, str]]:
    hits = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            content = open(path, "rb").read().lower()  # noqa: SIM115
            hits += [(path, n) for n in needles if n.lower().encode() in content or n.lower() in path.lower()]
    return hits


def metrics_snapshot(ticket_ids: list[int]) -> dict[int, dict]:
    metrics_services.tickets_recompute(ticket_ids=ticket_ids, as_of=AS_OF)
    return {m.ticket_id: stored_row(m) for m in TicketMetrics.objects.filter(ticket_id__in=ticket_ids)}


def erase(history, django_capture_on_commit_callbacks, celery_eager):
    with django_capture_on_commit_callbacks(execute=True):
        return services.person_erase(subject_id=history.person.pk, actor=history.admin, via="api")


def test_history_really_holds_the_person_before(history, settings):
    """The scan finds every needle before the erasure (it can fail)."""
    hits = database_hits(NEEDLES)
    tables = {t for t, _c, _n in hits}
    assert {
        "accounts_user",
        "tickets_message",
        "tickets_ticket",
        "tickets_ticketevent",
        "mail_inboundmessage",
        "mail_notification",
        "knowledge_base_articlefeedback",
        "knowledge_base_searchlog",
        "tickets_attachment",
        "tickets_ticketsearch",
        "webhooks_webhookdelivery",
    } <= tables, tables
    assert file_hits(str(settings.MEDIA_ROOT), [MARKER])


def test_erasure_leaves_no_trace_in_database_or_files(
    history, settings, django_capture_on_commit_callbacks, celery_eager
):
    """Every text, varchar, JSON, tsvector and bytea column of every table and
    every stored file is free of the name, the address and the marker."""
    erase(history, django_capture_on_commit_callbacks, celery_eager)
    assert database_hits(NEEDLES) == []
    assert file_hits(str(settings.MEDIA_ROOT), NEEDLES) == []


def test_erasure_keeps_other_people_and_structure(history, django_capture_on_commit_callbacks, celery_eager):
    """The row stays as a pseudonymous placeholder; events keep their
    number, kinds and actors; the other customer's data is untouched."""
    events_before = list(TicketEvent.objects.order_by("pk").values_list("pk", "kind", "actor_id", "occurred_at"))
    erase(history, django_capture_on_commit_callbacks, celery_eager)
    person = User.objects.get(pk=history.person.pk)
    assert person.email == f"erased-{person.pk}@invalid"
    assert person.name == f"Erased user #{person.pk}"
    assert not person.is_active and not person.has_usable_password()
    events_after = list(TicketEvent.objects.order_by("pk").values_list("pk", "kind", "actor_id", "occurred_at"))
    # Only the CC removal is new.
    assert events_after[: len(events_before)] == events_before
    assert [e[1] for e in events_after[len(events_before) :]] == [TicketEvent.Kind.CCS]
    assert history.person.pk not in list(history.other_ticket.ccs.values_list("pk", flat=True))
    # Olga's words, including her internal note, are untouched.
    assert database_hits([history.other_marker]) != []
    assert history.other_ticket.messages.filter(body__contains=history.other_marker).count() == 2
    assert User.objects.get(pk=history.other.pk).email == "olga.other@elsewhere.example"
    # Logins are gone.
    assert not Session.objects.exists() or all(
        s.get_decoded().get("_auth_user_id") != str(person.pk) for s in Session.objects.all()
    )
    assert not person.api_tokens.exists()


def test_metrics_recompute_equal_after_erasure(history, django_capture_on_commit_callbacks, celery_eager):
    ids = [history.portal_ticket.pk, history.email_ticket.pk, history.other_ticket.pk, history.unrelated_ticket.pk]
    before = metrics_snapshot(ids)
    assert before[history.portal_ticket.pk]["csat_value"] is not None
    erase(history, django_capture_on_commit_callbacks, celery_eager)
    assert metrics_snapshot(ids) == before


def test_erasure_is_audited_without_personal_data(history, django_capture_on_commit_callbacks, celery_eager):
    audit = erase(history, django_capture_on_commit_callbacks, celery_eager)
    row = PrivacyAuditEvent.objects.get(pk=audit.pk)
    assert row.kind == PrivacyAuditEvent.Kind.ERASED
    assert (row.subject_id, row.actor_id, row.via) == (history.person.pk, history.admin.pk, "api")
    assert row.data["messages_erased"] == 4 and row.data["attachments_deleted"] == 3
    assert EMAIL not in str(row.data) and "Zelda" not in str(row.data)
    # The audit log is append-only too.
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic():
        PrivacyAuditEvent.objects.filter(pk=row.pk).update(via="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        PrivacyAuditEvent.objects.filter(pk=row.pk).delete()


def test_erasing_twice_is_refused(history, django_capture_on_commit_callbacks, celery_eager):
    erase(history, django_capture_on_commit_callbacks, celery_eager)
    with pytest.raises(services.AlreadyErased):
        services.person_erase(subject_id=history.person.pk, actor=history.admin, via="api")


def test_stored_files_survive_a_rolled_back_erasure(history, settings, monkeypatch):
    """Files go only after the commit: a failing erasure keeps them."""

    def boom(*args, **kwargs):
        raise RuntimeError("late failure")

    monkeypatch.setattr(services, "ticket_search_refresh", boom)
    with pytest.raises(RuntimeError):
        services.person_erase(subject_id=history.person.pk, actor=history.admin, via="api")
    assert file_hits(str(settings.MEDIA_ROOT), [MARKER])
    assert User.objects.get(pk=history.person.pk).email == EMAIL


def test_erasing_an_agent_keeps_their_replies_without_their_name(
    history, django_capture_on_commit_callbacks, celery_eager
):
    """Staff messages are work product: kept, scrubbed of the agent's name;
    the agent's address leaves assignment events and the outbox."""
    agent = history.agent
    User.objects.filter(pk=agent.pk).update(name="Quincy Agentworth")
    agent.refresh_from_db()
    from tickets import services as ticket_services

    ticket_services.message_post(
        ticket_id=history.other_ticket.pk, author=agent, body="Regards, Quincy Agentworth (agent)"
    )
    needles = [agent.email, "Quincy", "Agentworth"]
    ids = [history.portal_ticket.pk, history.other_ticket.pk]
    before = metrics_snapshot(ids)
    assert database_hits(needles)
    with django_capture_on_commit_callbacks(execute=True):
        services.person_erase(subject_id=agent.pk, actor=history.admin, via="page")
    assert database_hits(needles) == []
    reply = history.other_ticket.messages.get(author=agent, body__startswith="Regards")
    assert reply.body == "Regards, [erased] (agent)"
    assert history.portal_ticket.messages.filter(author=agent, body__startswith="Hi Zelda, we are on it").exists()
    # The customer's own words on the tickets the agent worked are untouched.
    assert history.portal_ticket.messages.filter(author=history.person, body__contains=MARKER).count() == 2
    assert metrics_snapshot(ids) == before


def test_erasure_schedules_a_sweep_after_commit(history, django_capture_on_commit_callbacks, monkeypatch):
    """The sweep for late writes is sent to the broker only after the commit,
    with a delay (the Celery send is the boundary recorded here)."""
    from privacy import tasks

    sent = []
    monkeypatch.setattr(tasks.erasure_sweep, "apply_async", lambda **kw: sent.append(kw))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.person_erase(subject_id=history.person.pk, actor=history.admin, via="api")
    assert sent == []
    for callback in callbacks:
        callback()
    assert {"kwargs": {"subject_id": history.person.pk}, "countdown": services.SWEEP_DELAY_S, "retry": False} in sent
