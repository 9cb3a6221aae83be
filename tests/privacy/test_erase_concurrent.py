"""Two real connections: a reply by the person, in flight when the erasure
starts, is committed first and then erased (never left behind)."""

import threading
import time

import pytest
from django.db import connection, transaction

from privacy import services
from tests.factories import CustomerFactory, UserFactory, ticket_make
from tickets import services as ticket_services
from tickets.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def test_in_flight_reply_is_erased(queue, celery_eager):
    person = CustomerFactory(email="late.writer@example.org", name="Lena Latewriter")
    admin = UserFactory(role="admin")
    ticket = ticket_make(queue=queue, requester=person, body="first words")
    started, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with transaction.atomic():
                ticket_services.message_post(ticket_id=ticket.pk, author=person, body="Latewords9931 from Lena")
                started.set()
                release.wait(10)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    def eraser() -> None:
        try:
            services.person_erase(subject_id=person.pk, actor=admin, via="api")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    w = threading.Thread(target=writer)
    w.start()
    assert started.wait(10)
    e = threading.Thread(target=eraser)
    e.start()
    time.sleep(1.0)
    assert e.is_alive(), "the erasure must wait for the in-flight write"
    release.set()
    w.join(15)
    e.join(30)
    assert errors == []
    bodies = set(Message.objects.filter(ticket=ticket, author=person).values_list("body", flat=True))
    assert bodies == {"[erased]"}
