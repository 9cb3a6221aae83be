"""Cost of viewing the agent ticket page (issue #22, bench/TICKET_PAGE.md
"Third round"), bounded in load-independent ways: statements per view (the
same for a short and a long history), message bodies converted once per
process, the select fields of a ticket seen for the first time taken from
the fragment cache, the linked-tickets card and the assignee choices read
without their costly forms. Each of these failed before that round."""

from datetime import timedelta

import markdown
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.lib.markdown import render_body
from tests.factories import AgentFactory, CustomerFactory, QueueFactory, ticket_make
from tests.workspace.costs import compiled_statements, count_includes
from tickets import selectors, services
from tickets.models import Message, Ticket

# Statements of one view of a ticket by an agent (warm process): session,
# user, two-factor device and policy, the ticket, macros, SLA refresh mark,
# tags, messages, attachments, events, names of assignees in the events,
# CCs, assignee and queue choices, linked ids, other requests, the menu's
# customer-success check, held mail. 20 before this round (the newest event
# id and the merged tickets' ids were two more statements).
VIEW_STATEMENTS = 18


def _history(ticket: Ticket, agent, customer, other_agent, rounds: int) -> None:
    """`rounds` x (customer message, internal note with a link, reply,
    assignment back and forth, a work session): every kind the timeline
    writes a line for, so a longer history has more of each, not new kinds."""
    start = timezone.now() - timedelta(days=2)
    for i in range(rounds):
        services.message_post(ticket_id=ticket.pk, author=customer, body=f"Still broken ({i})")
        services.message_post(
            ticket_id=ticket.pk,
            author=agent,
            body=f"*Note* {i}: see [the runbook](https://example.com/r/{i})",
            visibility=Message.Visibility.INTERNAL,
        )
        services.message_post(ticket_id=ticket.pk, author=agent, body=f"Reply **{i}**")
        services.ticket_assign(ticket_id=ticket.pk, assignee=other_agent if i % 2 else agent, actor=agent)
        services.work_session_record(
            ticket_id=ticket.pk,
            agent=agent,
            started_at=start + timedelta(hours=i),
            ended_at=start + timedelta(hours=i, minutes=5),
        )


def _view_statements(client, ticket: Ticket) -> list[str]:
    url = f"/agent/tickets/{ticket.pk}/"
    client.get(url)  # warm: fragment caches, rendered bodies
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.django_db
def test_view_statements_do_not_grow_with_the_history(client, queue, agent, customer):
    """A ticket with 3 rounds and one with 25 rounds (125 timeline lines)
    cost the same statements, within the budget, and show every line: no
    statement per message, event, attachment or person."""
    other_agent = AgentFactory()
    queue.members.add(other_agent)
    short, long = ticket_make(queue=queue, requester=customer), ticket_make(queue=queue, requester=customer)
    _history(short, agent, customer, other_agent, 3)
    _history(long, agent, customer, other_agent, 25)
    client.force_login(agent)
    few, many = _view_statements(client, short), _view_statements(client, long)
    assert len(few) == len(many) <= VIEW_STATEMENTS, many
    page = client.get(f"/agent/tickets/{long.pk}/").content.decode()
    assert page.count('class="msg ') == 1 + 3 * 25  # description + three messages a round
    assert page.count("msg-internal") == 25  # internal notes are shown to staff


@pytest.mark.django_db
def test_live_marker_is_the_newest_event_shown(client, queue, agent, customer):
    """The page's live marker (data-live-last, the reply form's seen_event)
    is the newest event of the ticket, read with the timeline itself."""
    ticket = ticket_make(queue=queue, requester=customer)
    services.message_post(ticket_id=ticket.pk, author=customer, body="More")
    newest = ticket.events.order_by("-id").values_list("id", flat=True).first()
    client.force_login(agent)
    page = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    assert f'data-live-last="{newest}"' in page and f'name="seen_event" value="{newest}"' in page
    messages_only = client.get(f"/agent/tickets/{ticket.pk}/?show=messages").content.decode()
    assert f'data-live-last="{newest}"' in messages_only


