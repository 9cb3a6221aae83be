"""Agent search in the agent's queues (issue #22, fifth round): the search
row carries its ticket's queue (kept by the database, tickets 0023), and an
agent's full-text hits are read from the (queue, document) GIN indexes, so a
word common elsewhere but rare in the agent's queues reads its few hits, not
a walk of the list. Results stay exactly the agent's visible tickets."""

import json
import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from tests.factories import AgentFactory, CustomerFactory, ManagerFactory, QueueFactory, ticket_make
from tickets import search, services
from tickets.models import Message, Queue, Ticket, TicketSearch
from tickets.workspace import workspace_matching_qs, workspace_ticket_page


def _out_of_step() -> list[tuple[int, int | None, int | None]]:
    """Tickets whose search row is missing or names another queue."""
    rows = dict(TicketSearch.objects.values_list("ticket_id", "queue_id"))
    return [(pk, q, rows.get(pk)) for pk, q in Ticket.objects.values_list("pk", "queue_id") if rows.get(pk) != q]


# --- the copy follows every path that sets or changes a ticket's queue ---------------


def _move(t, billing, agent):
    services.ticket_move_queue(ticket_id=t.pk, queue=billing, actor=agent, reason="wrong queue")


def _escalate(t, billing, agent):
    services.ticket_escalate(ticket_id=t.pk, queue=billing, actor=agent, reason="a billing question")


def _properties_panel(t, billing, agent):
    from tickets.operations import ticket_properties_update

    ticket_properties_update(ticket_id=t.pk, actor=agent, queue=billing, reason="a billing question")


def _properties_undo(t, billing, agent):
    from tickets.operations import _last_event_id, ticket_properties_undo, ticket_properties_update

    before = _last_event_id(t.pk)
    ticket_properties_update(ticket_id=t.pk, actor=agent, queue=billing, reason="a billing question")
    assert TicketSearch.objects.get(ticket=t).queue_id == billing.pk
    ticket_properties_undo(ticket_id=t.pk, actor=agent, after_event_id=before)
    assert Ticket.objects.get(pk=t.pk).queue_id == t.queue_id


def _bulk_action(t, billing, agent):
    from tickets.workspace_services import tickets_bulk_apply

    [result] = tickets_bulk_apply(user=agent, ticket_ids=[t.pk], action="update", value={"queue": billing})
    assert result.ok, result


def _macro(t, billing, agent):
    from tickets.macros import macro_apply
    from tickets.models import Macro

    macro = Macro.objects.create(name="To billing", body="Moved.", actions={"queue": billing.pk})
    macro_apply(macro=macro, ticket_id=t.pk, agent=agent)


