"""One knowledge-base search behaviour on PostgreSQL and SQLite.

A query goes through four steps; only step 3 differs by database:

1. Parse (Python): quoted phrases, words; stop words and one-letter tokens
   are dropped (they never match on their own), the help centre's synonyms
   are applied (a synonym group becomes one "concept" with alternatives).
2. Typo tolerance (database + Python): a word that is not in the
   vocabulary (`SearchTerm`: words of titles, tags and bodies) gets the
   vocabulary words most similar to it by trigram similarity as
   alternatives. PostgreSQL finds them with pg_trgm (`%`, GIN index),
   SQLite with an FTS5 trigram table; both are then scored by the same
   pg_trgm formula (`trigram_similarity`), so both keep the same ones.
3. Candidates (database): every article whose full-text index matches any
   alternative: `ArticleSearchDoc.search_vector @@ to_tsquery` on
   PostgreSQL, `kb_article_fts MATCH` (porter stemmer) on SQLite, at most
   CANDIDATES rows by the database's own rank.
4. Ranking, snippets and highlights (Python): one scoring function over
   the candidates (title > tags > body, weighted by how rare each concept
   is among them and by how much of the query a row covers), whole-word
   highlights. The same code on both databases is what makes them order
   alike; the measured agreement is in bench/KB.md.

Translations (docs/knowledge-base.md, Searching translations): a reader
whose language is not the site's also searches the translations in their
language (`ArticleTranslation.search_vector` with that language's
configuration on PostgreSQL, `kb_translation_fts` on SQLite). An article
is scored once, per concept by the better of its original and its
translation, and shown with the translation's title and snippet.
"""

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any

import snowballstemmer
from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from helpdesk.lib.db_router import read_alias, read_connection
from knowledge_base.models import Article, ArticleSearchDoc, ArticleTranslation, SearchTerm, SynonymGroup

CANDIDATES = 60
MAX_CONCEPTS = 8
TYPO_MIN_LENGTH = 4
TYPO_ALTERNATIVES = 3
TITLE, TAGS, BODY = 3.0, 1.5, 1.0
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_PHRASE_RE = re.compile(r'"([^"]*)"')

# PostgreSQL's `english` stop words (the Snowball list) plus the words
# that make a customer's sentence a question ("how do I ..."): none of them
# says what an article is about.
_STOP_WORDS_TEXT = """
    a about above after again against all am an and any are aren as at be because been before being below
    between both but by can cannot could couldn did didn do does doesn doing don down during each few for
    from further had hadn has hasn have haven having he her here hers herself him himself his how i if in
    into is isn it its itself just let ll me more most mustn my myself no nor not now of off on once only or
    other our ours ourselves out over own re same shan she should shouldn so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was wasn we
    were weren what when where which while who whom why will with won would wouldn you your yours yourself
    yourselves s t d m o y ve
    hi hello please thanks thank help want need get got may might must shall also us anyone someone
    something anything way ways able
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

# The scorer's language of the original articles (Snowball English, the
# algorithm of the `english` configuration of ArticleSearchDoc).
ORIGINAL = "en"
# Reader languages whose translations are searched: the Snowball algorithm
# and PostgreSQL text-search configuration (same names). Any other language
# is matched word for word (PostgreSQL's `simple`).
SNOWBALL = {"en": "english", "de": "german", "es": "spanish"}
# Query-only stop words, like the English question words above: how a
# customer asks, not what about. The index keeps them.
_QUESTION_WORDS = {
    "de": "warum wieso weshalb bitte hallo danke hilfe brauche möchte geht gibt",
    "es": "cómo dónde cuándo puedo puede favor hola gracias ayuda necesito quiero",
}
_STOP_DIR = Path(__file__).resolve().parent / "stopwords"


@cache
def stop_words(language: str = ORIGINAL) -> frozenset[str]:
    """English stop words, plus for another reader language the stop words
    of its PostgreSQL configuration (`stopwords/<code>.txt`, copied from
    PostgreSQL) and its question words: a German reader may type English
    too."""
    if language == ORIGINAL:
        return STOP_WORDS
    path = _STOP_DIR / f"{language}.txt"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    listed = {w for line in lines if not line.startswith("#") for w in words(line)}
    return STOP_WORDS | listed | set(words(_QUESTION_WORDS.get(language, "")))


def pg_config(language: str) -> str:
    """PostgreSQL text-search configuration of a reader language."""
    return SNOWBALL.get(language, "simple")


@cache
def _stemmer(algorithm: str = "english") -> Any:
    return snowballstemmer.stemmer(algorithm)


@lru_cache(maxsize=200_000)
def stem(word: str, language: str = ORIGINAL) -> str:
    """Snowball in `language` (English: as PostgreSQL's `english`
    configuration); a language without a stemmer keeps the word. Cached:
    ranking stems every word of up to CANDIDATES articles, and a help
    centre's vocabulary is small."""
    algorithm = SNOWBALL.get(language)
    if algorithm is None:
        return word.lower()
    return str(_stemmer(algorithm).stemWord(word.lower()))


