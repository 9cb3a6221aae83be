"""M14 (docs/metrics.md) next-reply SLA outcomes per cycle (issue 7): row, summary, export; the
dashboard cells incremental == SQL rebuild alongside."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from metrics import selectors, services
from metrics.models import TicketMetrics
from metrics.present import stored_row
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tests.metrics.test_bulk_rebuild import _rollups
from tickets import services as ticket_services
from tickets.models import SLAPolicy

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


def _post(ticket, author, minutes):
    ticket_services.message_post(
        ticket_id=ticket.pk, author=author, body="m", occurred_at=T0 + timedelta(minutes=minutes), apply_rules=False
    )


@pytest.mark.django_db
def test_next_reply_cycles_achieved_and_breached_rolled_up_and_summarised():
    policy = SLAPolicy.objects.create(
        name="nr", pause_statuses=["pending"], targets={"normal": {"next_reply": 3600, "business_hours": False}}
    )
    queue = QueueFactory(slug="nr", sla_policy=policy)
    agent, customer = AgentFactory(), CustomerFactory()
    with transaction.atomic():
        t = ticket_make(queue=queue, requester=customer, occurred_at=T0, priority="normal")
        ticket_services.ticket_assign(ticket_id=t.pk, assignee=agent, actor=agent, occurred_at=T0)
        _post(t, agent, 5)  # first reply: no next-reply cycle
        _post(t, customer, 10)  # cycle 1 opens
        _post(t, agent, 40)  # 30 min <= 60: achieved at +40
        _post(t, customer, 180)  # cycle 2 opens, due +240
        _post(t, agent, 300)  # 120 min: breached, outcome at the breach instant +240
        # A second ticket with a still-open cycle past its breach instant: breached while open.
        u = ticket_make(queue=queue, requester=customer, occurred_at=T0, priority="normal")
        _post(u, agent, 5)
        _post(u, customer, 10)  # due +70, never answered
    as_of = T0 + timedelta(hours=10)
    services.metrics_reset()
    with transaction.atomic():
        services.tickets_recompute(ticket_ids=[t.pk, u.pk], as_of=as_of)

    m = TicketMetrics.objects.get(ticket_id=t.pk)
    assert m.sla_next_reply_target_s == 3600
    assert (m.sla_next_reply_achieved, m.sla_next_reply_breached) == (1, 1)
    assert m.sla_next_reply_outcome_at == T0 + timedelta(minutes=240)
    assert stored_row(m)["sla_next_reply_achieved"] == 1
    mu = TicketMetrics.objects.get(ticket_id=u.pk)
    assert (mu.sla_next_reply_achieved, mu.sla_next_reply_breached) == (0, 1)
    assert mu.sla_next_reply_outcome_at == T0 + timedelta(minutes=70)

    incremental = _rollups()
    summary = selectors.sla_summary()
    assert summary["by_target"]["next_reply"] == {"with_outcome": 3, "breached": 2, "pct": pytest.approx(200 / 3)}
    assert (summary["breached"], summary["with_outcome"]) == (2, 3)  # no first-reply/resolution targets
    later = selectors.sla_summary(start=T0 + timedelta(minutes=100))
    assert later["by_target"]["next_reply"]["with_outcome"] == 2  # cohort: the last outcome instant (+240)

    if connection.vendor == "postgresql":
        services.metrics_rollups_rebuild()
        assert _rollups() == incremental

    out = io.StringIO()
    call_command("metrics_export", "--format", "jsonl", stdout=out)
    rows = {r["ticket"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert (rows[t.pk]["sla_next_reply_achieved"], rows[t.pk]["sla_next_reply_breached"]) == (1, 1)
    assert rows[t.pk]["sla_next_reply_target_s"] == 3600
    assert rows[t.pk]["sla_next_reply_outcome_at"] == "2025-06-02T12:00:00Z"


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL rollup rebuild needs PostgreSQL")
def test_sql_rollups_equal_contributions_with_next_reply_targets_after_random_histories():
    import random

    policy = SLAPolicy.objects.create(
        name="nr-rnd",
        pause_statuses=["pending"],
        targets={"normal": {"first_response": 3600, "next_reply": 1800, "resolution": 20000, "business_hours": False}},
    )
    queue = QueueFactory(slug="nr-rnd", sla_policy=policy)
    agents = [AgentFactory(), AgentFactory()]
    rnd = random.Random(7)
    with transaction.atomic():
        tickets = [ticket_make(queue=queue, requester=CustomerFactory(), occurred_at=T0) for _ in range(8)]
        clock = {t.pk: T0 for t in tickets}
        for _ in range(100):
            t = rnd.choice(tickets)
            t.refresh_from_db()
            when = clock[t.pk] = clock[t.pk] + timedelta(seconds=rnd.randint(60, 4 * 3600))
            agent = rnd.choice(agents)
            action = rnd.choice(["reply", "customer", "customer", "solve", "reopen"])
            if action in ("reply", "customer"):
                author = agent if action == "reply" else t.requester
                ticket_services.message_post(
                    ticket_id=t.pk, author=author, body="x", occurred_at=when, apply_rules=False
                )
            elif action == "solve" and t.status in ("new", "open", "pending", "on_hold"):
                ticket_services.ticket_assign(ticket_id=t.pk, assignee=agent, actor=agent, occurred_at=when)
                ticket_services.ticket_transition(ticket_id=t.pk, target="solved", actor=agent, occurred_at=when)
            elif action == "reopen" and t.status == "solved":
                ticket_services.ticket_transition(ticket_id=t.pk, target="open", actor=agent, occurred_at=when)
    ids = [t.pk for t in tickets]
    as_of = T0 + timedelta(days=5)
    services.metrics_reset()
    with transaction.atomic():
        services.tickets_recompute(ticket_ids=ids, as_of=as_of)
    incremental = _rollups()
    totals = TicketMetrics.objects.filter(ticket_id__in=ids).values_list(
        "sla_next_reply_achieved", "sla_next_reply_breached"
    )
    decided = sum(a + b for a, b in totals)
    assert decided > 0 and sum(b for _, b in totals) > 0  # the history exercises the target
    assert selectors.sla_summary()["by_target"]["next_reply"]["with_outcome"] == decided
    services.metrics_rollups_rebuild()
    assert _rollups() == incremental
