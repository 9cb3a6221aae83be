"""The drains a write wakes, per write (docs/delivery.md, "Delivery written
out"): the SLA refresh claims in one statement and stores one ticket with
one UPDATE; the metrics recompute ends on a short batch instead of claiming
an empty one. Same stored values as the ORM's bulk_update."""

import random

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tickets import services
from tickets.models import SLADirty, SLAPolicy, Ticket
from tickets.sla_dirty import sla_dirty_drain
from tickets.sla_services import SLA_FIELDS

pytestmark = pytest.mark.django_db

TARGETS = {
    p: {"first_response": m * 900, "next_reply": m * 1800, "resolution": m * 14400, "business_hours": False}
    for p, m in (("urgent", 1), ("high", 2), ("normal", 4), ("low", 8))
}


def _statements(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]


@pytest.fixture
def worker_mode(settings):
    settings.HELPDESK_SLA_REFRESH = "worker"
    return settings


def _stored(ids):
    return list(Ticket.objects.filter(pk__in=ids).order_by("pk").values_list("pk", *SLA_FIELDS))


def test_one_write_refreshes_with_one_claim_statement_and_one_update(worker_mode):
    queue = QueueFactory(sla_policy=SLAPolicy.objects.create(name="one", targets=TARGETS))
    ticket_make(queue=queue)
    sla_dirty_drain()  # the process's clock context loaded (queues, calendars)
    ticket = ticket_make(queue=queue)
    with CaptureQueriesContext(connection) as ctx:
        assert sla_dirty_drain() == 1
    sql = _statements(ctx)
    assert sum("tickets_sladirty" in s for s in sql) == 1, sql  # was 2 reads + a delete
    assert sum(s.startswith("UPDATE") for s in sql) == 1 and "CASE" not in "".join(sql)
    assert len(sql) <= 7, "\n".join(sql)  # 11 before
    assert _stored([ticket.pk])[0][1] is not None and not SLADirty.objects.exists()


def test_one_at_a_time_stores_what_a_batch_stores(worker_mode):
    """Random tickets and writes; draining them one per claim (the
    written-out UPDATE) stores exactly what one batch (bulk_update) does."""
    rng = random.Random(22)
    policy = SLAPolicy.objects.create(name="eq", targets=TARGETS)
    queues = [QueueFactory(sla_policy=policy), QueueFactory(sla_policy=None)]
    agent = AgentFactory()
    ids = []
    for i in range(12):
        t = ticket_make(queue=rng.choice(queues), requester=CustomerFactory(), priority=rng.choice(list(TARGETS)))
        if rng.random() < 0.6:
            services.message_post(ticket_id=t.pk, author=agent, body=f"reply {i}")
        if rng.random() < 0.4:
            services.ticket_transition(ticket_id=t.pk, target=rng.choice(["pending", "solved"]), actor=agent)
        ids.append(t.pk)
    Ticket.objects.filter(pk__in=ids[::3]).update(sla_due_at=None, first_response_due_at=None)
    assert SLADirty.objects.count() == len(ids)

    sid = transaction.savepoint()
    one_by_one = sla_dirty_drain(batch=1, max_batches=100)
    alone = _stored(ids)
    transaction.savepoint_rollback(sid)
    assert SLADirty.objects.count() == len(ids)
    assert sla_dirty_drain() == one_by_one == len(ids)
    assert _stored(ids) == alone


def test_the_recompute_of_one_write_claims_once(worker_mode):
    from metrics.tasks import recompute_dirty

    ticket_make(queue=QueueFactory())
    with CaptureQueriesContext(connection) as ctx:
        assert recompute_dirty() == 1
    claims = [s for s in _statements(ctx) if "DELETE FROM metrics_metricsdirty" in s]
    assert len(claims) == 1  # no empty claim to end on (2 before)