def words(text: str) -> list[str]:
    return _WORD_RE.findall((text or "").lower())


def is_meaningful(word: str, language: str = ORIGINAL) -> bool:
    """One-letter tokens and stop words never match on their own."""
    return len(word) >= 2 and word not in stop_words(language)


def trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one word: padded with two spaces before and one
    after."""
    padded = f"  {word.lower()} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm `similarity(a, b)` for single words."""
    ta, tb = trigrams(a), trigrams(b)
    union = len(ta | tb)
    return len(ta & tb) / union if union else 0.0


# --- 1. parse ---------------------------------------------------------------


@dataclass(frozen=True)
class Alternative:
    """One way a concept can match: a word (or a phrase of words) and how
    much a match is worth (1.0 = what the user typed)."""

    words: tuple[str, ...]
    weight: float = 1.0
    prefix: bool = False  # the last word may be a prefix (typing)

    @cached_property
    def stems(self) -> tuple[str, ...]:
        return tuple(stem(w) for w in self.words)

    def stems_in(self, language: str) -> tuple[str, ...]:
        return self.stems if language == ORIGINAL else tuple(stem(w, language) for w in self.words)


@dataclass
class Concept:
    label: str
    alternatives: list[Alternative] = field(default_factory=list)


@dataclass
class ParsedQuery:
    concepts: list[Concept]

    @property
    def alternatives(self) -> list[Alternative]:
        return [a for c in self.concepts for a in c.alternatives]


def synonym_groups() -> list[list[tuple[str, ...]]]:
    """The help centre's synonym groups, each term as a tuple of words."""
    groups = []
    for group in SynonymGroup.objects.all():
        terms = [tuple(words(t)) for t in group.term_list]
        groups.append([t for t in terms if t])
    return groups


def _synonym_concepts(tokens: list[str], groups: list[list[tuple[str, ...]]]) -> tuple[list[Concept], list[bool]]:
    """Find synonym terms in the token sequence (longest first, by stem).
    Returns their concepts and which tokens they used."""
    used = [False] * len(tokens)
    concepts = []
    stems = [stem(t) for t in tokens]
    candidates = sorted(((term, group) for group in groups for term in group), key=lambda tg: len(tg[0]), reverse=True)
    for term, group in candidates:
        # Matched on its meaningful words ("log in" -> "log"), as the query
        # tokens have lost their stop words already.
        term_stems = [stem(w) for w in term if is_meaningful(w)]
        if not term_stems:
            continue
        n = len(term_stems)
        for i in range(len(tokens) - n + 1):
            if stems[i : i + n] == term_stems and not any(used[i : i + n]):
                for j in range(i, i + n):
                    used[j] = True
                alternatives = [Alternative(words=term)]
                alternatives += [Alternative(words=t, weight=0.9) for t in group if t != term]
                concepts.append(Concept(label=" ".join(term), alternatives=alternatives))
                break
    return concepts, used


def parse_query(query: str, *, prefix_last: bool = False, language: str = ORIGINAL) -> ParsedQuery:
    """Split a query into concepts (see the module docstring, step 1);
    `language`: the reader's, whose stop words are dropped too."""
    concepts: list[Concept] = []
    for phrase in _PHRASE_RE.findall(query or ""):
        phrase_words = tuple(words(phrase))
        if any(is_meaningful(w, language) for w in phrase_words):
            concepts.append(Concept(label=" ".join(phrase_words), alternatives=[Alternative(words=phrase_words)]))
    rest = _PHRASE_RE.sub(" ", query or "")
    tokens = [w for w in words(rest) if is_meaningful(w, language)]
    syn_concepts, used = _synonym_concepts(tokens, synonym_groups()) if tokens else ([], [])
    concepts += syn_concepts
    for i, token in enumerate(tokens):
        if used[i] or any(c.label == token for c in concepts):
            continue
        alternatives = [Alternative(words=(token,))]
        if prefix_last and i == len(tokens) - 1 and len(token) >= 3:
            alternatives.append(Alternative(words=(token,), weight=0.8, prefix=True))
        concepts.append(Concept(label=token, alternatives=alternatives))
    return ParsedQuery(concepts=concepts[:MAX_CONCEPTS])


