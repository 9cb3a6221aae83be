"""The agent list's Python time (issue #22, session 9): a repeated list
page builds no bulk form (its fields come from the kept fragment, its hidden
`query` is written in Python), reads the rail's saved views without the ORM
compiler and builds the agent's queryset once; every written-out piece is
compared with what it replaces. docs/workspace-list.md, "Fifth round (issue #22, session 9)"."""

import cProfile
import pstats
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from tests.factories import CustomerFactory, ticket_make
from tests.workspace.costs import compiled_statements, forms_built
from tickets import workspace
from tickets.forms import BulkForm
from tickets.models import SavedView, Ticket
from tickets.views.list_rows import hidden_input_html

# Python calls of a repeated agent list page with 20 rows in the test data
# (cProfile's count: deterministic): 29.9k before this round, 19.4k after.
CALLS_LIST = 23_000


@pytest.mark.django_db
def test_repeated_list_page_builds_no_bulk_form(client, queue, agent, monkeypatch):
    """The bulk bar's fields are in a kept fragment: the form (12 fields deep
    copied, its choices from the agents and queues) is built only when that
    fragment is rendered, and the list's own statements are compiled by the
    ORM only for the page (no saved-view statement)."""
    ticket_make(queue=queue, requester=CustomerFactory())
    client.force_login(agent)
    client.get("/agent/tickets/?view=all")
    built = forms_built(monkeypatch)
    compiled = compiled_statements(monkeypatch)
    response = client.get("/agent/tickets/?view=all")
    assert response.status_code == 200 and b'id="bulk_action"' in response.content
    assert built["BulkForm"] == 0, built
    assert built["WorkspaceFilterForm"] == 1, built
    assert not [s for s in compiled if "tickets_savedview" in s], compiled


@pytest.mark.django_db
def test_list_python_calls_are_bounded(client, queue, agent):
    """Python function calls of a repeated agent list page (20 rows, half of
    them with an SLA badge), in `view=mine` and `view=all`."""
    requester = CustomerFactory()
    ids = [ticket_make(queue=queue, requester=requester, subject=f"Request {i}").pk for i in range(20)]
    Ticket.objects.filter(pk__in=ids).update(assignee=agent)
    Ticket.objects.filter(pk__in=ids[:10]).update(sla_due_at=timezone.now() + timedelta(hours=5))
    client.force_login(agent)
    for url in ("/agent/tickets/?view=all", "/agent/tickets/?view=mine"):
        client.get(url)
        profile = cProfile.Profile()
        profile.enable()
        response = client.get(url)
        profile.disable()
        assert response.content.count(b"<tr data-row") == 20
        calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
        assert calls < CALLS_LIST, (url, calls)


@pytest.mark.parametrize("value", ["", "view=mine&sort=updated", "q=a\"b<c>&d'e&view=all", "q=Zoë+%23510"])
def test_bulk_query_markup_is_the_forms(value):
    """The hidden `query` written in Python is what the bulk form renders
    (an empty value has no `value` attribute there either)."""
    form = BulkForm(agents=[], queues=[], initial={"query": value})
    assert str(hidden_input_html(name="query", value=value, id_="bulk_query")) == str(form["query"])


@pytest.mark.django_db
def test_saved_view_rows_are_the_orms(queue, agent):
    """`saved_view_rows_for_user` reads the views `saved_view_list_for_user`
    reads, in its order: the user's own and every shared one, enabled only
    (by position, then name, then id); another agent's private view never."""
    other = User.objects.create_user(email="other@acme.test", password="pw", role="agent")
    manager = User.objects.create_user(email="boss@acme.test", password="pw", role="manager")
    for owner, name, shared, position, active in [
        (agent, "Mine <b>&'x", False, 0, True),
        (agent, "Also mine", False, 0, True),
        (other, "Other's private", False, 0, True),
        (other, "Other's shared", True, 2, True),
        (manager, "Urgent", True, 1, True),
        (manager, "Disabled", True, 0, False),
        (manager, "B shared", True, 1, True),
    ]:
        SavedView.objects.create(owner=owner, name=name, is_shared=shared, position=position, is_active=active)
    for user in (agent, other, manager):
        expected = [(v.pk, v.name, v.is_shared, v.owner_id) for v in workspace.saved_view_list_for_user(user=user)]
        got = [(v.pk, v.name, v.is_shared, v.owner_id) for v in workspace.saved_view_rows_for_user(user=user)]
        assert got == expected, user.email
    names = [v.name for v in workspace.saved_view_rows_for_user(user=agent)]
    assert "Other's private" not in names and "Disabled" not in names


@pytest.mark.django_db
def test_saved_view_changes_show_at_once(client, queue, agent):
    """Nothing about the rail's saved views is kept: a new, renamed or
    disabled view shows on the very next page and on the counts poll."""
    client.force_login(agent)
    view = SavedView.objects.create(owner=agent, name="Before", is_shared=False)
    for url in ("/agent/tickets/?view=all", "/agent/counts/?view=all"):
        assert b"Before" in client.get(url).content
    SavedView.objects.filter(pk=view.pk).update(name="After <i>")
    for url in ("/agent/tickets/?view=all", "/agent/counts/?view=all"):
        page = client.get(url).content
        assert b"After &lt;i&gt;" in page and b"Before" not in page
    SavedView.objects.filter(pk=view.pk).update(is_active=False)
    assert b"After &lt;i&gt;" not in client.get("/agent/tickets/?view=all").content


@pytest.mark.django_db
def test_bound_bulk_form_still_shows_its_values_and_errors(client, queue, agent):
    """A refused bulk action (bound form) renders its own hidden `query`
    and its errors: the written-out markup is for the unbound form only."""
    ticket = ticket_make(queue=queue, requester=CustomerFactory())
    client.force_login(agent)
    response = client.post(
        "/agent/tickets/bulk/",
        {"action": "assign", "ids": [ticket.pk], "query": "view=all&q=x", "next": "/agent/tickets/?view=all"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="bulk-errors"' in page
    assert '<input type="hidden" name="query" value="view=all&amp;q=x" id="bulk_query">' in page


@pytest.mark.django_db
def test_list_head_follows_the_language_at_once(client, queue, agent):
    """The table head is kept per process and language: another language
    shows on the very next page."""
    client.force_login(agent)
    assert "<th>Requester</th>" in client.get("/agent/tickets/?view=all").content.decode()
    User.objects.filter(pk=agent.pk).update(language="de")
    page = client.get("/agent/tickets/?view=all").content.decode()
    assert "<th>Anfragender</th>" in page and "<th>Requester</th>" not in page


@pytest.mark.django_db
def test_bulk_fragment_key_of_the_class_is_the_unbound_forms(queue, agent):
    """The bulk bar's fragment key computed from the class (no form built) is
    the unbound form's key, and never a bound form's."""
    from tickets import selectors
    from tickets.views.list_rows import form_fragment_key

    queues = selectors.queue_rows_for_user(user=agent)
    agents = selectors.agent_list_for_queues([q.pk for q in queues])
    unbound = BulkForm(agents=agents, queues=queues, initial={"query": "view=all"})
    bound = BulkForm({"action": "assign"}, agents=agents, queues=queues)
    key = form_fragment_key(form=BulkForm, queues=queues, agents=agents)
    assert key == form_fragment_key(form=unbound, queues=queues, agents=agents)
    assert key != form_fragment_key(form=bound, queues=queues, agents=agents)
