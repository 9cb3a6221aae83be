"""The agent's "insert a KB article link" search (htmx partial) lists the
matching articles with their links; it answered 500 whenever one matched."""

import pytest

from knowledge_base import services as kb_services


@pytest.mark.django_db
def test_kb_link_search_lists_matching_articles(client, agent, manager):
    article = kb_services.article_create(title="Reset your password", body="Do this.", actor=manager)
    article = kb_services.article_publish(article_id=article.pk, actor=manager)
    client.force_login(agent)
    response = client.get("/agent/kb-links/", {"kb": "password"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Reset your password" in html
    assert f'href="/kb/a/{article.slug}/"' in html
    assert f'data-insert-link="[Reset your password](http://testserver/kb/a/{article.slug}/)"' in html