# --- 2. typo tolerance --------------------------------------------------------


def _threshold() -> float:
    return float(getattr(settings, "HELPDESK_KB_TRIGRAM_THRESHOLD", 0.25))


def _similar_words_postgresql(token: str) -> list[str]:
    # On the connection the reads use (a replica inside use_replica(), docs/scaling.md).
    with transaction.atomic(using=read_alias()), read_connection().cursor() as cursor:
        # Transaction-local: other users of the connection keep the default.
        cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [str(_threshold())])
        cursor.execute(
            "SELECT word FROM knowledge_base_searchterm WHERE word %% %s "
            "ORDER BY similarity(word, %s) DESC, word LIMIT 20",
            [token, token],
        )
        return [row[0] for row in cursor.fetchall()]


def _similar_words_sqlite(token: str) -> list[str]:
    # Words sharing any trigram with the token (FTS5 trigram tokenizer
    # matches substrings); pg_trgm's formula then decides.
    grams = sorted({token[i : i + 3] for i in range(len(token) - 2)})
    if not grams:
        return []
    match = " OR ".join(f'"{g}"' for g in grams)
    with connection.cursor() as cursor:
        cursor.execute("SELECT word FROM kb_term_trgm WHERE kb_term_trgm MATCH %s ORDER BY rank LIMIT 200", [match])
        return [row[0] for row in cursor.fetchall()]


def similar_words(token: str) -> list[tuple[str, float]]:
    """Vocabulary words similar to `token` (similarity >= threshold), most
    similar first, at most TYPO_ALTERNATIVES."""
    postgresql = connection.vendor == "postgresql"
    found = _similar_words_postgresql(token) if postgresql else _similar_words_sqlite(token)
    scored = [(w, trigram_similarity(token, w)) for w in found if w != token]
    scored = [(w, s) for w, s in scored if s >= _threshold()]
    scored.sort(key=lambda ws: (-ws[1], ws[0]))
    return scored[:TYPO_ALTERNATIVES]


def add_typo_alternatives(parsed: ParsedQuery) -> None:
    """Give every unknown word of at least TYPO_MIN_LENGTH letters the
    similar vocabulary words as alternatives (weight 0.9 x similarity)."""
    single = [c for c in parsed.concepts if len(c.alternatives[0].words) == 1]
    tokens = {c.alternatives[0].words[0] for c in single}
    known = set(SearchTerm.objects.filter(word__in=tokens).values_list("word", flat=True))
    for concept in single:
        token = concept.alternatives[0].words[0]
        if token in known or len(token) < TYPO_MIN_LENGTH or token.isdigit():
            continue
        for word, similarity in similar_words(token):
            concept.alternatives.append(Alternative(words=(word,), weight=round(0.9 * similarity + 0.1, 3)))


def vocabulary_add(texts: Iterable[str], language: str = ORIGINAL) -> None:
    """Add the words of `texts` (in `language`) to the vocabulary (idempotent)."""
    # Words and their stems ("tracking" -> "track"): a misspelt query word
    # is often closer to the stem than to any inflected form.
    # Numbers are left out: typo tolerance never applies to them, and
    # order or invoice numbers would swamp the vocabulary.
    found = {w for text in texts for w in words(text) if 3 <= len(w) <= 64 and not w.isdigit()}
    new = found | {s for s in (stem(w, language) for w in found) if len(s) >= 3}
    if new:
        SearchTerm.objects.bulk_create([SearchTerm(word=w) for w in sorted(new)], ignore_conflicts=True)


# --- 3. candidates ---------------------------------------------------------------


def _tsquery_text(alternatives: Sequence[Alternative]) -> str:
    parts = []
    for alt in alternatives:
        quoted = [f"'{w}'" for w in alt.words]
        if alt.prefix:
            quoted[-1] += ":*"
        parts.append(quoted[0] if len(quoted) == 1 else "(" + " <-> ".join(quoted) + ")")
    return " | ".join(parts)


