"""Versions (author, time, diff, restore) and the publishing rule: managers
publish, agents draft."""

import pytest
from django.urls import reverse

from helpdesk.lib.exceptions import ApplicationError, PermissionDenied
from knowledge_base import services
from knowledge_base.models import Article, ArticleVersion


@pytest.mark.django_db
def test_every_content_change_writes_a_version_with_author(agent, manager):
    article = services.article_create(title="Setup", body="Step one.", actor=agent)
    services.article_update(article_id=article.pk, actor=agent, body="Step one.\nStep two.")
    services.article_update(article_id=article.pk, actor=manager, title="Setup guide")
    services.article_update(article_id=article.pk, actor=manager, visibility="internal")  # no content change
    versions = list(ArticleVersion.objects.filter(article=article).order_by("number"))
    assert [(v.number, v.title, v.body, v.author) for v in versions] == [
        (1, "Setup", "Step one.", agent),
        (2, "Setup", "Step one.\nStep two.", agent),
        (3, "Setup guide", "Step one.\nStep two.", manager),
    ]
    assert all(v.created_at for v in versions)


@pytest.mark.django_db
def test_restore_brings_back_old_content_as_a_new_version(agent):
    article = services.article_create(title="Setup", body="Old body", actor=agent)
    v1 = article.versions.get(number=1)
    services.article_update(article_id=article.pk, actor=agent, title="Setup v2", body="New body")
    restored = services.article_restore_version(article_id=article.pk, version_id=v1.pk, actor=agent)
    assert (restored.title, restored.body) == ("Setup", "Old body")
    assert "Old body" in Article.objects.get(pk=article.pk).body_html
    latest = article.versions.order_by("-number").first()
    assert (latest.number, latest.note, latest.body) == (3, "Restored version 1", "Old body")


@pytest.mark.django_db
def test_restore_refuses_a_version_of_another_article(agent):
    a = services.article_create(title="A", body="a", actor=agent)
    b = services.article_create(title="B", body="b", actor=agent)
    with pytest.raises(ApplicationError):
        services.article_restore_version(article_id=a.pk, version_id=b.versions.get().pk, actor=agent)


@pytest.mark.django_db
def test_history_page_shows_escaped_diff_and_restore_works(agent, client_for):
    article = services.article_create(title="Guide", body="line one\nline two", actor=agent)
    services.article_update(article_id=article.pk, actor=agent, body="line one\n<b>line three</b>")
    client = client_for(agent)
    response = client.get(reverse("knowledge_base:staff-history", args=[article.pk]))
    assert response.status_code == 200
    lines = response.context["diff"]
    assert ("del", "-line two") in lines and ("add", "+<b>line three</b>") in lines
    assert "+&lt;b&gt;line three&lt;/b&gt;" in response.content.decode()
    v1 = article.versions.get(number=1)
    client.post(reverse("knowledge_base:staff-restore", args=[article.pk]), {"version_id": v1.pk})
    assert Article.objects.get(pk=article.pk).body == "line one\nline two"


@pytest.mark.django_db
def test_agents_cannot_publish_managers_can(agent, manager, client_for):
    article = services.article_create(title="Draft", body="x", actor=agent)
    with pytest.raises(PermissionDenied):
        services.article_publish(article_id=article.pk, actor=agent)
    client_for(agent).post(reverse("knowledge_base:staff-publish", args=[article.pk]), {"action": "publish"})
    assert Article.objects.get(pk=article.pk).status == Article.Status.DRAFT
    client_for(manager).post(reverse("knowledge_base:staff-publish", args=[article.pk]), {"action": "publish"})
    published = Article.objects.get(pk=article.pk)
    assert (published.status, published.published_by) == (Article.Status.PUBLISHED, manager)
    assert published.published_at is not None


@pytest.mark.django_db
def test_agents_cannot_change_or_unpublish_a_published_article(agent, manager, client_for):
    article = services.article_create(title="Live", body="live body", actor=agent)
    services.article_publish(article_id=article.pk, actor=manager)
    with pytest.raises(PermissionDenied):
        services.article_update(article_id=article.pk, actor=agent, body="vandalised")
    with pytest.raises(PermissionDenied):
        services.article_unpublish(article_id=article.pk, actor=agent)
    response = client_for(agent).post(
        reverse("knowledge_base:staff-edit", args=[article.pk]),
        {"title": "Live", "body": "vandalised", "visibility": "public", "audience": "both"},
    )
    assert response.status_code == 403
    assert Article.objects.get(pk=article.pk).body == "live body"
    services.article_update(article_id=article.pk, actor=manager, body="fixed by manager")
    assert Article.objects.get(pk=article.pk).body == "fixed by manager"


@pytest.mark.django_db
def test_customers_cannot_write_articles(customer):
    with pytest.raises(PermissionDenied):
        services.article_create(title="Spam", body="x", actor=customer)


@pytest.mark.django_db
def test_agent_creates_draft_through_the_page(agent, client_for):
    response = client_for(agent).post(
        reverse("knowledge_base:staff-create"),
        {"title": "New guide", "body": "Body", "visibility": "public", "audience": "support", "tags": "a, b  c"},
    )
    article = Article.objects.get(title="New guide")
    assert response.status_code == 302
    assert (article.status, article.author, article.slug, article.tags_text) == ("draft", agent, "new-guide", "a b c")
    assert article.versions.count() == 1


@pytest.mark.django_db
def test_slugs_are_unique(agent):
    a = services.article_create(title="Same title", body="", actor=agent)
    b = services.article_create(title="Same title", body="", actor=agent)
    assert (a.slug, b.slug) == ("same-title", "same-title-2")