@pytest.mark.django_db
def test_merged_tickets_messages_are_shown_with_one_read(client, queue, agent, customer):
    """Messages of a ticket merged into this one are on its timeline (read
    in the same statement as the ticket's own); a customer still sees only
    public ones on the portal."""
    target = ticket_make(queue=queue, requester=customer, body="Target description")
    source = ticket_make(queue=queue, requester=customer, body="Source description")
    services.message_post(ticket_id=source.pk, author=agent, body="Secret note", visibility=Message.Visibility.INTERNAL)
    Ticket.objects.filter(pk=source.pk).update(merged_into=target)
    client.force_login(agent)
    page = client.get(f"/agent/tickets/{target.pk}/").content.decode()
    assert "Source description" in page and "Secret note" in page
    statements = _view_statements(client, target)
    assert sum('FROM "tickets_message"' in s for s in statements) == 1
    client.force_login(customer)
    portal = client.get(f"/portal/tickets/{target.pk}/").content.decode()
    assert "Source description" in portal and "Secret note" not in portal


@pytest.mark.django_db
def test_message_bodies_are_converted_once_per_process(client, queue, agent, customer, monkeypatch):
    """A second view converts no Markdown; an edited (e.g. redacted) body is
    another key, so the page never shows the old text."""
    ticket = ticket_make(queue=queue, requester=customer, body="Unique body 7f3a *x*")
    for i in range(5):
        services.message_post(ticket_id=ticket.pk, author=agent, body=f"Unique reply 7f3a {i}")
    client.force_login(agent)
    url = f"/agent/tickets/{ticket.pk}/"
    client.get(url)
    converted: list[str] = []
    original = markdown.Markdown.convert

    def counting(self, source):
        converted.append(source)
        return original(self, source)

    monkeypatch.setattr(markdown.Markdown, "convert", counting)
    assert "Unique reply 7f3a 4" in client.get(url).content.decode()
    assert converted == []
    Message.objects.filter(ticket=ticket, body="Unique reply 7f3a 4").update(body="[redacted]")
    page = client.get(url).content.decode()
    assert "[redacted]" in page and "Unique reply 7f3a 4" not in page
    assert converted == ["[redacted]"]