def _fts5_query(alternatives: Sequence[Alternative]) -> str:
    parts = []
    for alt in alternatives:
        text = '"' + " ".join(alt.words) + '"'
        parts.append(text + " *" if alt.prefix else text)
    return " OR ".join(parts)


def _candidates_postgresql(alternatives: Sequence[Alternative], access_q: Any, count: int) -> list[int]:
    from knowledge_base.services import search_config

    tsq = SearchQuery(_tsquery_text(alternatives), config=search_config(), search_type="raw")
    # The access predicate applies on the narrow table (same column names);
    # article rows are re-checked through `qs` afterwards.
    return list(
        ArticleSearchDoc.objects.filter(access_q, search_vector=tsq)
        .annotate(db_rank=SearchRank(F("search_vector"), tsq))
        .order_by("-db_rank", "pk")
        .values_list("pk", flat=True)[:count]
    )


def _translation_candidates_postgresql(
    alternatives: Sequence[Alternative], qs: QuerySet[Article], language: str, count: int
) -> list[int]:
    """Articles of `qs` whose `language` translation matches (its vector is
    built with that language's configuration: services.translation_index)."""
    tsq = SearchQuery(_tsquery_text(alternatives), config=pg_config(language), search_type="raw")
    return list(
        ArticleTranslation.objects.filter(language=language, search_vector=tsq, article__in=qs.values("pk"))
        .annotate(db_rank=SearchRank(F("search_vector"), tsq))
        .order_by("-db_rank", "pk")
        .values_list("article_id", flat=True)[:count]
    )


def _fts5_translation_query(alternatives: Sequence[Alternative], language: str) -> str:
    # kb_translation_fts has no stemmer (FTS5's porter is English): each
    # word matches as typed or by its Snowball stem as a prefix
    # ("Passwörter" -> passwort*); phrases as all their words, the scorer
    # checks the order.
    def one(word: str, prefix: bool) -> str:
        stemmed = stem(word, language)
        options = [f'"{word}"' + (" *" if prefix else "")]
        if len(stemmed) >= 3 and stemmed != word:
            options.append(f'"{stemmed}" *')
        return "(" + " OR ".join(options) + ")"

    parts = []
    for alt in alternatives:
        last = len(alt.words) - 1
        terms = [one(w, alt.prefix and i == last) for i, w in enumerate(alt.words)]
        parts.append(terms[0] if len(terms) == 1 else "(" + " AND ".join(terms) + ")")
    return " OR ".join(parts)


def _translation_candidates_sqlite(
    alternatives: Sequence[Alternative], qs: QuerySet[Article], language: str, count: int
) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT article_id FROM kb_translation_fts WHERE kb_translation_fts MATCH %s AND language = %s "
            "ORDER BY rank LIMIT %s",
            [_fts5_translation_query(alternatives, language), language, count * 5],
        )
        ids = [row[0] for row in cursor.fetchall()]
    allowed = set(qs.filter(pk__in=ids).values_list("pk", flat=True))
    return [i for i in ids if i in allowed][:count]


def _candidates_sqlite(alternatives: Sequence[Alternative], qs: QuerySet[Article], count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rowid FROM kb_article_fts WHERE kb_article_fts MATCH %s ORDER BY rank LIMIT %s",
            [_fts5_query(alternatives), count * 5],
        )
        ids = [row[0] for row in cursor.fetchall()]
    allowed = set(qs.filter(pk__in=ids).values_list("pk", flat=True))
    return [i for i in ids if i in allowed][:count]


# --- 4. ranking and snippets ---------------------------------------------------------


@dataclass
class _Doc:
    article: Article
    language: str
    fields: dict[str, list[str]]  # field -> words
    stems: dict[str, list[str]]
    stem_counts: dict[str, Counter[str]]


def _doc(article: Article, translated: Any = None, language: str = ORIGINAL) -> _Doc:
    """The scored text of an article, or of its `translated` version (title
    and body; tags stay with the original)."""
    if translated is None:
        texts = {"title": article.title, "tags": article.tags_text, "body": article.body_text}
    else:
        texts = {"title": translated.title, "tags": "", "body": translated.body_text}
    fw = {k: words(v) for k, v in texts.items()}
    stems = {k: [stem(w, language) for w in v] for k, v in fw.items()}
    return _Doc(
        article=article,
        language=language,
        fields=fw,
        stems=stems,
        stem_counts={k: Counter(v) for k, v in stems.items()},
    )


