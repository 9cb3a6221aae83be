"""Help-centre articles in other languages (docs/languages.md): staff add a
translation from the article editor or the API; readers see the version in
their language when there is one, else the original."""

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from helpdesk.lib.exceptions import ApplicationError, PermissionDenied
from knowledge_base import services
from knowledge_base.models import ArticleTranslation

pytestmark = pytest.mark.django_db

ORIGINAL = ("Reset your router", "Hold the **reset** button for ten seconds.")
GERMAN = ("Router zurücksetzen", "Halten Sie die **Reset**-Taste zehn Sekunden lang gedrückt.")


@pytest.fixture(autouse=True)
def _english_afterwards():
    """Requests here activate German; later tests run in English."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def article(article_make):
    return article_make(*ORIGINAL)


@pytest.fixture
def translated(article, manager):
    services.article_translation_save(
        article_id=article.pk, language="de", title=GERMAN[0], body=GERMAN[1], actor=manager
    )
    return article


def _page(client, article) -> str:
    return client.get(reverse("knowledge_base:article", args=[article.slug])).content.decode()


def test_a_german_reader_sees_the_german_version(translated, customer, client_for):
    customer.language = "de"
    customer.save(update_fields=["language"])
    html = _page(client_for(customer), translated)
    assert "Router zurücksetzen" in html and "<strong>Reset</strong>-Taste" in html
    assert "Hold the" not in html
    assert '<article class="card kb-article" lang="de">' in html


def test_other_languages_see_the_original(translated, customer, client_for):
    customer.language = "es"  # no Spanish translation
    customer.save(update_fields=["language"])
    html = _page(client_for(customer), translated)
    assert "Reset your router" in html and "Router zurücksetzen" not in html
    assert '<article class="card kb-article" lang="en">' in html
    html = _page(client_for(None), translated)  # English visitor
    assert "Reset your router" in html and "Router zurücksetzen" not in html


def test_an_anonymous_visitor_with_the_german_cookie_sees_german(translated, client_for):
    client = client_for(None)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    assert "Router zurücksetzen" in _page(client, translated)


def test_the_body_is_sanitised_like_articles(article, manager):
    saved = services.article_translation_save(
        article_id=article.pk,
        language="de",
        title="Titel",
        body='Hallo <script>alert(1)</script><a href="javascript:alert(1)">x</a>',
        actor=manager,
    )
    assert "<script" not in saved.body_html and "javascript:" not in saved.body_html
    assert "Hallo" in saved.body_text


def test_one_translation_per_language(translated, manager):
    services.article_translation_save(article_id=translated.pk, language="de", title="Neu", body="", actor=manager)
    assert ArticleTranslation.objects.filter(article=translated).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        ArticleTranslation.objects.create(article=translated, language="de", title="Doppelt")


def test_only_shipped_languages_other_than_the_original(article, manager):
    for language in ("en", "fr", ""):
        with pytest.raises(ApplicationError) as refused:
            services.article_translation_save(
                article_id=article.pk, language=language, title="x", body="", actor=manager
            )
        assert refused.value.code == "invalid_language"


def test_agents_translate_drafts_but_not_published_articles(article_make, agent, customer):
    draft = article_make("Draft", "text", publish=False, actor=agent)
    services.article_translation_save(article_id=draft.pk, language="es", title="Borrador", body="", actor=agent)
    published = article_make(*ORIGINAL)
    with pytest.raises(PermissionDenied):
        services.article_translation_save(article_id=published.pk, language="es", title="x", body="", actor=agent)
    with pytest.raises(PermissionDenied):
        services.article_translation_save(article_id=draft.pk, language="de", title="x", body="", actor=customer)


def test_the_editor_links_each_language_and_the_page_saves(article, manager, client_for):
    client = client_for(manager)
    editor = client.get(reverse("knowledge_base:staff-edit", args=[article.pk])).content.decode()
    url = reverse("knowledge_base:staff-translation", args=[article.pk, "de"])
    assert f'href="{url}"' in editor and 'id="kb-translation-es"' in editor
    assert 'id="kb-translation-en"' not in editor  # the original's language
    assert client.get(url).status_code == 200
    response = client.post(url, {"title": GERMAN[0], "body": GERMAN[1]})
    assert response.status_code == 302
    assert ArticleTranslation.objects.get(article=article, language="de").title == GERMAN[0]
    assert GERMAN[0] in client.get(reverse("knowledge_base:staff-edit", args=[article.pk])).content.decode()
    response = client.post(url, {"action": "delete"})
    assert response.status_code == 302 and not ArticleTranslation.objects.filter(article=article).exists()


def test_the_page_shows_a_refusal(article, agent, client_for):
    url = reverse("knowledge_base:staff-translation", args=[article.pk, "de"])
    response = client_for(agent).post(url, {"title": "x", "body": ""})
    assert response.status_code == 403 and "Only managers" in response.content.decode()
    unknown = reverse("knowledge_base:staff-translation", args=[article.pk, "fr"])
    assert client_for(agent).get(unknown).status_code == 404


def test_the_api_adds_reads_and_removes_a_translation(article, manager):
    api = APIClient()
    api.force_authenticate(manager)
    url = reverse("api:kb-article-translation", args=[article.slug, "de"])
    response = api.put(url, {"title": GERMAN[0], "body": GERMAN[1]}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["language"] == "de" and "<strong>Reset</strong>" in response.data["body_html"]
    listed = APIClient().get(reverse("api:kb-article-translations", args=[article.slug])).json()
    assert [t["title"] for t in listed] == [GERMAN[0]]
    assert APIClient().get(url).json()["title"] == GERMAN[0]
    bad = api.put(reverse("api:kb-article-translation", args=[article.slug, "fr"]), {"title": "x"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_language"
    assert api.delete(url).status_code == 204
    assert APIClient().get(url).status_code == 404


def test_lists_search_and_suggestions_show_the_readers_title(translated, customer, client_for):
    """Not only the article page: the help-centre home, search results and the
    suggestions while typing carry the German title for a German reader and
    the original for everyone else (here the original words match; German
    words: test_search_engine.py, translations)."""
    customer.language = "de"
    customer.save(update_fields=["language"])
    german = client_for(customer)
    pages = {
        "home": german.get(reverse("knowledge_base:home")),
        "search": german.get(reverse("knowledge_base:search"), {"q": "router reset"}),
        "suggest": german.get(reverse("knowledge_base:suggest"), {"q": "router reset"}),
    }
    for name, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, name
        assert "Router zurücksetzen" in html and "Reset your router" not in html, name
    english = client_for(None).get(reverse("knowledge_base:search"), {"q": "router reset"}).content.decode()
    assert "Reset your router" in english and "Router zurücksetzen" not in english
