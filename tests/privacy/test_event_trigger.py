"""The event log stays append-only: the one UPDATE the trigger admits is
the erasure's redaction of listed payload keys, with the session flag."""

import pytest
from django.db import DatabaseError, connection, transaction

from tests.factories import ticket_make
from tickets import services as ticket_services
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def status_event(agent, queue):
    ticket = ticket_make(queue=queue)
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent, note="call Zelda back")
    return TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.STATUS).get()


def _flag(value: str = "on") -> None:
    with connection.cursor() as cur:
        cur.execute("SELECT set_config('helpdesk.event_redaction', %s, true)", [value])


def _refused(fn) -> bool:
    try:
        with transaction.atomic():
            fn()
    except DatabaseError:
        return True
    return False


def test_redaction_without_the_flag_is_refused(status_event):
    new = {**status_event.data, "note": "[erased]"}
    assert _refused(lambda: TicketEvent.objects.filter(pk=status_event.pk).update(data=new))


@pytest.mark.parametrize(
    "change",
    [
        {"data": {"from": "new", "to": "solved", "note": "[erased]"}},  # another key rewritten
        {"data": {"from": "new", "to": "open", "note": "something else"}},  # not the placeholder
        {"data": {"from": "new", "to": "open", "note": "[erased]", "reason": "[erased]"}},  # a key added
        {"data": {"from": "new", "to": "open"}},  # a key removed
        {"kind": TicketEvent.Kind.PRIORITY},
        {"actor": None},
    ],
)
def test_with_the_flag_only_blanking_listed_keys_passes(status_event, change):
    def update():
        _flag()
        TicketEvent.objects.filter(pk=status_event.pk).update(**change)

    assert _refused(update)


def test_with_the_flag_blanking_a_listed_key_passes(status_event):
    with transaction.atomic():
        _flag()
        TicketEvent.objects.filter(pk=status_event.pk).update(data={**status_event.data, "note": "[erased]"})
    status_event.refresh_from_db()
    assert status_event.data == {"from": "new", "to": "open", "note": "[erased]"}


def test_delete_is_refused_even_with_the_flag(status_event):
    def delete():
        _flag()
        TicketEvent.objects.filter(pk=status_event.pk).delete()

    assert _refused(delete)
    assert TicketEvent.objects.filter(pk=status_event.pk).exists()
