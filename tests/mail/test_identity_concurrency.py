"""Two simultaneous deliveries of one mail, each on its own real
PostgreSQL connection (threads), create exactly one ticket."""

import threading

import pytest
from django.db import connection

from mail import services
from mail.models import InboundMessage
from tests.mail.conftest import mime
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

S = InboundMessage.Status


def deliver_concurrently(raws: list[bytes]) -> list[InboundMessage]:
    """Each raw delivered by its own thread, released together."""
    barrier = threading.Barrier(len(raws))
    results: list[InboundMessage | BaseException] = [None] * len(raws)  # type: ignore[list-item]

    def run(i: int, raw: bytes) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = services.inbound_receive(raw, source="http")
        except BaseException as exc:  # reported below, never swallowed
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, raw)) for i, raw in enumerate(raws)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results  # type: ignore[return-value]


@pytest.mark.parametrize("rounds", [8])
def test_simultaneous_deliveries_create_one_ticket(mail_settings, rounds):
    for n in range(rounds):
        raw = mime(subject=f"Race {n}", body="Exactly once.", message_id=f"<race-{n}@customer.example>")
        # The second copy came through another relay: other bytes, same mail.
        relayed = b"Received: from relay2 by mx.acme.test; Tue, 2 Dec 2025 10:00:00 +0000\r\n" + raw
        results = deliver_concurrently([raw, relayed, raw])
        assert sorted(r.status for r in results) == [S.DROPPED, S.DROPPED, S.PROCESSED]
        kept = next(r for r in results if r.status == S.PROCESSED)
        assert all(r.duplicate_of_id == kept.pk for r in results if r.status == S.DROPPED)
        assert Ticket.objects.filter(subject=f"Race {n}").count() == 1
