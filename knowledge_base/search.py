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
"""

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from typing import Any

import snowballstemmer
from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from helpdesk.db_router import read_alias, read_connection
from knowledge_base.models import Article, ArticleSearchDoc, SearchTerm, SynonymGroup

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


@cache
def _stemmer() -> Any:
    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball English, as PostgreSQL's `english` configuration. Cached:
    ranking stems every word of up to CANDIDATES articles, and a help
    centre's vocabulary is small."""
    return str(_stemmer().stemWord(word.lower()))


def words(text: str) -> list[str]:
    return _WORD_RE.findall((text or "").lower())


def is_meaningful(word: str) -> bool:
    """One-letter tokens and stop words never match on their own."""
    return len(word) >= 2 and word not in STOP_WORDS


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


def parse_query(query: str, *, prefix_last: bool = False) -> ParsedQuery:
    """Split a query into concepts (see the module docstring, step 1)."""
    concepts: list[Concept] = []
    for phrase in _PHRASE_RE.findall(query or ""):
        phrase_words = tuple(words(phrase))
        if any(is_meaningful(w) for w in phrase_words):
            concepts.append(Concept(label=" ".join(phrase_words), alternatives=[Alternative(words=phrase_words)]))
    rest = _PHRASE_RE.sub(" ", query or "")
    tokens = [w for w in words(rest) if is_meaningful(w)]
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


def vocabulary_add(texts: Iterable[str]) -> None:
    """Add the words of `texts` to the vocabulary (idempotent)."""
    # Words and their stems ("tracking" -> "track"): a misspelt query word
    # is often closer to the stem than to any inflected form.
    # Numbers are left out: typo tolerance never applies to them, and
    # order or invoice numbers would swamp the vocabulary.
    found = {w for text in texts for w in words(text) if 3 <= len(w) <= 64 and not w.isdigit()}
    new = found | {s for s in (stem(w) for w in found) if len(s) >= 3}
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
    fields: dict[str, list[str]]  # field -> words
    stems: dict[str, list[str]]
    stem_counts: dict[str, Counter[str]]


def _doc(article: Article) -> _Doc:
    texts = {"title": article.title, "tags": article.tags_text, "body": article.body_text}
    fw = {k: words(v) for k, v in texts.items()}
    stems = {k: [stem(w) for w in v] for k, v in fw.items()}
    return _Doc(article=article, fields=fw, stems=stems, stem_counts={k: Counter(v) for k, v in stems.items()})


def _count(alt: Alternative, raw: list[str], stems: list[str], counts: Counter[str]) -> int:
    """How often `alt` occurs in one field (phrases: consecutive words)."""
    target = alt.stems
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
        counts = {f: _count(alt, doc.fields[f], doc.stems[f], doc.stem_counts[f]) for f in ("title", "tags", "body")}
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


def rank(parsed: ParsedQuery, articles: Iterable[Article]) -> list[tuple[float, float, Article, list[Alternative]]]:
    """Score articles against the parsed query; best first, zero dropped."""
    docs = [_doc(a) for a in articles]
    if not docs:
        return []
    per_doc = [[_concept_score(c, d) for c in parsed.concepts] for d in docs]
    idf, present = _concept_weights(len(parsed.concepts), per_doc)
    total_idf = sum(idf[ci] for ci in present) or 1.0
    ranked = []
    for doc, row in zip(docs, per_doc, strict=True):
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


def highlight(text: str, matched: Sequence[Alternative]) -> SafeString:
    """Escape `text`, then mark every whole word that a matched alternative
    matches (by stem, or by prefix while typing). Never parts of words."""
    stems = {s for a in matched for s in a.stems}
    prefixes = tuple(a.words[-1] for a in matched if a.prefix)

    def mark(m: re.Match[str]) -> str:
        word = m.group(0)
        lower = word.lower()
        if is_meaningful(lower) and (stem(lower) in stems or (prefixes and lower.startswith(prefixes))):
            return f"{_MARK_START}{word}{_MARK_END}"
        return word

    marked = _WORD_RE.sub(mark, text)
    return mark_safe(escape(marked).replace(_MARK_START, "<mark>").replace(_MARK_END, "</mark>"))  # escaped


def snippet(text: str, matched: Sequence[Alternative], width: int = 28) -> SafeString:
    """The window of `width` words with the most matched words, highlighted."""
    tokens = list(_WORD_RE.finditer(text or ""))
    if not tokens:
        return mark_safe("")
    stems = {s for a in matched for s in a.stems}
    hits = [is_meaningful(t.group(0).lower()) and stem(t.group(0)) in stems for t in tokens]
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
    return mark_safe(prefix + highlight(text[begin:end], matched) + suffix)  # highlight() escapes


def search(
    *,
    qs: QuerySet[Article],
    access_q: Any,
    query: str,
    limit: int = 20,
    prefix_last: bool = False,
    floor: float = 0.0,
    min_coverage: float = 0.0,
) -> list[SearchResult]:
    """Articles of `qs` matching `query`, best first (see module docstring).
    `floor`: minimum rank (0..1); suggestions use one so that nothing is
    better than an irrelevant suggestion. `min_coverage`: the share of the
    query (weighted by rarity) a result must match."""
    parsed = parse_query(query, prefix_last=prefix_last)
    if not parsed.concepts:
        return []
    add_typo_alternatives(parsed)
    alternatives = parsed.alternatives
    # Three candidates per shown result, at least 30, at most CANDIDATES.
    count = min(CANDIDATES, max(30, 3 * limit))
    if connection.vendor == "postgresql":
        ids = _candidates_postgresql(alternatives, access_q, count)
    else:
        ids = _candidates_sqlite(alternatives, qs, count)
    if not ids:
        return []
    # Only the columns the scorer and the result lists read.
    articles = list(qs.filter(pk__in=ids).defer("body", "body_html"))
    results = []
    for score, coverage, article, matched in rank(parsed, articles):
        if score < floor or coverage < min_coverage:
            continue
        results.append(
            SearchResult(
                article=article,
                rank=score,
                snippet=snippet(article.body_text, matched),
                matched=sorted({" ".join(a.words) for a in matched}),
            )
        )
        if len(results) >= limit:
            break
    return results
