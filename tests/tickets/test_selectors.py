"""Access control: who sees which ticket, message and event."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from tests.factories import CustomerFactory, OrganisationFactory, ticket_make
from tickets import selectors, services


@pytest.fixture
def tickets(db, queue, service_queue, customer, other_customer, agent):
    own = ticket_make(queue=queue, requester=customer, subject="own")
    foreign = ticket_make(queue=service_queue, requester=other_customer, subject="foreign")
    services.message_post(ticket_id=own.pk, author=agent, body="SECRET internal", visibility="internal")
    services.message_post(ticket_id=own.pk, author=agent, body="public answer")
    return own, foreign


def visible(user):
    return set(selectors.ticket_list_for_user(user=user).values_list("subject", flat=True))


@pytest.mark.django_db
def test_customer_sees_only_own(tickets, customer, other_customer):
    assert visible(customer) == {"own"}
    assert visible(other_customer) == {"foreign"}
    _own, foreign = tickets
    with pytest.raises(Http404):
        selectors.ticket_get_for_user(user=customer, ticket_id=foreign.pk)


@pytest.mark.django_db
def test_agent_sees_member_queues_only(tickets, agent, other_agent):
    assert visible(agent) == {"own"}
    assert visible(other_agent) == {"foreign"}


@pytest.mark.django_db
def test_manager_sees_all(tickets, manager):
    assert visible(manager) == {"own", "foreign"}


@pytest.mark.django_db
def test_anonymous_and_inactive_see_nothing(tickets, customer):
    assert visible(AnonymousUser()) == set()
    customer.is_active = False
    assert visible(customer) == set()


@pytest.mark.django_db
def test_cc_sees_ticket(tickets, agent):
    own, _ = tickets
    cc = CustomerFactory()
    services.ticket_set_ccs(ticket_id=own.pk, ccs=[cc], actor=agent)
    assert visible(cc) == {"own"}


@pytest.mark.django_db
@pytest.mark.parametrize("shares", [True, False])
def test_organisation_sharing(shares, queue):
    org = OrganisationFactory(shares_tickets=shares)
    alice = CustomerFactory(organisation=org)
    bob = CustomerFactory(organisation=org)
    ticket_make(queue=queue, requester=alice, subject="alice's")
    assert visible(bob) == ({"alice's"} if shares else set())


@pytest.mark.django_db
def test_internal_notes_never_reach_customers(tickets, customer, agent):
    own, _ = tickets
    bodies = [m.body for m in selectors.message_list_for_ticket(user=customer, ticket=own)]
    assert "SECRET internal" not in bodies and "public answer" in bodies
    events = selectors.event_list_for_ticket(user=customer, ticket=own)
    assert all(e.visibility != "internal" for e in events)
    assert not any(e.kind == "message.created" for e in events)
    staff = [m.body for m in selectors.message_list_for_ticket(user=agent, ticket=own)]
    assert "SECRET internal" in staff


@pytest.mark.django_db
def test_spam_and_deleted_hidden_from_lists(tickets, agent, customer):
    own, _ = tickets
    services.ticket_mark_spam(ticket_id=own.pk, actor=agent)
    assert visible(customer) == set() and visible(agent) == set()
    with pytest.raises(Http404):
        selectors.ticket_get_for_user(user=customer, ticket_id=own.pk)
    assert selectors.ticket_get_for_user(user=agent, ticket_id=own.pk) == own


@pytest.mark.django_db
@pytest.mark.parametrize("bad_id", ["abc", None, 10**30, -1])
def test_bad_ids_are_404(bad_id, customer):
    with pytest.raises(Http404):
        selectors.ticket_get_for_user(user=customer, ticket_id=bad_id)


@pytest.mark.django_db
def test_merged_messages_visible_on_target(agent, customer, queue):
    source = ticket_make(queue=queue, requester=customer, body="from the duplicate")
    target = ticket_make(queue=queue, requester=customer, body="original")
    services.ticket_merge(source_id=source.pk, target_id=target.pk, actor=agent)
    bodies = [m.body for m in selectors.message_list_for_ticket(user=customer, ticket=target)]
    assert bodies == ["from the duplicate", "original"]


@pytest.mark.django_db
def test_list_query_count_is_constant(queue, customer, manager, django_assert_max_num_queries):
    for i in range(15):
        ticket_make(queue=queue, requester=customer, subject=f"t{i}")
    with django_assert_max_num_queries(1):
        rows = [(t.queue.name, t.requester.email, t.assignee) for t in selectors.ticket_list_for_user(user=manager)]
    assert len(rows) == 15
