"""The search behaviour both databases share (issue 19). Runs on PostgreSQL
in the suite and again on SQLite through test_sqlite.py (same file, same
assertions): query-set thresholds, stop words and one-letter tokens,
whole-word highlights, phrases, synonyms, and the index kept in sync on
create, edit, unpublish and delete."""

import json
import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from knowledge_base import query_set, selectors, services
from knowledge_base.demo import seed_help_centre

ANON = AnonymousUser()


def titles(results):
    return [r.article.title for r in results]


def fts_rows(article_id):
    """Rows of the database's own index for one article."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT count(*) FROM kb_article_fts WHERE rowid = %s", [article_id])
        else:
            cursor.execute("SELECT count(*) FROM knowledge_base_articlesearchdoc WHERE article_id = %s", [article_id])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_query_set_meets_the_thresholds(manager):
    """bench/kb_queries.txt (labelled before tuning) on the demo help
    centre: recall@3 >= 0.9 and MRR >= 0.85 on this database."""
    seed_help_centre(manager=manager)
    result = query_set.evaluate(query_set.load())
    overall = result["overall"]
    misses = [(r["query"], r["top3"]) for r in result["rows"] if not (r["first"] and r["first"] <= 3)]
    print(connection.vendor, overall, misses)
    if os.environ.get("KB_QUERY_SET_OUT"):  # test_sqlite.py compares orderings
        Path(os.environ["KB_QUERY_SET_OUT"]).write_text(json.dumps(result["rows"]))
    assert overall["queries"] >= 150
    assert overall["recall_at_3"] >= 0.9, misses
    assert overall["mrr"] >= 0.85, misses
    for kind, measures in result["by_kind"].items():
        assert measures["recall_at_3"] >= 0.8, (kind, measures)


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["I", "a", "the", "How do I", "is it", "i i i", '"the"', "x y z", "?!"])
def test_stop_words_and_single_letters_find_nothing_on_their_own(query, manager):
    seed_help_centre(manager=manager)
    assert selectors.article_search(user=ANON, query=query) == []
    assert selectors.article_search(user=ANON, query=query, match_all=False) == []
    assert selectors.article_suggest_for_user(user=ANON, query=query) == []


@pytest.mark.django_db
def test_how_do_i_pay_suggests_few_relevant_articles_not_all(manager):
    """The issue's first finding: 'How do I pay' suggested every article."""
    seed_help_centre(manager=manager)
    found = titles(selectors.article_suggest_for_user(user=ANON, query="How do I pay"))
    assert 1 <= len(found) <= 5
    assert "Which payment methods are accepted" in found
    assert "Connecting webhooks" not in found


@pytest.mark.django_db
def test_highlights_mark_whole_words_only(article_make):
    article_make("Shipping", "Our warehouse ships in time; shipping is free. It is shipped in a box.")
    (result,) = selectors.article_search(user=ANON, query="I ship")
    html = str(result.snippet)
    assert "<mark>ships</mark>" in html and "<mark>shipping</mark>" in html and "<mark>shipped</mark>" in html
    # Every mark is a whole word: no word character right outside it.
    for match in re.finditer(r"(\w?)<mark>(.*?)</mark>(\w?)", html):
        assert match.group(1) == "" and match.group(3) == "", html
    assert "<mark>i</mark>" not in html.lower() and "<mark>is</mark>" not in html.lower()


@pytest.mark.django_db
def test_highlighted_snippet_is_escaped(article_make):
    article_make("Markup", "Write `<b>refund</b>` literally.")
    (result,) = selectors.article_search(user=ANON, query="refund")
    assert "&lt;b&gt;<mark>refund</mark>&lt;/b&gt;" in str(result.snippet)


