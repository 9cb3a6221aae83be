"""#14: the demo showed a dead help desk (one unsolved ticket in the
agent's queues, no macros, no KB categories). seed_demo now adds an open
workload in every queue, macros, KB categories and shared saved views."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import User
from knowledge_base.models import Category
from tickets import workspace
from tickets.importing import demo_live
from tickets.models import Macro, SavedView, Ticket

pytestmark = pytest.mark.django_db


def seed(n=40):
    out = StringIO()
    call_command("seed_demo", tickets=n, seed=5, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_demo_agent_sees_a_help_desk_at_work():
    out = seed()
    assert "0 rejected; 0 events refused" in out
    alex = User.objects.get(email="agent@example.com")
    counts = workspace.workspace_counts(user=alex).views
    assert counts["mine"] >= 4 and counts["unassigned"] >= 4
    assert counts["pending"] >= 2 and counts["on_hold"] >= 2
    assert counts["at_risk"] >= 2 and counts["breached"] >= 2, counts
    for q in workspace.workspace_counts(user=alex).queues:
        assert q["open"] >= len(demo_live.WORKLOAD), q
    live = Ticket.objects.filter(external_id__startswith=demo_live.LIVE_PREFIX)
    assert set(live.values_list("status", flat=True)) == {"new", "open", "pending", "on_hold"}
    assert live.filter(requester__email="customer@example.com").exists()
    assert Macro.objects.filter(is_active=True).count() >= 4
    assert Category.objects.count() >= 4
    assert SavedView.objects.filter(is_shared=True).count() >= 3
    assert Category.objects.get(slug="troubleshooting").articles.exists()


def test_present_is_idempotent_and_additive_to_existing_categories():
    """A category someone else made with the same slug is kept (the KB
    engineer may seed categories too); a second run creates nothing."""
    manager = User.objects.create_user(email="manager@example.com", password="x-Secret-123", role="manager")
    Category.objects.create(name="Start here", slug="getting-started")
    seed()
    assert Category.objects.get(slug="getting-started").name == "Start here"
    before = (Ticket.objects.count(), Macro.objects.count(), Category.objects.count(), SavedView.objects.count())
    again = seed()
    assert "0 live tickets, 0 macros, 0 KB categories, 0 shared views created" in again
    after = (Ticket.objects.count(), Macro.objects.count(), Category.objects.count(), SavedView.objects.count())
    assert before == after and manager.pk