def _count(alt: Alternative, raw: list[str], stems: list[str], counts: Counter[str], language: str) -> int:
    """How often `alt` occurs in one field (phrases: consecutive words)."""
    target = alt.stems_in(language)
    n = len(target)
    if n == 1 and not alt.prefix:
        return counts[target[0]]
    count = 0
    for i in range(len(stems) - n + 1):
        if tuple(stems[i : i + n - 1]) != target[: n - 1]:
            continue
        last_raw, last_stem = raw[i + n - 1], stems[i + n - 1]
        if last_stem == target[-1] or (alt.prefix and last_raw.startswith(alt.words[-1])):
            count += 1
    return count


def _concept_score(concept: Concept, doc: _Doc) -> tuple[float, list[Alternative]]:
    best, matched = 0.0, []
    for alt in concept.alternatives:
        counts = {
            f: _count(alt, doc.fields[f], doc.stems[f], doc.stem_counts[f], doc.language)
            for f in ("title", "tags", "body")
        }
        if not any(counts.values()):
            continue
        matched.append(alt)
        body = BODY * (1 + 0.1 * min(counts["body"] - 1, 5)) if counts["body"] else 0.0
        score = alt.weight * (TITLE * bool(counts["title"]) + TAGS * bool(counts["tags"]) + body)
        best = max(best, score)
    return best, matched


@dataclass
class SearchResult:
    article: Article
    rank: float  # 0..1, comparable between queries (the relevance floor)
    snippet: SafeString
    matched: list[str] = field(default_factory=list)


MAX_PER_CONCEPT = TITLE + TAGS + BODY * 1.5


def _best_of(concept: Concept, docs: list[_Doc]) -> tuple[float, list[Alternative]]:
    """A concept's score in an article: the better of its original and its
    translation; the alternatives matched in either."""
    scored = [_concept_score(concept, d) for d in docs]
    matched = list(dict.fromkeys(a for _s, m in scored for a in m))
    return max(s for s, _m in scored), matched


def rank(
    parsed: ParsedQuery,
    articles: Iterable[Article],
    translations: dict[int, Any] | None = None,
    language: str = ORIGINAL,
) -> list[tuple[float, float, Article, list[Alternative]]]:
    """Score articles against the parsed query; best first, zero dropped.
    `translations`: article id -> its `language` version, scored with it
    (each article once)."""
    translations = translations or {}
    groups = [[_doc(a)] + ([_doc(a, translations[a.pk], language)] if a.pk in translations else []) for a in articles]
    if not groups:
        return []
    per_doc = [[_best_of(c, g) for c in parsed.concepts] for g in groups]
    idf, present = _concept_weights(len(parsed.concepts), per_doc)
    total_idf = sum(idf[ci] for ci in present) or 1.0
    ranked = []
    for group, row in zip(groups, per_doc, strict=True):
        doc = group[0]
        raw = sum(i * s for i, (s, _m) in zip(idf, row, strict=True))
        if raw <= 0:
            continue
        # Share of the query's (present) concepts this row matches.
        coverage = sum(1 for ci in present if row[ci][0] > 0) / (len(present) or 1)
        score = raw / (total_idf * MAX_PER_CONCEPT) * coverage
        matched = [a for _s, m in row for a in m]
        ranked.append((round(score, 6), coverage, doc.article, matched))
    ranked.sort(key=lambda t: (-t[0], t[2].title.lower(), t[2].pk))
    return ranked


def _concept_weights(n_concepts: int, per_doc: list[list[tuple[float, Any]]]) -> tuple[list[float], list[int]]:
    """(idf per concept, indexes of the concepts some candidate matches).

    Rarer concepts weigh more (idf over the candidates: all matching rows
    while there are fewer than CANDIDATES). Concepts that match none of the
    candidates (a word found nowhere) do not count against anyone's coverage.
    """
    n = len(per_doc)
    idf = []
    for ci in range(n_concepts):
        df = sum(1 for row in per_doc if row[ci][0] > 0)
        idf.append(math.log(1 + (n + 1) / (df + 0.5)))
    present = [ci for ci in range(n_concepts) if any(row[ci][0] > 0 for row in per_doc)]
    return idf, present


_MARK_START, _MARK_END = "\u2983kbm\u2984", "\u2983/kbm\u2984"