@pytest.mark.django_db
def test_quoted_phrase_needs_the_words_together(article_make):
    article_make("Money back guarantee", "Get your money back.")
    article_make("Back office money", "The back office counts money.")
    assert titles(selectors.article_search(user=ANON, query='"money back"')) == ["Money back guarantee"]
    assert set(titles(selectors.article_search(user=ANON, query="money back"))) == {
        "Money back guarantee",
        "Back office money",
    }


@pytest.mark.django_db
def test_synonyms_of_the_help_centre_apply(article_make, manager):
    article_make("Refund policy", "When we pay you.")
    assert selectors.article_search(user=ANON, query="reimbursement") == []
    services.synonyms_replace(text="refund, money back, reimbursement", actor=manager)
    assert titles(selectors.article_search(user=ANON, query="reimbursement")) == ["Refund policy"]
    assert titles(selectors.article_search(user=ANON, query="get my money back")) == ["Refund policy"]


@pytest.mark.django_db
def test_typos_in_bodies_are_tolerated_too(article_make):
    article_make("Integrations", "Add a webhook endpoint to receive events.")
    assert titles(selectors.article_search(user=ANON, query="webhok endpont")) == ["Integrations"]


@pytest.mark.django_db
def test_index_follows_create_edit_unpublish_delete(article_make, manager):
    article = article_make("Quantum widgets", "Calibrate the flux capacitor.")
    assert fts_rows(article.pk) == 1
    assert titles(selectors.article_search(user=ANON, query="capacitor")) == ["Quantum widgets"]

    services.article_update(article_id=article.pk, actor=manager, title="Gizmo setup", body="Align the gyroscope.")
    assert titles(selectors.article_search(user=ANON, query="gyroscope")) == ["Gizmo setup"]
    assert titles(selectors.article_search(user=ANON, query="gizmo")) == ["Gizmo setup"]
    assert selectors.article_search(user=ANON, query="capacitor") == []
    assert selectors.article_search(user=ANON, query="quantum") == []

    services.article_unpublish(article_id=article.pk, actor=manager)
    assert selectors.article_search(user=ANON, query="gyroscope") == []
    services.article_publish(article_id=article.pk, actor=manager)
    assert titles(selectors.article_search(user=ANON, query="gyroscope")) == ["Gizmo setup"]

    services.article_delete(article_id=article.pk, actor=manager)
    assert selectors.article_search(user=ANON, query="gyroscope") == []
    assert fts_rows(article.pk) == 0


@pytest.mark.django_db
def test_view_counts_do_not_rewrite_the_index(article_make):
    article = article_make("Counter", "Body words.")
    services.article_view_record(article_id=article.pk)
    assert fts_rows(article.pk) == 1
    assert titles(selectors.article_search(user=ANON, query="counter")) == ["Counter"]


# --- translations (docs/knowledge-base.md, Searching translations) ---------------

PASSWORD_DE = (
    "Passwort zurücksetzen",
    "Öffnen Sie die Anmeldeseite und wählen Sie „Passwort vergessen“. Wir senden Ihnen einen Link, "
    "mit dem Sie ein neues Kennwort festlegen.",
)
INVOICE_ES = (
    "Descargar sus facturas",
    "En la página de su cuenta encontrará todas las facturas en PDF. Puede descargarlas cuando quiera.",
)


@pytest.fixture
def translated_pair(article_make, manager):
    password = article_make("Reset your password", "Open the sign-in page and choose 'Forgot password'.")
    invoice = article_make("Download your invoices", "Every invoice is on your account page as a PDF.")
    services.article_translation_save(
        article_id=password.pk, language="de", title=PASSWORD_DE[0], body=PASSWORD_DE[1], actor=manager
    )
    services.article_translation_save(
        article_id=invoice.pk, language="es", title=INVOICE_ES[0], body=INVOICE_ES[1], actor=manager
    )
    return password, invoice


