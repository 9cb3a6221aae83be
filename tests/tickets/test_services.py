"""Every service writes its change and its event in one transaction."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from helpdesk.lib.exceptions import ApplicationError, Conflict
from metrics.models import MetricsDirty
from tests.factories import AgentFactory, QueueFactory, ticket_make
from tickets import services
from tickets.models import Message, Ticket, TicketEvent

K = TicketEvent.Kind
S = Ticket.Status


def kinds(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket).order_by("occurred_at", "id").values_list("kind", flat=True))


@pytest.mark.django_db
def test_create_writes_ticket_message_and_created_event(customer, queue):
    ticket = ticket_make(queue=queue, requester=customer, subject="Export fails", body="Stops at 50%", tags=["Export"])
    assert ticket.kind == "support" and ticket.status == S.NEW and ticket.channel == "portal"
    assert kinds(ticket) == [K.CREATED]
    event = ticket.events.get()
    assert event.actor_role == "customer"
    assert event.data["to"] == "new" and event.data["requester_id"] == customer.pk
    assert event.data["created_by_role"] == "customer" and event.data["creation_message_visibility"] == "public"
    description = ticket.messages.get()
    assert description.is_description and description.body == "Stops at 50%"
    assert list(ticket.tags.values_list("name", flat=True)) == ["export"]
    assert MetricsDirty.objects.filter(ticket_id=ticket.pk).exists()


@pytest.mark.django_db
def test_create_requires_subject(customer, queue):
    with pytest.raises(ApplicationError) as exc:
        ticket_make(queue=queue, requester=customer, subject="  ")
    assert exc.value.code == "subject_required"
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_agent_reply_and_internal_note(agent, customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    services.message_post(ticket_id=ticket.pk, author=agent, body="Looking", visibility="internal")
    services.message_post(ticket_id=ticket.pk, author=agent, body="Try again")
    events = list(ticket.events.filter(kind=K.MESSAGE).order_by("id"))
    assert [(e.visibility, e.actor_role, e.data["author_role"]) for e in events] == [
        ("internal", "agent", "agent"),
        ("public", "agent", "agent"),
    ]
    assert events[0].data["message_id"] == Message.objects.get(body="Looking").pk


@pytest.mark.django_db
def test_customer_cannot_write_internal_note(customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    with pytest.raises(ApplicationError):
        services.message_post(ticket_id=ticket.pk, author=customer, body="x", visibility="internal")


@pytest.mark.django_db
def test_empty_message_refused(agent, customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    with pytest.raises(ApplicationError) as exc:
        services.message_post(ticket_id=ticket.pk, author=agent, body="   ")
    assert exc.value.code == "empty_message"


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.SOLVED, S.PENDING])
def test_customer_reply_reopens(status, agent, customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    services.ticket_transition(ticket_id=ticket.pk, target=status, actor=agent)
    services.message_post(ticket_id=ticket.pk, author=customer, body="Still broken")
    ticket.refresh_from_db()
    assert ticket.status == S.OPEN
    last = ticket.events.latest("id")
    assert last.kind == K.STATUS and last.data["from"] == status and last.data["to"] == "open"
    assert last.actor_role == "customer"


@pytest.mark.django_db
def test_customer_reply_to_closed_creates_linked_follow_up(agent, customer, queue):
    ticket = ticket_make(queue=queue, requester=customer, subject="Printer")
    services.ticket_transition(ticket_id=ticket.pk, target=S.CLOSED, actor=agent)
    message = services.message_post(ticket_id=ticket.pk, author=customer, body="It broke again")
    follow_up = message.ticket
    assert follow_up.pk != ticket.pk and follow_up.follow_up_of_id == ticket.pk
    assert follow_up.subject == "Re: Printer" and follow_up.status == S.NEW
    ticket.refresh_from_db()
    assert ticket.status == S.CLOSED
    assert kinds(ticket) == [K.CREATED, K.STATUS]


@pytest.mark.django_db
def test_agent_cannot_change_closed_ticket(agent, customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    services.ticket_transition(ticket_id=ticket.pk, target=S.CLOSED, actor=agent)
    with pytest.raises(Conflict):
        services.message_post(ticket_id=ticket.pk, author=agent, body="hello")
    with pytest.raises(Conflict):
        services.ticket_assign(ticket_id=ticket.pk, assignee=agent, actor=agent)


@pytest.mark.django_db
def test_import_path_replays_without_rules(agent, customer, queue):
    """apply_rules=False (import): a customer message does not reopen."""
    ticket = ticket_make(queue=queue, requester=customer)
    services.ticket_transition(ticket_id=ticket.pk, target=S.SOLVED, actor=agent)
    services.message_post(ticket_id=ticket.pk, author=customer, body="thanks", apply_rules=False)
    ticket.refresh_from_db()
    assert ticket.status == S.SOLVED


@pytest.mark.django_db
def test_assign_records_reason_and_refuses_customers(agent, customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    services.ticket_assign(ticket_id=ticket.pk, assignee=agent, actor=None, reason="least-loaded of 1")
    event = ticket.events.latest("id")
    assert event.kind == K.ASSIGNEE and event.actor_role == "system"
    assert event.data == {"from": None, "to": agent.pk, "to_email": agent.email, "reason": "least-loaded of 1"}
    with pytest.raises(ApplicationError):
        services.ticket_assign(ticket_id=ticket.pk, assignee=customer, actor=agent)
    # Assigning the same agent again is a no-op, not a second event.
    services.ticket_assign(ticket_id=ticket.pk, assignee=agent, actor=agent)
    assert ticket.events.filter(kind=K.ASSIGNEE).count() == 1


@pytest.mark.django_db
def test_escalation_keeps_number_history_and_requires_reason(agent, customer, queue, service_queue):
    ticket = ticket_make(queue=service_queue, requester=customer)
    created_at = ticket.created_at
    with pytest.raises(ApplicationError) as exc:
        services.ticket_move_queue(ticket_id=ticket.pk, queue=queue, actor=agent)
    assert exc.value.code == "reason_required"
    services.ticket_escalate(ticket_id=ticket.pk, queue=queue, actor=agent, reason="Looks like a bug")
    ticket.refresh_from_db()
    assert ticket.queue == queue and ticket.kind == "support" and ticket.created_at == created_at
    event = ticket.events.latest("id")
    assert event.kind == K.QUEUE
    assert event.data["from_kind"] == "service" and event.data["to_kind"] == "support"
    assert event.data["escalation"] is True and event.data["reason"] == "Looks like a bug"
    assert kinds(ticket) == [K.CREATED, K.QUEUE]


@pytest.mark.django_db
def test_priority_tags_ccs(agent, customer, other_customer, queue):
    ticket = ticket_make(queue=queue, requester=customer, tags=["a"])
    services.ticket_set_priority(ticket_id=ticket.pk, priority="urgent", actor=agent)
    services.ticket_tag(ticket_id=ticket.pk, actor=agent, add=["b", "a"], remove=["a"])
    services.ticket_set_ccs(ticket_id=ticket.pk, ccs=[other_customer], actor=agent)
    assert kinds(ticket) == [K.CREATED, K.PRIORITY, K.TAGS, K.CCS]
    assert ticket.events.get(kind=K.PRIORITY).data == {"from": "normal", "to": "urgent"}
    assert ticket.events.get(kind=K.TAGS).data == {"add": ["b"], "remove": ["a"]}
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["b"]
    with pytest.raises(ApplicationError):
        services.ticket_set_priority(ticket_id=ticket.pk, priority="critical", actor=agent)


@pytest.mark.django_db
def test_merge_closes_source_and_links(agent, customer, queue):
    source = ticket_make(queue=queue, requester=customer)
    target = ticket_make(queue=queue, requester=customer)
    services.ticket_merge(source_id=source.pk, target_id=target.pk, actor=agent)
    source.refresh_from_db()
    assert source.merged_into_id == target.pk and source.status == S.CLOSED
    assert kinds(source) == [K.CREATED, K.MERGED_INTO, K.STATUS]
    assert kinds(target) == [K.CREATED, K.MERGED_FROM]
    with pytest.raises(Conflict):
        services.ticket_merge(source_id=source.pk, target_id=target.pk, actor=agent)
    with pytest.raises(ApplicationError):
        services.ticket_merge(source_id=target.pk, target_id=target.pk, actor=agent)


@pytest.mark.django_db
def test_spam_delete_restore_link(agent, customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    other = ticket_make(queue=queue, requester=customer)
    services.ticket_mark_spam(ticket_id=ticket.pk, actor=agent)
    services.ticket_delete(ticket_id=ticket.pk, actor=agent)
    services.ticket_restore(ticket_id=ticket.pk, actor=agent)
    services.ticket_link(ticket_id=ticket.pk, other_id=other.pk, actor=agent)
    assert kinds(ticket) == [K.CREATED, K.SPAM, K.DELETED, K.RESTORED, K.LINKED]
    ticket.refresh_from_db()
    assert not ticket.is_spam and not ticket.is_deleted
    assert list(ticket.related.all()) == [other]


@pytest.mark.django_db
def test_work_session_time_entry_and_surveys(agent, customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    start = timezone.now() - timedelta(minutes=10)
    services.work_session_record(
        ticket_id=ticket.pk, agent=agent, started_at=start, ended_at=start + timedelta(minutes=5)
    )
    services.time_entry_log(ticket_id=ticket.pk, agent=agent, seconds=300)
    services.survey_offer(ticket_id=ticket.pk, survey="csat")
    services.survey_respond(ticket_id=ticket.pk, survey="csat", value=5, comment="Great", actor=customer)
    services.survey_respond(ticket_id=ticket.pk, survey="csat", value="bad", scale="good_bad", actor=customer)
    session = ticket.events.get(kind=K.WORK_SESSION)
    assert session.occurred_at == start + timedelta(minutes=5)
    assert session.data["agent_id"] == agent.pk
    assert ticket.events.filter(kind=K.CSAT).count() == 2
    for bad in (0, 6, "5", True):
        with pytest.raises(ApplicationError):
            services.survey_respond(ticket_id=ticket.pk, survey="csat", value=bad, actor=customer)
    with pytest.raises(ApplicationError):
        services.work_session_record(ticket_id=ticket.pk, agent=agent, started_at=start, ended_at=start)
    with pytest.raises(ApplicationError):
        services.time_entry_log(ticket_id=ticket.pk, agent=agent, seconds=0)


@pytest.mark.django_db
def test_attachment_limits(agent, customer, queue, settings):
    settings.HELPDESK_ATTACHMENT_MAX_BYTES = 10
    ticket = ticket_make(queue=queue, requester=customer)
    ok = services.IncomingFile(filename="log.txt", content=b"0123456789", content_type="text/plain")
    message = services.message_post(ticket_id=ticket.pk, author=agent, body="see file", attachments=[ok])
    att = message.attachments.get()
    assert att.size == 10 and att.filename == "log.txt" and "log.txt" not in att.file.name
    for bad in (
        services.IncomingFile(filename="big.txt", content=b"x" * 11),
        services.IncomingFile(filename="evil.exe", content=b"MZ"),
        services.IncomingFile(filename="page.html", content=b"<script>"),
    ):
        with pytest.raises(services.AttachmentRejected):
            services.message_post(ticket_id=ticket.pk, author=agent, body="x", attachments=[bad])
    assert ticket.messages.count() == 2  # description + the one accepted reply


@pytest.mark.django_db
def test_failed_service_leaves_no_event(agent, customer, queue):
    """The change and its event share one transaction."""
    ticket = ticket_make(queue=queue, requester=customer)
    before = ticket.events.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.ticket_set_priority(ticket_id=ticket.pk, priority="high", actor=agent)
        raise RuntimeError("boom")
    ticket.refresh_from_db()
    assert ticket.priority == "normal" and ticket.events.count() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tickets_ticketevent SET kind = 'status.changed' WHERE ticket_id = %s",
        "UPDATE tickets_ticketevent SET data = '{}'::jsonb WHERE ticket_id = %s",
        "DELETE FROM tickets_ticketevent WHERE ticket_id = %s",
    ],
)
def test_database_refuses_rewriting_history(sql, customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [ticket.pk])
    assert ticket.events.count() == 1


@pytest.mark.django_db
def test_orm_cannot_rewrite_history_either(customer, queue):
    ticket = ticket_make(queue=queue, requester=customer)
    event = ticket.events.get()
    event.kind = K.STATUS
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        TicketEvent.objects.filter(pk=event.pk).delete()
    assert TicketEvent.objects.get(pk=event.pk).kind == K.CREATED


@pytest.mark.django_db
def test_kind_comes_from_queue(customer):
    service = QueueFactory(kind="service")
    ticket = ticket_make(queue=service, requester=customer)
    assert ticket.kind == "service"
    AgentFactory()