def _api_escalate(t, billing, agent):
    from django.test import Client

    client = Client()
    client.force_login(agent)
    r = client.post(
        f"/api/v1/tickets/{t.pk}/escalate/",
        {"queue": billing.slug, "reason": "a billing question"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content


def _raw_update(t, billing, agent):
    """Any set-based UPDATE (a future path, a data fix)."""
    Ticket.objects.filter(pk=t.pk).update(queue=billing, kind=billing.kind)


PATHS = [_move, _escalate, _properties_panel, _properties_undo, _bulk_action, _macro, _api_escalate, _raw_update]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS, ids=lambda f: f.__name__.strip("_"))
def test_search_row_follows_a_queue_change(path, queue, service_queue, agent, customer):
    """Each path that moves a ticket leaves its search row in the new queue
    (and only that ticket's row changes)."""
    service_queue.members.add(agent)
    t = ticket_make(queue=queue, requester=customer, subject="Refund for a double charge")
    other = ticket_make(queue=queue, requester=customer, subject="Printer")
    assert TicketSearch.objects.get(ticket=t).queue_id == queue.pk
    path(t, service_queue, agent)
    assert _out_of_step() == []
    expected = Ticket.objects.get(pk=t.pk).queue_id
    assert TicketSearch.objects.get(ticket=t).queue_id == expected
    assert TicketSearch.objects.get(ticket=other).queue_id == queue.pk
    if path is not _properties_undo:
        assert expected == service_queue.pk


@pytest.mark.django_db
def test_search_row_follows_an_sla_reassignment(queue, service_queue, customer):
    from tickets.models import SLAPolicy
    from tickets.sla_services import sla_breach_scan

    policy = SLAPolicy.objects.create(
        name="fast",
        targets={"normal": {"first_response": 60, "business_hours": False}},
        escalations=[{"on": "breach", "action": "reassign", "queue": service_queue.slug}],
    )
    Queue.objects.filter(pk=queue.pk).update(sla_policy=policy)
    t = ticket_make(queue=Queue.objects.get(pk=queue.pk), requester=customer, subject="Refund")
    sla_breach_scan(now=timezone.now() + timedelta(hours=1))
    assert Ticket.objects.get(pk=t.pk).queue_id == service_queue.pk
    assert _out_of_step() == []


@pytest.mark.django_db
def test_search_row_has_the_queue_a_routing_rule_chose(queue, service_queue, customer):
    from tickets.models import RoutingRule

    RoutingRule.objects.create(name="Refunds", keywords=["refund"], set_queue=service_queue, is_active=True)
    t = ticket_make(queue=queue, requester=customer, subject="Refund please", body="refund")
    assert Ticket.objects.get(pk=t.pk).queue_id == service_queue.pk
    assert _out_of_step() == []


@pytest.mark.django_db
def test_search_rows_of_created_split_and_bulk_created_tickets(queue, service_queue, agent, customer):
    from tickets.bulk import tickets_create_many
    from tickets.operations import ticket_split

    t = ticket_make(queue=service_queue, requester=customer, subject="Two questions")
    msg = services.message_post(ticket_id=t.pk, author=customer, body="and a refund")
    ticket_split(ticket_id=t.pk, message_id=msg.pk, actor=ManagerFactory())
    tickets_create_many(
        items=[
            {"subject": f"Bulk {i}", "body": "x", "queue": q, "requester": customer}
            for i, q in enumerate([queue, service_queue, queue])
        ],
        actor=agent,
    )
    assert Ticket.objects.count() == 5
    assert _out_of_step() == []


@pytest.mark.django_db
def test_search_row_written_without_a_queue_takes_its_tickets(queue, customer):
    """A row inserted by code that does not know the column (the previous
    release during a deploy, a bench script) gets the ticket's queue."""
    t = ticket_make(queue=queue, requester=customer)
    TicketSearch.objects.filter(ticket=t).delete()
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO tickets_ticketsearch (ticket_id, public_doc, internal_doc)"
            " VALUES (%s, to_tsvector('english', 'x'), to_tsvector('english', ''))",
            [t.pk],
        )
    assert _out_of_step() == []


def _import(tmp_path, lines):
    path = tmp_path / "lines.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    call_command("import_tickets", str(path), "--create-queues", "kind=support", stdout=StringIO(), stderr=StringIO())


def _line(ext, queue, events=()):
    return {
        "external_id": ext,
        "queue": queue,
        "subject": f"Refund {ext}",
        "priority": "normal",
        "channel": "email",
        "requester": {"email": f"{ext.lower()}@example.com", "name": "Req"},
        "created_at": "2025-11-03T09:00:00Z",
        "description": "Help",
        "events": list(events),
    }


@pytest.mark.django_db
def test_search_rows_follow_the_importer(tmp_path):
    """Import: a queue event in the history (the row is written in the final
    queue), and a re-import that changes an existing ticket's queue (the
    importer's set-based UPDATE)."""
    moved = {"at": "2025-11-03T10:00:00Z", "type": "queue", "to": "tier2"}
    _import(tmp_path, [_line("Q-1", "tier1", [moved]), _line("Q-2", "tier1")])
    assert dict(Ticket.objects.values_list("external_id", "queue__slug")) == {"Q-1": "tier2", "Q-2": "tier1"}
    assert _out_of_step() == []
    _import(tmp_path, [_line("Q-2", "tier1", [{**moved, "at": "2025-11-03T11:00:00Z"}])])
    assert Ticket.objects.get(external_id="Q-2").queue.slug == "tier2"
    assert _out_of_step() == []


@pytest.mark.django_db
def test_migration_backfill_fills_every_row(queue, service_queue, customer):
    """0024's backfill (batched by id) puts every row in its ticket's queue
    and leaves rows already right alone."""
    import importlib

    backfill = importlib.import_module("tickets.migrations.0024_ticketsearch_queue_backfill")
    ids = [ticket_make(queue=q, requester=customer).pk for q in (queue, service_queue, queue)]
    TicketSearch.objects.filter(ticket_id__in=ids[:2]).update(queue_id=None)
    TicketSearch.objects.filter(ticket_id=ids[2]).update(queue_id=service_queue.pk)
    with connection.schema_editor(atomic=False) as editor:
        backfill.backfill(None, editor)
    assert _out_of_step() == []