@pytest.mark.parametrize("body_format", ["markdown", "html", "plain"])
def test_cached_bodies_are_the_sanitised_rendering(body_format):
    """The kept converter and cleaner give what a fresh Markdown instance and
    nh3.clean gave, twice in a row (no state carried between texts: a
    reference link defined in one text does not resolve in the next)."""
    import nh3

    from helpdesk.lib import markdown as lib
    from helpdesk.lib.markdown import render_body_cached

    texts = [
        "[a][1]\n\n[1]: https://example.com/one",
        "[a][1]",
        '<script>alert(1)</script><a href="javascript:x" onclick="y">l</a> **b**',
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\n<b>code</b>\n```",
        "line one\nline two <!-- hidden --> <img src=x onerror=alert(1)>",
        "",
    ]

    def fresh(text: str) -> str:
        if body_format == "plain":
            return str(render_body(text, "plain"))
        html = text if body_format == "html" else markdown.markdown(text, extensions=lib.EXTENSIONS)
        return nh3.clean(
            html,
            tags=lib.ALLOWED_TAGS,
            attributes=lib.ALLOWED_ATTRIBUTES,
            url_schemes=lib.ALLOWED_URL_SCHEMES,
            link_rel="noopener noreferrer nofollow ugc",
            strip_comments=True,
        )

    for _ in range(2):
        for text in texts:
            assert str(render_body(text, body_format)) == fresh(text)
            assert str(render_body_cached(text, body_format)) == fresh(text)
    assert "<script" not in str(render_body_cached(texts[2], body_format))


@pytest.mark.django_db
def test_first_view_of_a_ticket_reuses_the_select_fields(client, queue, agent, customer, monkeypatch):
    """The properties panel is cached per field by value and choices: a
    ticket seen for the first time, with the status, priority, assignee and
    queue of one seen before but its own tags, renders only its tags field
    (the whole panel before), and its panel is the one an uncached render
    gives."""
    from tickets.models import Tag

    first = ticket_make(queue=queue, requester=customer, subject="First")
    second = ticket_make(queue=queue, requester=customer, subject="Second")
    second.tags.add(Tag.objects.create(name="vip-7f3a"))
    client.force_login(agent)
    client.get(f"/agent/tickets/{first.pk}/")
    includes = count_includes(monkeypatch)
    cached = client.get(f"/agent/tickets/{second.pk}/").content.decode()
    assert includes["components/field.html"] == 1, includes  # tags
    monkeypatch.undo()
    from django.core.cache import cache

    from tickets.templatetags import fragment_cache

    fragment_cache.LOCAL.clear()
    cache.clear()
    fresh = client.get(f"/agent/tickets/{second.pk}/").content.decode()

    def panel(html: str) -> str:
        import re

        start = html.index('id="properties-panel"')
        return re.sub(r"[A-Za-z0-9]{64}", "", html[start : html.index("</section>", start)])

    assert panel(cached) == panel(fresh)
    assert 'name="prop-status"' in cached and 'name="initial-prop-status"' in cached
    assert 'value="vip-7f3a"' in cached


@pytest.mark.django_db
def test_select_fields_follow_each_tickets_values(client, queue, agent, customer):
    """Per-field fragments never show another ticket's value."""
    urgent = ticket_make(queue=queue, requester=customer)
    Ticket.objects.filter(pk=urgent.pk).update(priority="urgent", status="pending")
    plain = ticket_make(queue=queue, requester=customer)
    client.force_login(agent)
    for ticket, priority, status in ((plain, "normal", "new"), (urgent, "urgent", "pending"), (plain, "normal", "new")):
        html = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
        assert f'<option value="{priority}" selected>' in html
        assert f'<option value="{status}" selected>' in html


@pytest.mark.django_db
def test_linked_tickets_card_without_links_compiles_no_access_query(client, queue, agent, customer, monkeypatch):
    """Most tickets have no link: the card asks for linked ids in one plain
    statement; with links, only those the agent may see are listed."""
    ticket = ticket_make(queue=queue, requester=customer)
    client.force_login(agent)
    url = f"/agent/tickets/{ticket.pk}/"
    client.get(url)
    compiled = compiled_statements(monkeypatch)
    assert client.get(url).status_code == 200
    assert not [s for s in compiled if "tickets_ticket_related" in s], compiled
    monkeypatch.undo()
    visible = ticket_make(queue=queue, requester=customer, subject="Visible linked")
    hidden = ticket_make(queue=QueueFactory(), requester=customer, subject="Hidden linked")
    ticket.related.add(visible, hidden)
    page = client.get(url).content.decode()
    assert "Visible linked" in page and f"#{visible.pk}" in page
    assert "Hidden linked" not in page and f"#{hidden.pk} " not in page


@pytest.mark.django_db
def test_assignee_choices_are_read_by_member_ids(queue, service_queue, agent, manager, customer):
    """The queue's active staff plus the actor; no customer, no inactive or
    other queue's agent; read as `id IN (members UNION actor)`, not a join
    over every user with DISTINCT (which scanned the customers)."""
    inactive = AgentFactory(is_active=False)
    queue.members.add(inactive)
    elsewhere = AgentFactory()
    service_queue.members.add(elsewhere)
    queue.members.add(customer)  # a stray membership of a customer
    ticket = ticket_make(queue=queue, requester=customer)
    choices = selectors.assignee_list_for_ticket(user=manager, ticket=ticket)
    assert set(choices) == {agent, manager}
    assert list(choices) == sorted(choices, key=lambda u: (u.name, u.email))
    assert set(selectors.assignee_list_for_ticket(user=agent, ticket=ticket)) == {agent}
    import re

    sql = str(choices.query).upper()
    assert "SELECT DISTINCT" not in sql and " UNION " in sql and not re.search(r"\bJOIN\b", sql), sql
    assert CustomerFactory() not in choices


def _copies(ticket: Ticket, n: int, **fields) -> list[Ticket]:
    """`n` plain rows like `ticket` (no events: the card reads the table
    only), one minute apart going back, with `fields` changed."""
    base = {f.attname: getattr(ticket, f.attname) for f in Ticket._meta.concrete_fields if not f.primary_key}
    rows = [
        Ticket(**{**base, "external_id": None, "created_at": ticket.created_at - timedelta(minutes=i + 1), **fields})
        for i in range(n)
    ]
    return Ticket.objects.bulk_create(rows)


def _card_rows_read(user, ticket: Ticket) -> int:
    """Rows PostgreSQL read from the tickets table for the card (returned
    or filtered out, over every loop), from EXPLAIN ANALYZE of its
    statement; sequential scans off, as on a large table."""
    with CaptureQueriesContext(connection) as ctx:
        list(selectors.ticket_requester_other_tickets(user=user, ticket=ticket))
    (sql,) = [q["sql"] for q in ctx.captured_queries]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0][0]["Plan"]

    def rows(node) -> int:
        own = 0
        if node.get("Relation Name") == "tickets_ticket":
            kept = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
            own = kept * node.get("Actual Loops", 1)
        return own + sum(rows(child) for child in node.get("Plans", []))

    return rows(plan)


@pytest.mark.django_db
def test_other_requests_card_reads_rows_bounded_by_its_length(queue, service_queue, agent, customer):
    """ "Other requests from ...": the agent sees the requester's 3 tickets
    of their queue, listed newest first; the 80 the requester has in a queue
    the agent does not work in (and spam/deleted ones) are never read, so a
    requester with thousands of tickets elsewhere costs what one with a few
    does. Before, the statement walked every ticket of the requester newest
    first through the queue filter (83 rows read here)."""
    ticket = ticket_make(queue=queue, requester=customer)
    mine = _copies(ticket, 3)
    few = _card_rows_read(agent, ticket)
    _copies(ticket, 80, queue_id=service_queue.pk, kind=service_queue.kind, created_at=ticket.created_at)
    _copies(ticket, 5, is_spam=True)
    _copies(ticket, 5, is_deleted=True)
    many = _card_rows_read(agent, ticket)
    assert many == few <= 10 + 1, (few, many)
    listed = selectors.ticket_requester_other_tickets(user=agent, ticket=ticket)
    assert [t.pk for t in listed] == [t.pk for t in mine]


@pytest.mark.django_db
def test_other_requests_card_lists_what_the_access_rule_allows(client, queue, service_queue, agent, manager, customer):
    """The card is the requester's newest visible tickets but this one, at
    most 10, as the access rule (selectors.ticket_list_for_user) decides:
    an agent's queues only, every queue for a manager, never spam or
    deleted ones; ties on the creation instant newest id first; another
    requester's tickets never."""
    ticket = ticket_make(queue=queue, requester=customer)
    _copies(ticket, 6)
    _copies(ticket, 6, queue_id=service_queue.pk, kind=service_queue.kind)
    _copies(ticket, 2, is_spam=True)
    _copies(ticket, 2, is_deleted=True, created_at=ticket.created_at)
    _copies(ticket, 3, created_at=ticket.created_at)  # ties with the ticket itself
    _copies(ticket, 2, requester_id=CustomerFactory().pk)
    for user in (agent, manager):
        expected = list(
            selectors.ticket_list_for_user(user=user)
            .filter(requester_id=customer.pk)
            .exclude(pk=ticket.pk)
            .order_by("-created_at", "-id")
            .values_list("pk", "subject", "status")[:10]
        )
        listed = selectors.ticket_requester_other_tickets(user=user, ticket=ticket)
        assert [(t.pk, t.subject, t.status) for t in listed] == expected and len(expected) == (
            9 if user == agent else 10
        )
    client.force_login(agent)
    page = client.get(f"/agent/tickets/{ticket.pk}/").content.decode()
    card = page[page.index("Other requests from") :]
    assert card.count("<li>") >= 9 and f"/agent/tickets/{ticket.pk}/" not in card[: card.index("</section>")]


@pytest.mark.django_db
def test_sla_problem_check_reads_one_statement_and_sees_changes_at_once(client, manager, customer):
    """A ticket without due instants in a queue with a policy asks the
    clock context whether the SLA is computable: its cache key is one
    statement (five before), and a calendar version written behind the
    services' back, or removed again, shows on the next view."""
    from tickets.models import Calendar, CalendarVersion, SLAPolicy

    nine_five = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    calendar = Calendar.objects.create(name="Office", timezone="Europe/Paris", hours=nine_five)
    policy = SLAPolicy.objects.create(
        name="Gold", pause_statuses=["pending"], targets={"normal": {"first_response": 3600, "business_hours": True}}
    )
    queue = QueueFactory(kind="support", calendar=calendar, sla_policy=policy)
    ticket = ticket_make(queue=queue, requester=customer)
    Ticket.objects.filter(pk=ticket.pk).update(status="solved", sla_due_at=None)
    client.force_login(manager)
    statements = _view_statements(client, ticket)
    clock_tables = ("tickets_calendar", "tickets_slapolicy", "tickets_queuecalendarchange")
    assert len([s for s in statements if any(f'"{t}"' in s for t in clock_tables)]) == 1, statements
    url = f"/agent/tickets/{ticket.pk}/"
    assert "SLA not computable" not in client.get(url).content.decode()
    never_open = {"timezone": "Europe/Paris", "hours": {}, "holidays": [], "overrides": []}
    version = CalendarVersion.objects.create(calendar=calendar, effective_from=None, **never_open)
    assert "SLA not computable" in client.get(url).content.decode()
    version.delete()
    assert "SLA not computable" not in client.get(url).content.decode()
