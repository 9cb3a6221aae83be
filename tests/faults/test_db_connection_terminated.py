"""A database connection terminated in the middle of a request leaves no
half-written ticket, and the next request on that worker works again.

The request is frozen mid-transaction deterministically: a second connection
holds an EXCLUSIVE lock on the event table, so the portal create has written
its ticket row and waits to append `ticket.created` when its backend is
terminated with pg_terminate_backend."""

import threading

import psycopg2
import pytest
from django.db import connection
from django.test import Client

from tests.factories import CustomerFactory, QueueFactory
from tests.processes import wait_for
from tickets.models import Message, RequestType, Ticket, TicketEvent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _raw():
    s = connection.settings_dict
    conn = psycopg2.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"], dbname=s["NAME"])
    return conn


def _waiting_pids(cur) -> list[int]:
    cur.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        " AND query ILIKE %s",
        ["%tickets_ticketevent%"],
    )
    return [r[0] for r in cur.fetchall()]


def test_terminated_connection_mid_create_leaves_no_half_ticket():
    queue = QueueFactory(kind="service")
    rtype = RequestType.objects.create(slug="billing", name="Billing", queue=queue)
    customer = CustomerFactory()
    results: dict[str, object] = {}

    def submit(key: str, subject: str) -> None:
        client = Client(raise_request_exception=False)
        client.force_login(customer)
        try:
            response = client.post(
                "/portal/new/", {"subject": subject, "description": "Card charged twice", "request_type": rtype.pk}
            )
            results[key] = response.status_code
        finally:
            connection.close()

    locker, killer = _raw(), _raw()
    killer.autocommit = True
    try:
        with locker.cursor() as cur:
            cur.execute(f"LOCK TABLE {TicketEvent._meta.db_table} IN EXCLUSIVE MODE")
        thread = threading.Thread(target=submit, args=("first", "Interrupted"))
        thread.start()
        with killer.cursor() as cur:
            assert wait_for(lambda: _waiting_pids(cur), timeout=20), "the create never reached the event insert"
            (victim,) = _waiting_pids(cur)
            # The ticket row is written, but only inside the open transaction.
            cur.execute(f"SELECT pg_terminate_backend({int(victim)})")
        locker.rollback()
        thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        locker.close()
        killer.close()

    assert results["first"] >= 500  # the request failed visibly, not silently
    assert not Ticket.objects.filter(subject="Interrupted").exists()
    assert not Message.objects.filter(body__contains="Card charged twice").exists()
    # Every ticket has its creation event: nothing half-written anywhere.
    created = set(TicketEvent.objects.filter(kind="ticket.created").values_list("ticket_id", flat=True))
    assert set(Ticket.objects.values_list("pk", flat=True)) == created

    # The same client retries and succeeds on a fresh connection.
    submit("retry", "Retried")
    assert results["retry"] == 302
    ticket = Ticket.objects.get(subject="Retried")
    assert TicketEvent.objects.filter(ticket=ticket, kind="ticket.created").count() == 1