# --- the plan: hits in the agent's queues, from the composite index -----------------------


def _bulk(*, n, queue, requester, subject, start):
    """n tickets with search rows, newest first from `start` (fast: no services)."""
    rows = Ticket.objects.bulk_create(
        Ticket(
            queue=queue,
            kind=queue.kind,
            requester=requester,
            subject=subject,
            created_at=start - timedelta(minutes=i),
            updated_at=start - timedelta(minutes=i),
        )
        for i in range(n)
    )
    search.ticket_search_refresh(ticket_ids=[t.pk for t in rows])
    return [t.pk for t in rows]


def _page_statement(user, word):
    with CaptureQueriesContext(connection) as ctx:
        page = workspace_ticket_page(user=user, search=word, limit=50)
    pages = [q["sql"] for q in ctx.captured_queries if 'FROM "tickets_ticket"' in q["sql"] and "LIMIT 51" in q["sql"]]
    assert len(pages) == 1, [q["sql"][:200] for q in ctx.captured_queries]
    return pages[0], [t.pk for t in page.items]


def _explain(sql):
    with connection.cursor() as cur:
        cur.execute("ANALYZE tickets_ticket")
        cur.execute("ANALYZE tickets_ticketsearch")
        # The rows just written sit in the GIN indexes' pending lists, which
        # every scan reads whole (and the planner costs so): merge them, as
        # (auto)vacuum does on a live database.
        for index in ("ticket_search_queue_public", "ticket_search_queue_internal"):
            cur.execute("SELECT gin_clean_pending_list(%s::regclass)", [index])
        # A few thousand short test documents fit in ~60 pages, where a scan
        # of the table is cheapest; the bench's 100k rows use the index.
        cur.execute("SET enable_seqscan = off")
        try:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            return cur.fetchone()[0][0]
        finally:
            cur.execute("SET enable_seqscan = on")


def _walk(node):
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


@pytest.mark.django_db
def test_word_common_elsewhere_rare_in_the_agents_queues_reads_its_hits_only(queue, service_queue, agent, customer):
    """ "refund": 1,500 tickets in billing (not the agent's), 12 in the
    agent's queue among 3,000 newer without it. The page reads the 12 from
    the (queue, public_doc) index and fetches them: a few hundred buffers at
    most, whatever the word does in other queues. Before, the 1,512 hits
    (over FEW_MATCHES) took the semi-join walk of the list: every newer
    ticket, a search-row probe each (22,741 buffers on main)."""
    now = timezone.now()
    month_ago = now - timedelta(days=30)
    mine = _bulk(n=12, queue=queue, requester=customer, subject="Refund for a double charge", start=month_ago)
    _bulk(n=3_000, queue=queue, requester=customer, subject="Printer jams", start=now)
    _bulk(n=1_500, queue=service_queue, requester=customer, subject="Refund requested", start=now)
    _bulk(n=4_500, queue=service_queue, requester=customer, subject="Shipping delayed", start=now)
    sql, page = _page_statement(agent, "refund")
    assert sorted(page) == sorted(mine)
    plan = _explain(sql)
    nodes = list(_walk(plan["Plan"]))
    read = [n for n in nodes if n.get("Index Name") == "ticket_search_queue_public"]
    assert read and read[0]["Actual Rows"] == 12, json.dumps(plan)[:3000]  # the agent's hits, not 1,512
    buffers = plan["Plan"]["Shared Hit Blocks"] + plan["Plan"]["Shared Read Blocks"]
    assert buffers < 400, buffers


@pytest.mark.django_db
def test_the_plan_is_chosen_on_the_hits_in_the_agents_queues(queue, service_queue, agent, customer, monkeypatch):
    """The bounded count that picks the plan counts the hits in the agent's
    queues (12 here), not every queue's (1,212): the few-hits plan."""
    monkeypatch.setattr(search, "FEW_MATCHES", 100)
    now = timezone.now()
    _bulk(n=12, queue=queue, requester=customer, subject="Refund", start=now)
    _bulk(n=1_200, queue=service_queue, requester=customer, subject="Refund", start=now)
    sql, page = _page_statement(agent, "refund")
    assert len(page) == 12
    assert " = ANY(ARRAY(SELECT " in sql, sql


@pytest.fixture
def estimate_reset():
    search.few_matches_forget()
    yield
    search.few_matches_forget()


