"""Rendering cost of the agent list and the agent ticket page (issue #22),
bounded in a load-independent way: template nodes rendered per page (flat in
the number of rows), field templates rendered on a repeated ticket view, the
rows' markup equal to what the template loop wrote, fragment keys that
cover language, values, choices and boundness. docs/workspace-list.md,
"Rendering cost of the list"."""

from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.template import Context, Template, base
from django.utils import timezone, translation

from tests.factories import CustomerFactory, OrganisationFactory, ticket_make
from tickets.forms import AgentReplyForm, AssignForm, TicketPropertiesForm
from tickets.models import Ticket
from tickets.views.fragments import form_fields_fragment
from tickets.views.list_rows import list_rows, rows_html

# The row loop of tickets/agent/ticket_list.html before the rows were written
# in Python (commit 629547f): the reference rows_html must reproduce.
TEMPLATE_ROWS = """{% load i18n workspace_tags %}{% for r in rows %}
          <tr data-row data-href="{{ r.url }}" class="kind-row-{{ r.kind }}">
            <td class="cell-select"><input type="checkbox" name="ids" value="{{ r.pk }}" aria-label="{% blocktranslate with pk=r.pk %}Select #{{ pk }}{% endblocktranslate %}"{% if r.selected %} checked{% endif %}></td>
            <td class="cell-id"><a href="{{ r.url }}">#{{ r.pk }}</a></td>
            <td class="cell-subject"><a href="{{ r.url }}" class="subject">{{ r.subject }}</a>
              {% if r.result %}<span class="bulk-row-result {% if r.result.ok %}ok{% else %}failed{% endif %}">{{ r.result.message }}</span>{% endif %}</td>
            <td data-label="{% translate 'Requester' %}">{{ r.requester }}{% if r.organisation %} <span class="muted">· {{ r.organisation }}</span>{% endif %}</td>
            <td data-label="{% translate 'Status' %}"><span class="status status-{{ r.status }}">{{ r.status_label }}</span></td>
            <td data-label="{% translate 'Priority' %}"><span class="prio prio-{{ r.priority }}">{{ r.priority_label }}</span></td>
            <td data-label="{% translate 'Queue' %}"><span class="kind-dot kind-{{ r.kind }}"></span>{{ r.queue }} <span class="kind-label">{{ r.kind|kind_label }}</span></td>
            <td data-label="{% translate 'Assignee' %}">{% if r.assignee %}{{ r.assignee }}{% else %}<span class="muted">—</span>{% endif %}</td>
            <td data-label="{% translate 'SLA due' %}">{% if r.sla_text %}<span class="badge sla sla-{{ r.sla_state }}{% if r.sla_state == "breached" %} badge-warn{% endif %}" title="{% blocktranslate with due=r.sla_due %}SLA due {{ due }}{% endblocktranslate %}">{{ r.sla_text }}</span>{% else %}<span class="muted">—</span>{% endif %}</td>
            <td data-label="{% translate 'Updated' %}"><time datetime="{{ r.updated_iso }}">{{ r.updated }}</time></td>
          </tr>{% endfor %}"""  # noqa: E501


def _squash(html: str) -> str:
    """Whitespace between tags and runs of blanks do not change the page."""
    import re

    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", html)).strip()


