"""Two real connections: writes about the person that are in flight when
the erasure starts commit first and are then erased (never left behind);
a deadlock with such a write is retried, not surfaced."""

import threading
import time

import pytest
from django.db import DatabaseError, connection, transaction

from apikeys.models import ApiToken
from privacy import services
from privacy.models import PrivacyAuditEvent
from tests.factories import CustomerFactory, UserFactory, ticket_make
from tickets import services as ticket_services
from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _run(target, errors):
    def body():
        try:
            target()
        except BaseException as exc:  # collected and asserted by the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread


@pytest.fixture
def world(queue, celery_eager):
    person = CustomerFactory(email="late.writer@example.org", name="Lena Latewriter")
    admin = UserFactory(role="admin")
    ticket = ticket_make(queue=queue, requester=person, body="first words")
    return person, admin, ticket


@pytest.mark.parametrize("write", ["reply", "new_ticket"])
def test_in_flight_write_is_erased(world, queue, write):
    """A reply locks the ticket, so the erasure waits for it. A new ticket
    is checked against the person's row only at its commit (deferred
    foreign keys), so it can land after the erasure: the sweep that the
    erasure schedules removes it."""
    person, admin, ticket = world
    started, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer():
        with transaction.atomic():
            if write == "reply":
                ticket_services.message_post(ticket_id=ticket.pk, author=person, body="Latewords9931 from Lena")
            else:
                ticket_make(queue=queue, requester=person, subject="Lena again", body="Latewords9931 new")
            started.set()
            release.wait(10)

    w = _run(writer, errors)
    assert started.wait(10)
    e = _run(lambda: services.person_erase(subject_id=person.pk, actor=admin, via="api"), errors)
    time.sleep(1.0)
    if write == "reply":
        assert e.is_alive(), "the erasure must wait for the in-flight reply"
    release.set()
    w.join(15)
    e.join(30)
    assert errors == []
    if write == "new_ticket":
        assert Message.objects.filter(body__contains="Latewords9931").exists()  # landed after the erasure
        counts = services.person_erase_sweep(subject_id=person.pk)
        assert counts["messages_erased"] == 1
        assert PrivacyAuditEvent.objects.filter(subject=person, via="sweep").count() == 1
    assert not Message.objects.filter(body__contains="Latewords9931").exists()
    assert set(Ticket.objects.filter(requester=person).values_list("subject", flat=True)) == {"[erased]"}
    # A sweep that finds nothing changes nothing and audits nothing.
    sweeps = PrivacyAuditEvent.objects.filter(via="sweep").count()
    services.person_erase_sweep(subject_id=person.pk)
    assert PrivacyAuditEvent.objects.filter(via="sweep").count() == sweeps


def test_deadlock_with_a_concurrent_write_is_retried(world, monkeypatch):
    """The writer holds a lock on the person and then wants their ticket,
    which the erasure holds: PostgreSQL aborts one side; the erasure, if
    it is the victim, runs again and succeeds."""
    person, admin, ticket = world
    attempts = []
    real_once = services._person_erase_once

    def counting(**kwargs):
        attempts.append(1)
        return real_once(**kwargs)

    monkeypatch.setattr(services, "_person_erase_once", counting)
    has_person, go = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    writer_errors: list[BaseException] = []

    def writer():
        with transaction.atomic():
            # What an immediate foreign-key check to the person takes.
            with connection.cursor() as cur:
                cur.execute("SELECT 1 FROM accounts_user WHERE id = %s FOR KEY SHARE", [person.pk])
            ApiToken.objects.create(user=person, name="t", prefix="p", token_hash="h" * 64)
            has_person.set()
            go.wait(10)
            list(Ticket.objects.select_for_update(no_key=True).filter(pk=ticket.pk))

    w = _run(writer, writer_errors)
    assert has_person.wait(10)
    e = _run(lambda: services.person_erase(subject_id=person.pk, actor=admin, via="api"), errors)
    time.sleep(0.5)  # the erasure now holds the ticket and waits for the person
    go.set()
    w.join(30)
    e.join(60)
    assert errors == []
    assert all(isinstance(x, DatabaseError) for x in writer_errors)
    if not writer_errors:  # the writer committed first, the erasure saw its token
        assert not ApiToken.objects.filter(user=person).exists()
    assert person.__class__.objects.get(pk=person.pk).email == f"erased-{person.pk}@invalid"
    # A deadlock really happened: one side was its victim.
    assert len(writer_errors) + (len(attempts) - 1) == 1, (writer_errors, attempts)
