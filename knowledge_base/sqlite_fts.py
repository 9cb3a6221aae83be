"""SQLite FTS5 tables of the embedded default (PostgreSQL uses
`ArticleSearchDoc` and pg_trgm instead).

- `kb_article_fts` (title, tags, body; porter + unicode61 tokenizer): the
  full-text index of articles, kept in sync by triggers on the article
  table, so every write path (services, admin, raw ORM) updates it in the
  same transaction.
- `kb_term_trgm` (trigram tokenizer): an external-content index over
  `SearchTerm.word`, for typo tolerance; kept in sync by triggers.
- `kb_translation_fts` (title, body; unicode61 without a stemmer, as the
  translations are in other languages; `language` and `article_id`
  unindexed): the article translations, kept in sync by triggers on
  `knowledge_base_articletranslation` (migration 0006).

Created by migration 0004 on SQLite only. Django rebuilds a SQLite table
(dropping its triggers) for some later schema changes, so `ensure` runs
after every `migrate` as well and re-creates what is missing.
"""

from typing import Any

ARTICLE = "knowledge_base_article"
TERM = "knowledge_base_searchterm"
TRANSLATION = "knowledge_base_articletranslation"

_INSERT_TRANSLATION = (
    "INSERT INTO kb_translation_fts(rowid, title, body, language, article_id) "
    "VALUES (new.id, new.title, new.body_text, new.language, new.article_id);"
)

_INSERT_ARTICLE = (
    "INSERT INTO kb_article_fts(rowid, title, tags, body) VALUES (new.id, new.title, new.tags_text, new.body_text);"
)

STATEMENTS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_article_fts USING fts5("
    "title, tags, body, tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS kb_article_fts_ai AFTER INSERT ON knowledge_base_article BEGIN "
    + _INSERT_ARTICLE
    + " END",
    # Only the indexed columns: view counts must not rewrite the index.
    "CREATE TRIGGER IF NOT EXISTS kb_article_fts_au AFTER UPDATE OF title, tags_text, body_text "
    "ON knowledge_base_article BEGIN DELETE FROM kb_article_fts WHERE rowid = old.id; "
    "INSERT INTO kb_article_fts(rowid, title, tags, body) "
    "VALUES (new.id, new.title, new.tags_text, new.body_text); END",
    "CREATE TRIGGER IF NOT EXISTS kb_article_fts_ad AFTER DELETE ON knowledge_base_article "
    "BEGIN DELETE FROM kb_article_fts WHERE rowid = old.id; END",
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_term_trgm USING fts5("
    "word, content='knowledge_base_searchterm', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS kb_term_trgm_ai AFTER INSERT ON knowledge_base_searchterm "
    "BEGIN INSERT INTO kb_term_trgm(rowid, word) VALUES (new.id, new.word); END",
    "CREATE TRIGGER IF NOT EXISTS kb_term_trgm_ad AFTER DELETE ON knowledge_base_searchterm "
    "BEGIN INSERT INTO kb_term_trgm(kb_term_trgm, rowid, word) VALUES ('delete', old.id, old.word); END",
]
TRANSLATION_STATEMENTS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS kb_translation_fts USING fts5("
    "title, body, language UNINDEXED, article_id UNINDEXED, tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS kb_translation_fts_ai AFTER INSERT ON knowledge_base_articletranslation BEGIN "
    + _INSERT_TRANSLATION
    + " END",
    "CREATE TRIGGER IF NOT EXISTS kb_translation_fts_au AFTER UPDATE OF title, body_text, language "
    "ON knowledge_base_articletranslation BEGIN DELETE FROM kb_translation_fts WHERE rowid = old.id; "
    "INSERT INTO kb_translation_fts(rowid, title, body, language, article_id) "
    "VALUES (new.id, new.title, new.body_text, new.language, new.article_id); END",
    "CREATE TRIGGER IF NOT EXISTS kb_translation_fts_ad AFTER DELETE ON knowledge_base_articletranslation "
    "BEGIN DELETE FROM kb_translation_fts WHERE rowid = old.id; END",
]
TRIGGERS = {"kb_article_fts_ai", "kb_article_fts_au", "kb_article_fts_ad", "kb_term_trgm_ai", "kb_term_trgm_ad"}
TRANSLATION_TRIGGERS = {"kb_translation_fts_ai", "kb_translation_fts_au", "kb_translation_fts_ad"}


def rebuild(cursor: Any) -> None:
    """Refill both indexes from the tables (after creating them)."""
    cursor.execute("DELETE FROM kb_article_fts")
    cursor.execute(
        "INSERT INTO kb_article_fts(rowid, title, tags, body) "
        "SELECT id, title, tags_text, body_text FROM knowledge_base_article"
    )
    cursor.execute("INSERT INTO kb_term_trgm(kb_term_trgm) VALUES ('rebuild')")


def rebuild_translations(cursor: Any) -> None:
    cursor.execute("DELETE FROM kb_translation_fts")
    cursor.execute(
        "INSERT INTO kb_translation_fts(rowid, title, body, language, article_id) "
        "SELECT id, title, body_text, language, article_id FROM knowledge_base_articletranslation"
    )


def ensure(connection: Any) -> bool:
    """Create the FTS tables and triggers if missing (SQLite only); rebuild
    the indexes when anything had to be created. Returns True if it did."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
        if {ARTICLE, TERM} - present:
            return False  # not migrated this far yet
        done = False
        if not TRIGGERS | {"kb_article_fts", "kb_term_trgm"} <= present:
            for statement in STATEMENTS:
                cursor.execute(statement)
            rebuild(cursor)
            done = True
        # The translations table and its search column come with 0006.
        if TRANSLATION in present and not TRANSLATION_TRIGGERS | {"kb_translation_fts"} <= present:
            for statement in TRANSLATION_STATEMENTS:
                cursor.execute(statement)
            rebuild_translations(cursor)
            done = True
    return done


def forwards(apps: Any, schema_editor: Any) -> None:
    ensure(schema_editor.connection)


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        for trigger in sorted(TRIGGERS | TRANSLATION_TRIGGERS):
            cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        cursor.execute("DROP TABLE IF EXISTS kb_article_fts")
        cursor.execute("DROP TABLE IF EXISTS kb_term_trgm")
        cursor.execute("DROP TABLE IF EXISTS kb_translation_fts")


def translations_backwards(apps: Any, schema_editor: Any) -> None:
    """Migration 0006 reversed: only the translation index goes."""
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        for trigger in sorted(TRANSLATION_TRIGGERS):
            cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        cursor.execute("DROP TABLE IF EXISTS kb_translation_fts")
