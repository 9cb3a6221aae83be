"""Create an article draft from a solved ticket: subject, first customer
message, last public agent reply; internal notes never copied."""

import pytest
from django.urls import reverse

from helpdesk.lib.exceptions import ApplicationError
from knowledge_base import services
from knowledge_base.models import Article
from tests.factories import ticket_make
from tickets import services as ticket_services
from tickets.models import Message, Ticket

NOTE = "INTERNAL-NOTE-d41d8c"


def _solved_ticket(queue, customer, agent):
    ticket = ticket_make(queue=queue, requester=customer, subject="Printer shows error 42", body="It says E42.")
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="First try: restart it.")
    ticket_services.message_post(
        ticket_id=ticket.pk, author=agent, body=f"{NOTE} customer is grumpy", visibility=Message.Visibility.INTERNAL
    )
    ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="Clean the **roller**, then restart.")
    ticket_services.message_post(
        ticket_id=ticket.pk, author=agent, body=f"{NOTE} closing", visibility=Message.Visibility.INTERNAL
    )
    ticket_services.ticket_transition(ticket_id=ticket.pk, target=Ticket.Status.SOLVED, actor=agent)
    return ticket


@pytest.mark.django_db
def test_draft_from_solved_ticket_has_question_and_last_public_answer(queue, customer, agent):
    ticket = _solved_ticket(queue, customer, agent)
    article = services.article_draft_from_ticket(ticket_id=ticket.pk, actor=agent)
    assert article.title == "Printer shows error 42"
    assert (article.status, article.visibility, article.audience) == ("draft", "internal", "support")
    assert article.source_ticket_id == ticket.pk
    assert "It says E42." in article.body
    assert "Clean the **roller**, then restart." in article.body
    assert "First try" not in article.body
    assert NOTE not in article.body and NOTE not in article.body_html


@pytest.mark.django_db
def test_unsolved_ticket_is_refused(queue, customer, agent):
    ticket = ticket_make(queue=queue, requester=customer)
    with pytest.raises(ApplicationError) as exc:
        services.article_draft_from_ticket(ticket_id=ticket.pk, actor=agent)
    assert exc.value.code == "ticket_not_solved"


@pytest.mark.django_db
def test_view_creates_draft_and_404s_for_tickets_the_agent_cannot_see(queue, customer, agent, other_agent, client_for):
    ticket = _solved_ticket(queue, customer, agent)
    url = reverse("knowledge_base:staff-from-ticket", args=[ticket.pk])
    assert client_for(other_agent).post(url).status_code == 404  # not in the ticket's queue
    assert client_for(customer).post(url).status_code == 404
    assert client_for(agent).get(url).status_code == 405
    response = client_for(agent).post(url)
    article = Article.objects.get(source_ticket=ticket)
    assert response.status_code == 302 and response["Location"].endswith(f"/kb/manage/{article.pk}/edit/")