def _tickets(queue, agent):
    org = OrganisationFactory(name='Acme & "Sons" <Ltd>')
    requester = CustomerFactory(name="Zoë <b>Login</b> Smith", organisation=org)
    now = timezone.now()
    tickets = [
        ticket_make(queue=queue, requester=requester, subject='Login fails & <script>"x"</script>'),
        ticket_make(queue=queue, requester=requester, subject="Printer login"),
        ticket_make(queue=queue, requester=requester, subject="Invoice"),
    ]
    Ticket.objects.filter(pk=tickets[0].pk).update(sla_due_at=now - timedelta(hours=3), priority="urgent")
    Ticket.objects.filter(pk=tickets[1].pk).update(
        sla_due_at=now + timedelta(minutes=30), status="pending", assignee=agent
    )
    Ticket.objects.filter(pk=tickets[2].pk).update(sla_due_at=now + timedelta(days=2), status="solved")
    return list(
        Ticket.objects.select_related("queue", "requester__organisation", "assignee").filter(
            pk__in=[t.pk for t in tickets]
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de", "es"])
@pytest.mark.parametrize("terms", [[], ["login"]])
def test_rows_html_is_the_markup_the_template_wrote(queue, agent, language, terms):
    tickets = _tickets(queue, agent)
    results = {
        tickets[0].pk: SimpleNamespace(ok=True, message="Updated <ok>"),
        tickets[1].pk: SimpleNamespace(ok=False, message='Refused: "no"'),
    }
    now = timezone.now()
    with translation.override(language):
        rows = list_rows(tickets, terms=terms, selected_ids={tickets[1].pk}, results_by_id=results, now=now)
        ours = rows_html(rows)
        theirs = Template(TEMPLATE_ROWS).render(Context({"rows": rows}))
    assert _squash(ours) == _squash(theirs)
    assert "<script>" not in ours and "&lt;script&gt;" in ours
    if terms:
        assert "<mark>Login</mark>" in ours


def _count_nodes(monkeypatch) -> Counter:
    """Template nodes rendered, by template name (Django's own Node method
    wrapped: nothing of ours is replaced)."""
    seen: Counter = Counter()
    original = base.Node.render_annotated

    def counting(self, context):
        seen[getattr(getattr(self, "origin", None), "template_name", None) or "?"] += 1
        return original(self, context)

    monkeypatch.setattr(base.Node, "render_annotated", counting)
    return seen


def _bulk(queue, n, requester):
    now = timezone.now()
    Ticket.objects.bulk_create(
        [
            Ticket(
                subject=f"Row {i}",
                queue=queue,
                kind=queue.kind,
                requester=requester,
                status="open",
                updated_at=now - timedelta(seconds=i),
                created_at=now - timedelta(seconds=i),
                sla_due_at=now + timedelta(minutes=i - 20),
            )
            for i in range(n)
        ]
    )


@pytest.mark.django_db
def test_list_template_work_is_flat_in_the_rows(client, queue, agent, monkeypatch):
    """The page renders the same number of template nodes for 5 rows as for
    50: no per-row template work (it was ~40 nodes a row, then ~33)."""
    requester = CustomerFactory()
    client.force_login(agent)
    _bulk(queue, 5, requester)
    client.get("/agent/tickets/?view=all")  # warm the form fragments
    seen = _count_nodes(monkeypatch)
    response = client.get("/agent/tickets/?view=all")
    few = sum(seen.values())
    assert response.content.count(b"<tr data-row") == 5
    _bulk(queue, 45, requester)
    seen.clear()
    response = client.get("/agent/tickets/?view=all")
    many = sum(seen.values())
    assert response.content.count(b"<tr data-row") == 50
    assert many == few, (few, many)
    assert many < 400, seen.most_common(10)


@pytest.mark.django_db
def test_a_repeated_ticket_view_renders_no_form_field_templates(client, queue, agent, customer, monkeypatch):
    """The properties, reply, time and link fields come from the fragment
    cache on the second view of an unchanged ticket, and the page is the same."""
    from django.template import loader_tags

    ticket = ticket_make(queue=queue, requester=customer, subject="Cached fields")
    client.force_login(agent)
    url = f"/agent/tickets/{ticket.pk}/"
    first = client.get(url).content.decode()
    includes: Counter = Counter()
    original = loader_tags.IncludeNode.render

    def counting(self, context):
        includes[str(self.template.var)] += 1
        return original(self, context)

    monkeypatch.setattr(loader_tags.IncludeNode, "render", counting)
    second = client.get(url).content.decode()
    assert includes["components/field.html"] == 0, includes
    import re

    token = r"[A-Za-z0-9]{64}"  # the masked CSRF token differs per response
    assert re.sub(token, "", first) == re.sub(token, "", second)
    assert 'name="prop-status"' in second and 'name="body"' in second and 'name="minutes"' in second


@pytest.mark.django_db
def test_ticket_page_choices_are_read_once(client, queue, agent, customer, django_assert_max_num_queries):
    """The queue select used to query twice (its choices and the "required"
    check), the assignee select once, each through a server-side cursor."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ticket = ticket_make(queue=queue, requester=customer)
    client.force_login(agent)
    with CaptureQueriesContext(connection) as ctx:
        client.get(f"/agent/tickets/{ticket.pk}/")
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert not [s for s in sqls if s.startswith("DECLARE")], "choices iterated on render"
    assert sum('FROM "tickets_queue"' in s and "ORDER BY" in s and "tickets_queue" in s[:200] for s in sqls) <= 2


@pytest.mark.django_db
def test_fragment_keys_cover_language_values_choices_and_boundness(queue, agent, customer):
    ticket = ticket_make(queue=queue, requester=customer)
    members = agent.__class__.objects.filter(pk=agent.pk)
    from tickets.models import Queue

    def props(**kwargs):
        return TicketPropertiesForm(ticket=ticket, members=members, queues=Queue.objects.all(), **kwargs)

    key, timeout = form_fields_fragment(props())
    assert timeout > 0
    with translation.override("de"):
        assert form_fields_fragment(props())[0] != key
    Ticket.objects.filter(pk=ticket.pk).update(priority="urgent")
    ticket.refresh_from_db()
    assert form_fields_fragment(props())[0] != key  # another value
    agent.name = "Renamed Agent"
    agent.save()
    assert form_fields_fragment(props())[0] != key  # another choice label
    bound_key, bound_timeout = form_fields_fragment(AgentReplyForm({"body": "x", "visibility": "public"}))
    assert bound_timeout == 0 and bound_key != form_fields_fragment(AgentReplyForm())[0]
    # A ModelChoiceField that queries on render cannot be keyed: never cached.
    assert form_fields_fragment(AssignForm(members=members))[1] == 0
    # A macro's text in the reply box is part of the key.
    with_macro = form_fields_fragment(AgentReplyForm(initial={"body": "Hello"}))[0]
    assert with_macro != form_fields_fragment(AgentReplyForm())[0]


@pytest.mark.django_db
def test_fragments_render_when_redis_is_down(client, settings, queue, agent, customer):
    """The fragment cache is an optimisation: with Redis configured but not
    answering, the list and the ticket page render their fields uncached
    (Django's own tag would let the cache error through: a 500)."""
    import socket

    from helpdesk.lib.breaker import cache_breaker
    from helpdesk.lib.cache import redis_cache_config

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.CACHES = {"default": redis_cache_config(f"redis://127.0.0.1:{port}/0", timeout=0.5)}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    cache_breaker.reset()
    try:
        ticket = ticket_make(queue=queue, requester=customer)
        client.force_login(agent)
        listing = client.get("/agent/tickets/?view=all")
        assert listing.status_code == 200 and b'id="bulk_status"' in listing.content
        page = client.get(f"/agent/tickets/{ticket.pk}/")
        assert page.status_code == 200
        assert b'name="prop-status"' in page.content and b'name="visibility"' in page.content
    finally:
        cache_breaker.reset()