def highlight(text: str, matched: Sequence[Alternative], language: str = ORIGINAL) -> SafeString:
    """Escape `text`, then mark every whole word that a matched alternative
    matches (by stem in `language`, or by prefix while typing). Never parts
    of words."""
    stems = {s for a in matched for s in a.stems_in(language)}
    prefixes = tuple(a.words[-1] for a in matched if a.prefix)

    def mark(m: re.Match[str]) -> str:
        word = m.group(0)
        lower = word.lower()
        if is_meaningful(lower, language) and (
            stem(lower, language) in stems or (prefixes and lower.startswith(prefixes))
        ):
            return f"{_MARK_START}{word}{_MARK_END}"
        return word

    marked = _WORD_RE.sub(mark, text)
    return mark_safe(escape(marked).replace(_MARK_START, "<mark>").replace(_MARK_END, "</mark>"))  # escaped


def snippet(text: str, matched: Sequence[Alternative], width: int = 28, language: str = ORIGINAL) -> SafeString:
    """The window of `width` words with the most matched words, highlighted."""
    tokens = list(_WORD_RE.finditer(text or ""))
    if not tokens:
        return mark_safe("")
    stems = {s for a in matched for s in a.stems_in(language)}
    hits = [is_meaningful(t.group(0).lower(), language) and stem(t.group(0), language) in stems for t in tokens]
    # Sliding window with a running count (first best window wins).
    count = sum(hits[:width])
    best_start, best = 0, count
    for start in range(1, max(1, len(tokens) - width + 1)):
        count += hits[start + width - 1] - hits[start - 1]
        if count > best:
            best_start, best = start, count
    begin = tokens[best_start].start() if best_start else 0
    end_index = min(best_start + width, len(tokens)) - 1
    end = tokens[end_index].end() if end_index < len(tokens) - 1 else len(text)
    prefix = "… " if begin else ""
    suffix = " …" if end < len(text) else ""
    return mark_safe(prefix + highlight(text[begin:end], matched, language) + suffix)  # highlight() escapes


def search(
    *,
    qs: QuerySet[Article],
    access_q: Any,
    query: str,
    limit: int = 20,
    prefix_last: bool = False,
    floor: float = 0.0,
    min_coverage: float = 0.0,
    language: str | None = None,
) -> list[SearchResult]:
    """Articles of `qs` matching `query`, best first (see module docstring).
    `floor`: minimum rank (0..1); suggestions use one so that nothing is
    better than an irrelevant suggestion. `min_coverage`: the share of the
    query (weighted by rarity) a result must match. `language`: the
    reader's, when it is not the site's: its translations are searched too
    and shown (title and snippet; the article object is not saved)."""
    reader = language or ORIGINAL
    parsed = parse_query(query, prefix_last=prefix_last, language=reader)
    if not parsed.concepts:
        return []
    add_typo_alternatives(parsed)
    alternatives = parsed.alternatives
    # Three candidates per shown result, at least 30, at most CANDIDATES.
    count = min(CANDIDATES, max(30, 3 * limit))
    if connection.vendor == "postgresql":
        ids = _candidates_postgresql(alternatives, access_q, count)
        if language:
            ids += _translation_candidates_postgresql(alternatives, qs, language, count)
    else:
        ids = _candidates_sqlite(alternatives, qs, count)
        if language:
            ids += _translation_candidates_sqlite(alternatives, qs, language, count)
    if not ids:
        return []
    ids = list(dict.fromkeys(ids))
    # Only the columns the scorer and the result lists read.
    articles = list(qs.filter(pk__in=ids).defer("body", "body_html"))
    translations: dict[int, Any] = {}
    if language:
        # Every candidate's version in the reader's language (one query):
        # scored, and shown even when the original matched.
        found = ArticleTranslation.objects.filter(article_id__in=ids, language=language)
        translations = {t.article_id: t for t in found.only("article_id", "language", "title", "body_text")}
    results = []
    for score, coverage, article, matched in rank(parsed, articles, translations, reader):
        if score < floor or coverage < min_coverage:
            continue
        shown = translations.get(article.pk)
        if shown is not None:
            article.title = shown.title  # display only (as selectors.titles_in_language)
        results.append(
            SearchResult(
                article=article,
                rank=score,
                snippet=snippet(shown.body_text, matched, language=reader)
                if shown is not None
                else snippet(article.body_text, matched),
                matched=sorted({" ".join(a.words) for a in matched}),
            )
        )
        if len(results) >= limit:
            break
    return results