@pytest.mark.django_db
def test_a_german_reader_finds_an_article_by_its_german_words(translated_pair):
    """German words of the translation (inflected: "Kennwörter" for
    "Kennwort", a German stop word in the question) find the article once,
    with its German title and a German snippet that marks the words."""
    password, _invoice = translated_pair
    for query in ("Passwort vergessen", "Wie kann ich neue Kennwörter festlegen?", "anmeldeseite"):
        results = selectors.article_search(user=ANON, query=query, language="de")
        assert [r.article.pk for r in results] == [password.pk], query
        assert titles(results) == ["Passwort zurücksetzen"], query
        assert "Forgot" not in results[0].snippet and "<mark>" in results[0].snippet, query
    suggestions = selectors.article_suggest_for_user(user=ANON, query="passwort zurück")
    assert suggestions == []  # an English reader: the German words are not in the original
    with translation.override("de"):  # the default: the active language
        suggested = selectors.article_suggest_for_user(user=ANON, query="passwort zurück")
    assert [r.article.pk for r in suggested] == [password.pk]
    assert titles(suggested) == ["Passwort zurücksetzen"]


@pytest.mark.django_db
def test_original_words_still_find_it_and_it_is_shown_once_in_the_readers_language(translated_pair):
    password, _invoice = translated_pair
    results = selectors.article_search(user=ANON, query="password", language="de")
    assert [r.article.pk for r in results] == [password.pk]
    assert titles(results) == ["Passwort zurücksetzen"]
    # Matching both versions still returns one row.
    both = selectors.article_search(user=ANON, query="password passwort", language="de")
    assert [r.article.pk for r in both] == [password.pk]


@pytest.mark.django_db
def test_translations_are_searched_in_the_readers_language_only(translated_pair):
    _password, invoice = translated_pair
    spanish = selectors.article_search(user=ANON, query="descargar facturas", language="es")
    assert [r.article.pk for r in spanish] == [invoice.pk]
    assert titles(spanish) == ["Descargar sus facturas"]
    assert "<mark>facturas</mark>" in spanish[0].snippet
    # The German translation is not searched for a Spanish or English reader.
    assert selectors.article_search(user=ANON, query="Passwort vergessen", language="es") == []
    assert selectors.article_search(user=ANON, query="Passwort vergessen", language="en") == []
    assert selectors.article_search(user=ANON, query="facturas", language="de") == []


@pytest.mark.django_db
def test_translation_index_follows_save_change_and_delete(translated_pair, manager):
    password, _invoice = translated_pair
    services.article_translation_save(
        article_id=password.pk, language="de", title="Zugang wiederherstellen", body="Neuer Text.", actor=manager
    )
    assert selectors.article_search(user=ANON, query="Anmeldeseite", language="de") == []
    assert titles(selectors.article_search(user=ANON, query="wiederherstellen", language="de")) == [
        "Zugang wiederherstellen"
    ]
    services.article_translation_delete(article_id=password.pk, language="de", actor=manager)
    assert selectors.article_search(user=ANON, query="wiederherstellen", language="de") == []


@pytest.mark.django_db
def test_a_translation_of_an_unpublished_article_is_not_found(translated_pair, manager):
    password, _invoice = translated_pair
    services.article_unpublish(article_id=password.pk, actor=manager)
    assert selectors.article_search(user=ANON, query="Passwort vergessen", language="de") == []


@pytest.mark.django_db
def test_translation_search_adds_no_query_per_result(article_make, manager):
    """The same number of queries for one translated result as for five."""

    def count(n):
        for i in range(n):
            a = article_make(f"Router {n}-{i}", "Hold the reset button.")
            services.article_translation_save(
                article_id=a.pk,
                language="de",
                title=f"Router {n}-{i} zurücksetzen",
                body="Halten Sie die Taste.",
                actor=manager,
            )
        with CaptureQueriesContext(connection) as ctx:
            results = selectors.article_search(user=ANON, query="Taste", language="de")
        return len(results), len(ctx.captured_queries)

    one, queries_one = count(1)
    five, queries_five = count(5)
    assert (one, five) == (1, 6)
    assert queries_five == queries_one