def _pretend_tickets(n):
    """The planner's row estimate of the ticket table, as ANALYZE would leave
    it on a desk of n tickets (rolled back with the test's transaction)."""
    with connection.cursor() as cur:
        cur.execute("UPDATE pg_class SET reltuples = %s WHERE oid = 'tickets_ticket'::regclass", [n])
    search.few_matches_forget()


@pytest.mark.django_db
def test_the_few_hits_threshold_grows_with_the_desk(queue, agent, customer, estimate_reset):
    """1,200 hits in the agent's queue: on a small desk over the 1,000 floor,
    so the walk; on a desk of a million tickets (estimate) under
    sqrt(12 × 1M) = 3,464, so the hits are read (at 1M a word with 2,052
    hits in one queue took 46k buffers by the walk, 18k read directly:
    docs/workspace-list.md)."""
    now = timezone.now()
    _bulk(n=1_200, queue=queue, requester=customer, subject="Webhook retries", start=now)
    _pretend_tickets(5_000)
    assert search.few_matches() == 1_000
    sql, page = _page_statement(agent, "webhook")
    assert " = ANY(ARRAY(SELECT " not in sql, sql
    _pretend_tickets(1_000_000)
    assert search.few_matches() == 3_464
    sql, page_at_1m = _page_statement(agent, "webhook")
    assert " = ANY(ARRAY(SELECT " in sql, sql
    assert page_at_1m == page


# --- the same tickets as before, on random data ----------------------------------------

WORDS = ["refund", "invoice", "printer", "password", "toner", "shipping", "login", "quokka"]


def _random_desk(rng):
    queues = [QueueFactory(kind=rng.choice(["support", "service"])) for _ in range(4)]
    people = [CustomerFactory(name=f"{w.title()} Person") for w in ("walker", "refund")] + [CustomerFactory()]
    agents = []
    for _ in range(4):
        a = AgentFactory()
        for q in rng.sample(queues, rng.randint(0, 3)):
            q.members.add(a)
        agents.append(a)
    actor = ManagerFactory()
    tickets = []
    for _ in range(60):
        words = rng.sample(WORDS, 2)
        t = ticket_make(queue=rng.choice(queues), requester=rng.choice(people), subject=f"About {words[0]}", body="Hi")
        if rng.random() < 0.5:
            vis = rng.choice([Message.Visibility.PUBLIC, Message.Visibility.INTERNAL])
            services.message_post(ticket_id=t.pk, author=actor, body=f"note on {words[1]}", visibility=vis)
        tickets.append(t)
    for t in rng.sample(tickets, 20):
        target = rng.choice([q for q in queues if q.pk != Ticket.objects.get(pk=t.pk).queue_id])
        services.ticket_move_queue(ticket_id=t.pk, queue=target, actor=actor, reason="random move")
    for t in rng.sample(tickets, 5):
        Ticket.objects.filter(pk=t.pk).update(is_spam=True)
    return [*agents, actor]


def _reference(user, word, visible_ids):
    """The old path: hits in every queue, then the access rule."""
    q = search.ticket_search_q(user=user, query=word, queue_ids=None)
    return set(Ticket.objects.filter(pk__in=visible_ids).filter(q).values_list("pk", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("few", [1_000, 2])
def test_same_tickets_as_the_access_rule_on_random_data(few, monkeypatch):
    """For every user and word (both plans: `few` = 2 forces the semi-join):
    the list's search returns exactly the tickets the access rule lets the
    user see among every queue's hits, and the first page is in the same
    order."""
    from tickets.selectors import ticket_list_for_user

    monkeypatch.setattr(search, "FEW_MATCHES", few)
    users = _random_desk(random.Random(22))
    assert _out_of_step() == []
    checked = 0
    for user in users:
        visible = set(ticket_list_for_user(user=user).values_list("pk", flat=True))
        if user.role == User.Role.AGENT:
            # The workspace shows the agent's active queues (as ticket_list_for_user for them).
            assert visible == set(workspace_matching_qs(user=user).values_list("pk", flat=True))
        for word in [*WORDS, "walker", "refund person", "nothing"]:
            got = set(workspace_matching_qs(user=user, search=word).values_list("pk", flat=True))
            expected = _reference(user, word, visible)
            assert got == expected, (user.role, word)
            page = [t.pk for t in workspace_ticket_page(user=user, search=word, limit=5).items]
            ordered = list(Ticket.objects.filter(pk__in=expected).order_by(F("updated_at").desc(), F("id").desc())[:5])
            assert page == [t.pk for t in ordered], (user.role, word)
            checked += len(got)
    assert checked > 50
