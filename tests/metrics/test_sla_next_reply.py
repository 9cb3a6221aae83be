"""M14 next-reply SLA outcomes per cycle (issue 7): row, rollups (incremental == SQL rebuild), summary, export."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from metrics import selectors, services
from metrics.models import TicketMetrics
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
    assert m.data["sla_next_reply_achieved"] == 1
    mu = TicketMetrics.objects.get(ticket_id=u.pk)
    assert (mu.sla_next_reply_achieved, mu.sla_next_reply_breached) == (0, 1)
    assert mu.sla_next_reply_outcome_at == T0 + timedelta(minutes=70)

    incremental = _rollups()
    nr = {k[3]: v for k, v in incremental.items() if k[4] == "sla_next_reply"}
    assert nr == {agent.pk: (0, 0.0, 1, 2), 0: (0, 0.0, 1, 1)}  # num = breached, den = achieved + breached
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
