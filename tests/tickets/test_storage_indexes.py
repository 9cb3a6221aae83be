"""Partial indexes instead of whole-table ones (tickets/migrations/0020, bench/PERF_SECOND_PASS.md
"Storage, second round"): each holds only the rows its queries can match, and each query that
needs one can use it (the query implies the index predicate)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Q

from tests.factories import ticket_make
from tickets import selectors
from tickets.models import KINDS_BY_TIME, REOPEN_EVENT, Message, Ticket, TicketEvent

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="partial indexes and plans: PostgreSQL"),
]

END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=30)


def _indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cur.fetchall())


def _plan(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cur:
        # Test tables are tiny, so a sequential scan is always cheapest: forbid it to see whether
        # the planner can use the index at all, i.e. whether the query implies its predicate.
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cur.fetchall())


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("tickets_ticketevent", "actor_id"),
        ("tickets_ticketevent", "kind"),
        ("tickets_ticket", "merged_into_id"),
        ("tickets_ticket", "follow_up_of_id"),
        ("tickets_message", "email_message_id"),
    ],
)
def test_the_index_of_a_mostly_empty_or_per_ticket_column_is_partial(table, column):
    leading = {
        name: definition
        for name, definition in _indexes(table).items()
        if definition.split(" USING btree (", 1)[-1].startswith(column)
    }
    assert leading, f"no index leads with {table}.{column}"
    for name, definition in leading.items():
        assert " WHERE " in definition, (name, definition)


def test_the_kinds_index_leaves_out_messages_work_sessions_and_creations():
    definition = _indexes("tickets_ticketevent")["event_kind_time"]
    for kind in KINDS_BY_TIME:
        assert f"'{kind}'" in definition
    for kind in ("message.created", "work_session.recorded", "ticket.created"):
        assert kind not in definition and kind not in KINDS_BY_TIME


def test_the_kinds_index_holds_reopens_but_no_other_status_change():
    """bench/STORAGE.md: status changes are 35 % of the log and only reopens are read by time.
    The old whole-kind index is gone; the new one indexes a reopen and skips solved -> closed."""
    assert "event_kind_occurred" not in _indexes("tickets_ticketevent")
    ticket = ticket_make()
    events = {
        name: TicketEvent.objects.create(ticket=ticket, kind=TicketEvent.Kind.STATUS, data={"from": a, "to": b})
        for name, a, b in (("reopen", "solved", "open"), ("close", "solved", "closed"), ("solve", "open", "solved"))
    }
    indexed = set(TicketEvent.objects.filter(pk__in=[e.pk for e in events.values()]).filter(REOPEN_EVENT))
    assert indexed == {events["reopen"]}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM tickets_ticketevent WHERE ticket_id = %s AND ("  # noqa: S608 (the catalogue's own text)
            + _indexes("tickets_ticketevent")["event_kind_time"].split(" WHERE ", 1)[1]
            + ")",
            [ticket.pk],
        )
        assert cur.fetchone()[0] == 1


@pytest.mark.parametrize(
    ("name", "query", "index"),
    [
        (
            "survey tiles: tickets with survey events in a period",
            lambda: TicketEvent.objects.filter(
                kind__in=[TicketEvent.Kind.SURVEY_OFFERED, TicketEvent.Kind.CSAT, TicketEvent.Kind.NPS],
                occurred_at__gte=START,
                occurred_at__lt=END,
            ),
            "event_kind_time",
        ),
        (
            "customer success: reopens and escalations in a period",
            lambda: TicketEvent.objects.filter(occurred_at__gte=START, occurred_at__lt=END).filter(
                REOPEN_EVENT | Q(kind=TicketEvent.Kind.QUEUE, data__escalation=True)
            ),
            "event_kind_time",
        ),
        (
            "erasure: a person's events",
            lambda: TicketEvent.objects.filter(
                Q(ticket_id__in=[1, 2]) | Q(actor_id=3) | Q(kind=TicketEvent.Kind.ASSIGNEE, data__to_email="a@b.c")
            ),
            "event_actor",
        ),
        ("deleting a user: the PROTECT check", lambda: TicketEvent.objects.filter(actor_id__in=[3]), "event_actor"),
        (
            "inbound mail: thread by In-Reply-To",
            lambda: Message.objects.filter(email_message_id__in=["<a@b>", "<c@d>"]),
            "message_email_id",
        ),
        ("merge targets", lambda: Ticket.objects.filter(merged_into_id=1), "ticket_merged_into"),
        ("follow-ups", lambda: Ticket.objects.filter(follow_up_of_id__in=[1]), "ticket_follow_up_of"),
    ],
)
def test_each_query_can_use_its_partial_index(name, query, index):
    assert index in _plan(query()), name


def test_the_survey_metrics_query_uses_the_kinds_index():
    plan = _plan(selectors.survey_events_for_metrics(start=START, end=END, surveys=["csat", "ces", "nps"]))
    assert "event_kind_time" in plan


def test_no_index_duplicates_another_or_serves_no_query():
    """The LIKE-prefix copy of external_id's unique index (lookups are exact) and the tags link's
    ticket_id index (the leading column of its unique index) are gone."""
    assert not [d for d in _indexes("tickets_ticket").values() if "varchar_pattern_ops" in d]
    tags = _indexes("tickets_ticket_tags").values()
    assert [d for d in tags if "UNIQUE" in d and "(ticket_id, tag_id)" in d]
    assert not [d for d in tags if d.endswith("btree (ticket_id)")]
    assert "_uniq" in _plan(Ticket.tags.through.objects.filter(ticket_id=1))  # a ticket's tags: the unique index
