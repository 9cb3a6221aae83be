"""The agent list's precomputed rows and its cached form fragments
(tickets/views/list_rows.py, docs/workspace-list.md, issue #22)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ticket_make
from tickets.models import Ticket


def _select(html: str, name: str, form_id: str) -> str:
    form = html[html.index(f'id="{form_id}"') :]
    start = form.index(f'<select name="{name}"')
    return form[start : form.index("</select>", start)]


@pytest.mark.django_db
def test_filter_and_bulk_fragments_are_not_shared_across_queue_membership(agent, other_agent, client):
    for user, mine, theirs in ((agent, "Tech support", "Billing"), (other_agent, "Billing", "Tech support")) * 2:
        client.force_login(user)
        html = client.get("/agent/tickets/?view=all").content.decode()
        for select in (_select(html, "queue", "filter-form"), _select(html, "queue", "bulk-form")):
            assert mine in select and theirs not in select
        assert user.display_name in _select(html, "assignee", "bulk-form")


@pytest.mark.django_db
def test_filter_fragment_follows_the_submitted_values(agent, client):
    client.force_login(agent)
    client.get("/agent/tickets/?view=all&priority=high")
    html = client.get("/agent/tickets/?view=all&priority=low").content.decode()
    assert '<option value="low" selected>' in _select(html, "priority", "filter-form")
    assert '<option value="high" selected>' not in _select(html, "priority", "filter-form")


@pytest.mark.django_db
def test_row_shows_precomputed_values(queue, agent, customer, client):
    ticket = ticket_make(queue=queue, requester=customer, subject="Printer <on> fire")
    due = timezone.now() - timedelta(hours=3)
    Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=due, assignee=agent, priority="urgent")
    solved = ticket_make(queue=queue, requester=customer, subject="Done")
    Ticket.objects.filter(pk=solved.pk).update(status="solved", sla_due_at=due)
    client.force_login(agent)
    html = client.get("/agent/tickets/?view=all").content.decode()
    row = re.search(rf'<tr data-row data-href="/agent/tickets/{ticket.pk}/".*?</tr>', html, re.S).group(0)
    assert f'<a href="/agent/tickets/{ticket.pk}/">#{ticket.pk}</a>' in row
    assert "Printer &lt;on&gt; fire" in row
    assert 'class="badge sla sla-breached badge-warn"' in row and "breached 3h" in row
    assert f">{agent.display_name}<" in row and 'class="prio prio-urgent">Urgent<' in row
    assert f'<time datetime="{timezone.localtime(Ticket.objects.get(pk=ticket.pk).updated_at).isoformat()}"' in row
    done = re.search(rf'<tr data-row data-href="/agent/tickets/{solved.pk}/".*?</tr>', html, re.S).group(0)
    assert '<td data-label="SLA due"><span class="muted">—</span></td>' in done


@pytest.mark.django_db
def test_search_highlights_subject_and_requester(queue, agent, customer, client):
    ticket_make(queue=queue, requester=customer, subject="Refund please")
    client.force_login(agent)
    html = client.get("/agent/tickets/?view=all&q=refund").content.decode()
    assert "<mark>Refund</mark> please" in html
