"""Feedback (one per user/session, later replaces), view counts, deflection
events and the manager report."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from knowledge_base import selectors, services
from knowledge_base.models import ArticleFeedback, DeflectionEvent
from tests.factories import ticket_make


@pytest.mark.django_db
def test_one_feedback_per_user_later_answer_replaces(article_make, customer, client_for):
    article = article_make("Guide", "text")
    client = client_for(customer)
    url = reverse("knowledge_base:article-feedback", args=[article.slug])
    client.post(url, {"helpful": "no", "comment": "unclear"})
    client.post(url, {"helpful": "yes", "comment": "now clear"})
    rows = list(ArticleFeedback.objects.filter(article=article).values_list("user", "helpful", "comment"))
    assert rows == [(customer.pk, True, "now clear")]


@pytest.mark.django_db
def test_anonymous_feedback_is_one_per_session(article_make, client):
    article = article_make("Guide", "text")
    url = reverse("knowledge_base:article-feedback", args=[article.slug])
    client.post(url, {"helpful": "yes"})
    client.post(url, {"helpful": "no"})
    client.cookies.clear()  # a new visitor
    client.post(url, {"helpful": "yes"})
    rows = sorted(ArticleFeedback.objects.values_list("user", "helpful"))
    assert rows == [(None, False), (None, True)]
    assert ArticleFeedback.objects.exclude(session_key="").count() == 2


@pytest.mark.django_db
def test_invalid_feedback_is_a_400_not_a_500(article_make, client):
    article = article_make("Guide", "text")
    response = client.post(reverse("knowledge_base:article-feedback", args=[article.slug]), {"helpful": "maybe"})
    assert response.status_code == 400
    assert ArticleFeedback.objects.count() == 0


@pytest.mark.django_db
def test_views_are_counted(article_make, client):
    article = article_make("Guide", "text")
    for _ in range(3):
        client.get(reverse("knowledge_base:article", args=[article.slug]))
    article.refresh_from_db()
    assert article.view_count == 3


@pytest.mark.django_db
def test_opening_a_suggestion_records_a_deflection_event(article_make, customer, client_for, agent):
    article = article_make("Reset your password", "text")
    client = client_for(customer)
    fragment = client.get(reverse("knowledge_base:suggest"), {"subject": "reset my passw"}).content.decode()
    assert "ref=suggest" in fragment
    client.get(reverse("knowledge_base:article", args=[article.slug]), {"ref": "suggest", "q": "Reset my passw"})
    client.get(reverse("knowledge_base:article", args=[article.slug]))  # a plain visit is not a deflection
    events = list(DeflectionEvent.objects.values_list("article", "user", "query"))
    assert events == [(article.pk, customer.pk, "reset my passw")]
    client_for(agent).get(reverse("knowledge_base:article", args=[article.slug]), {"ref": "suggest"})
    assert DeflectionEvent.objects.count() == 1  # staff are not deflectable


@pytest.mark.django_db
def test_deflection_outcome_rule(article_make, customer, other_customer, queue):
    """Submitted within the window -> not deflected; window over without a
    ticket -> deflected; otherwise pending."""
    article = article_make("Reset your password", "text")
    now = timezone.now()
    old = now - timedelta(hours=2)
    gave_up = services.deflection_open(article_id=article.pk, user=customer, session_key="s1")
    DeflectionEvent.objects.filter(pk=gave_up.pk).update(opened_at=old)
    submitted = services.deflection_open(article_id=article.pk, user=other_customer, session_key="s2")
    DeflectionEvent.objects.filter(pk=submitted.pk).update(opened_at=old)
    ticket = ticket_make(queue=queue, requester=other_customer)
    type(ticket).objects.filter(pk=ticket.pk).update(created_at=old + timedelta(minutes=10))
    services.deflection_open(article_id=article.pk, user=customer, session_key="s1")  # just now
    outcomes = dict(selectors.deflection_annotated(now=now).values_list("pk", "outcome"))
    assert outcomes[gave_up.pk] == "deflected"
    assert outcomes[submitted.pk] == "not_deflected"
    assert sorted(outcomes.values()) == ["deflected", "not_deflected", "pending"]
    assert selectors.deflection_summary(now=now) == {"deflected": 1, "not_deflected": 1, "pending": 1, "opened": 3}


@pytest.mark.django_db
def test_report_lists_least_helpful_first(article_make, manager, customer, other_customer, client_for):
    good = article_make("Good article", "x")
    bad = article_make("Bad article", "x")
    article_make("Unrated article", "x")
    for user, article, helpful in (
        (customer, good, True),
        (other_customer, good, True),
        (customer, bad, False),
        (other_customer, bad, True),
    ):
        services.article_feedback_record(article_id=article.pk, user=user, session_key="", helpful=helpful)
    response = client_for(manager).get(reverse("knowledge_base:manager-report"))
    worst = list(response.context["worst"])
    assert [(a.title, a.votes_yes, a.votes_no) for a in worst] == [("Bad article", 1, 1), ("Good article", 2, 0)]
    assert "50%" in response.content.decode()
