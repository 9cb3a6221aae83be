"""Knowledge-base fixtures: articles are built through the real services."""

import os

import pytest
from django.core.cache import cache
from django.db import connection

from knowledge_base import services
from knowledge_base.models import Article


@pytest.fixture(autouse=True)
def _require_postgresql(request):
    """Overrides the suite's PostgreSQL guard for the one deliberate SQLite
    run (test_sqlite.py starts it with KB_SQLITE_RUN=1)."""
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        expected = "sqlite" if os.environ.get("KB_SQLITE_RUN") == "1" else "postgresql"
        assert connection.vendor == expected, "set DATABASE_URL to PostgreSQL (make test does)"


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def article_make(manager):
    """`article_make(title, body, publish=True, visibility="public", **kw)`."""

    def make(title, body="", *, publish=True, visibility=Article.Visibility.PUBLIC, actor=None, **kwargs):
        article = services.article_create(
            title=title, body=body, actor=actor or manager, visibility=visibility, **kwargs
        )
        if publish:
            article = services.article_publish(article_id=article.pk, actor=manager)
        return Article.objects.get(pk=article.pk)

    return make


@pytest.fixture
def client_for(client):
    """`client_for(user)`: the test client logged in as `user` (None = anonymous)."""

    def make(user):
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return make
