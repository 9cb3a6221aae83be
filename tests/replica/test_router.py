"""Routing against a real streaming replica (tests/replica/conftest.py):
queries are observed on each server with pg_stat_statements, the standby's
replay is paused to make it lag, and the pages prove read-your-writes."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from helpdesk.lib import db_router
from tests.factories import AgentFactory, CustomerFactory, ManagerFactory, QueueFactory, ticket_make
from tests.replica.conftest import replay_pause, statements, statements_reset, wait_caught_up
from tickets.models import Ticket

pytestmark = [pytest.mark.django_db(transaction=True, databases=["default", "replica"])]

NEW = "/agent/tickets/new/"


@pytest.fixture
def world(replica_pair):
    queue = QueueFactory(slug="tech", name="Tech", kind="support")
    agent = AgentFactory()
    queue.members.add(agent)
    customer = CustomerFactory()
    manager = ManagerFactory()
    ticket = ticket_make(queue=queue, requester=customer, subject="Replicated printer jam")
    wait_caught_up()
    yield {"queue": queue, "agent": agent, "customer": customer, "manager": manager, "ticket": ticket}
    replay_pause(False)


def _text(response) -> str:
    """The page's text (search hits are wrapped in <mark>)."""
    return re.sub(r"<[^>]+>", "", response.content.decode())


def _logged_in(client, user):
    client.force_login(user)
    wait_caught_up()  # the session row too, for views that read it on a replica
    return client


def test_the_replica_is_a_streaming_hot_standby(world):
    with connections["replica"].cursor() as cur:
        cur.execute("SELECT pg_is_in_recovery(), (SELECT count(*) FROM tickets_ticket)")
        assert cur.fetchone() == (True, 1)
    with connections["default"].cursor() as cur:
        cur.execute("SELECT pg_is_in_recovery(), (SELECT count(*) FROM pg_stat_replication)")
        assert cur.fetchone() == (False, 1)


def test_dashboard_drill_down_and_csv_read_from_the_replica(client, world):
    _logged_in(client, world["manager"])
    statements_reset()
    assert client.get("/manager/dashboard/").status_code == 200
    assert statements("replica", "metrics_") > 0
    assert statements("default", "metrics_") == 0  # nothing of the dashboard ran on the primary
    statements_reset()
    csv = client.get("/manager/dashboard/?format=csv&table=trend")
    assert csv.status_code == 200 and b"".join(csv.streaming_content)  # streamed after the view returned
    drill = client.get("/manager/dashboard/drill/?metric=created")
    assert drill.status_code == 200
    assert statements("replica", "metrics_") > 0 and statements("default", "metrics_") == 0


def test_search_event_feed_and_kb_read_from_the_replica(client, world, settings):
    settings.HELPDESK_API_EVENTS_SETTLE_SECONDS = 0
    _logged_in(client, world["agent"])
    statements_reset()
    assert "Replicated printer jam" in _text(client.get("/agent/tickets/?view=all&q=printer"))
    assert client.get("/api/v1/events/?after=0").json()["results"]
    assert client.get("/kb/search/?q=printer").status_code == 200
    assert statements("replica", "tickets_ticketevent") > 0
    assert statements("replica", "tickets_ticket") > 0
    assert statements("replica", "knowledge_base_") > 0
    assert statements("default", "tickets_ticketevent") == 0
    # The search log row is a write: it went to the primary.
    assert statements("default", 'INSERT INTO "knowledge_base_searchlog"') == 1


def test_writes_go_to_the_primary_even_inside_use_replica(world):
    with db_router.use_replica() as target:
        assert target is not None and target.alias == "replica"
        ticket = Ticket.objects.get(pk=world["ticket"].pk)  # read on the standby
        assert ticket._state.db == "replica"
        ticket.subject = "Renamed on the primary"
        ticket.save(update_fields=["subject"])  # a standby would refuse this write
    assert Ticket.objects.get(pk=ticket.pk).subject == "Renamed on the primary"


def _new_ticket(client, world, subject):
    return client.post(
        NEW,
        {
            "how": "phone",
            "requester_email": world["customer"].email,
            "queue": world["queue"].pk,
            "subject": subject,
            "body": "Says it jams.",
            "priority": "normal",
        },
    )


@override_settings(HELPDESK_REPLICA_MAX_LAG_SECONDS=3600)
def test_read_your_writes_after_a_post_while_the_replica_lags(client, world):
    """Replay paused: the replica misses the new ticket. The browser that
    wrote it reads from the primary; another one reads the stale replica;
    once the replica has replayed the write, the writer reads from it again."""
    writer = _logged_in(client, world["agent"])
    from django.test import Client

    other = _logged_in(Client(), world["agent"])
    replay_pause(True)
    response = _new_ticket(writer, world, "Toner everywhere")
    assert response.status_code == 302
    assert re.fullmatch(r"[0-9A-F]+/[0-9A-F]+", response.cookies[db_router.WRITE_COOKIE].value)

    page = "/agent/tickets/?view=all&q=toner"
    statements_reset()
    assert "Toner everywhere" in _text(writer.get(page))  # the primary answered
    assert statements("replica", "tickets_ticket") == 0
    assert "Toner everywhere" not in _text(other.get(page))  # the lagging replica answered
    assert statements("replica", "tickets_ticket") > 0

    replay_pause(False)
    wait_caught_up()
    statements_reset()
    assert "Toner everywhere" in _text(writer.get(page))
    assert statements("replica", "tickets_ticket") > 0 and statements("default", "tickets_ticket") == 0


def test_lag_over_the_bound_reads_from_the_primary_and_as_of_shows_replay_time(client, world, settings):
    _logged_in(client, world["manager"])
    replay_pause(True)
    ticket_make(queue=world["queue"], requester=world["customer"], subject="After the pause")
    import time

    time.sleep(2.5)  # the replica is now > 2 s behind
    with db_router.use_replica() as target:
        assert target is not None
        assert timezone.now() - target.as_of > timedelta(seconds=2)
        html = client.get("/manager/dashboard/").content.decode()
    as_of = re.search(r'data-as-of="([^"]+)"', html).group(1)
    assert timezone.now() - timezone.datetime.fromisoformat(as_of) > timedelta(seconds=2)  # the replica's instant

    settings.HELPDESK_REPLICA_MAX_LAG_SECONDS = 1
    with db_router.use_replica() as target:
        assert target is None  # too far behind: the primary answers
    statements_reset()
    html = client.get("/manager/dashboard/").content.decode()
    assert statements("replica", "metrics_") == 0 and statements("default", "metrics_") > 0
    as_of = re.search(r'data-as-of="([^"]+)"', html).group(1)
    assert timezone.now() - timezone.datetime.fromisoformat(as_of) < timedelta(seconds=2)


def test_metrics_export_reads_from_the_replica(world, capsys):
    statements_reset()
    call_command("metrics_export", "--format", "csv")
    out = capsys.readouterr()
    assert "Reading from replica replica" in out.err
    assert statements("replica", "metrics_ticketmetrics") > 0
    assert statements("default", "metrics_ticketmetrics") == 0


def test_an_unreachable_replica_falls_back_to_the_primary(client, world):
    from tests.replica.pgcluster import free_port

    _logged_in(client, world["manager"])
    replica = connections["replica"]
    replica.close()
    port, replica.settings_dict["PORT"] = replica.settings_dict["PORT"], free_port()
    try:
        with db_router.use_replica() as target:
            assert target is None
        assert client.get("/manager/dashboard/").status_code == 200
    finally:
        replica.close()
        replica.settings_dict["PORT"] = port
