"""Knowledge-base reads and access control: the one place that decides which
articles a user may see. Pages, search, portal suggestions and the API all
go through `article_list_for_user` / `article_get_for_user`.

Who sees what:
- anonymous visitors and customers: published, public articles;
- agents, managers, admins: published articles, public and internal; drafts
  only through the staff management list (`article_list_for_staff`).
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import connection, transaction
from django.db.models import Avg, Case, Count, Exists, F, FloatField, Max, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from knowledge_base.models import (
    Article,
    ArticleSearchDoc,
    ArticleVersion,
    Audience,
    Category,
    DeflectionEvent,
    SearchLog,
)
from knowledge_base.services import search_config

# A deflection is decided this long after the suggested article was opened.
DEFLECTION_WINDOW = timedelta(minutes=30)
# Weights for D, C, B, A (body is C, tags B, title A): a title hit outranks
# several body hits.
RANK_WEIGHTS = [0.02, 0.1, 0.4, 1.0]
TRIGRAM_MIN_TOKEN = 4
MAX_TOKENS = 8
_MARK_START, _MARK_END = "\u2983kbm\u2984", "\u2983/kbm\u2984"
_TOKEN_RE = re.compile(r"\w+", re.UNICODE)


def _is_staff(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_staff_role)


def article_visible_q(*, user: Any) -> Q:
    """Predicate of the published articles `user` may read."""
    q = Q(status=Article.Status.PUBLISHED)
    if not _is_staff(user):
        q &= Q(visibility=Article.Visibility.PUBLIC)
    return q


def _audience_q(audience: str | None) -> Q:
    if audience in (Audience.SUPPORT, Audience.SERVICE):
        return Q(audience__in=[audience, Audience.BOTH])
    return Q()


def article_list_for_user(*, user: Any, audience: str | None = None) -> QuerySet[Article]:
    """Published articles `user` may read, optionally for one team
    (`support`/`service`; articles for both always match)."""
    return Article.objects.filter(article_visible_q(user=user) & _audience_q(audience)).select_related("category")


def article_get_for_user(*, user: Any, slug: str) -> Article:
    """The article if `user` may read it; Http404 otherwise (never 403).
    Staff may also open drafts (preview)."""
    qs = Article.objects.select_related("category", "author") if _is_staff(user) else article_list_for_user(user=user)
    try:
        return qs.get(slug=slug)
    except Article.DoesNotExist:
        raise Http404("No such article.") from None


def article_list_for_staff(*, user: Any, status: str | None = None) -> QuerySet[Article]:
    """Every article, drafts included, for the staff management list."""
    if not _is_staff(user):
        return Article.objects.none()
    qs = Article.objects.select_related("category", "author").order_by("-updated_at")
    if status:
        qs = qs.filter(status=status)
    return qs


def article_get_for_staff(*, user: Any, article_id: int) -> Article:
    try:
        return article_list_for_staff(user=user).get(pk=article_id)
    except (Article.DoesNotExist, ValueError, TypeError):
        raise Http404("No such article.") from None


def category_list() -> QuerySet[Category]:
    return Category.objects.all()


def category_get(*, slug: str) -> Category:
    try:
        return Category.objects.get(slug=slug)
    except Category.DoesNotExist:
        raise Http404("No such category.") from None


def article_related(*, user: Any, article: Article, limit: int = 5) -> list[Article]:
    """Visible articles sharing tags or the category, most shared tags first."""
    tag_ids = list(article.tags.values_list("pk", flat=True))
    q = Q(tags__in=tag_ids) if tag_ids else Q(pk__in=[])
    if article.category_id:
        q |= Q(category_id=article.category_id)
    qs = (
        article_list_for_user(user=user)
        .filter(q)
        .exclude(pk=article.pk)
        .annotate(shared=Count("tags", filter=Q(tags__in=tag_ids), distinct=True))
        .order_by("-shared", "-view_count", "title")
    )
    return list(qs[:limit])


# --- search -----------------------------------------------------------------


@dataclass
class SearchResult:
    article: Article
    rank: float
    snippet: SafeString


def _tokens(query: str) -> list[str]:
    return _TOKEN_RE.findall((query or "").lower())[:MAX_TOKENS]


def _tsquery(tokens: list[str], *, match_all: bool, prefix_last: bool) -> SearchQuery:
    """A raw tsquery from word tokens only (so user input can never be a
    syntax error); the last token may be a prefix (typing in progress)."""
    parts = list(tokens)
    if prefix_last:
        parts[-1] = f"{parts[-1]}:*"
    return SearchQuery((" & " if match_all else " | ").join(parts), config=search_config(), search_type="raw")


def _highlight(text: str) -> SafeString:
    """Escape everything, then turn only our own sentinels into <mark>."""
    safe = escape(text).replace(_MARK_START, "<mark>").replace(_MARK_END, "</mark>")
    return mark_safe(safe)  # escaped above; only <mark> added


def _threshold() -> float:
    return float(getattr(settings, "HELPDESK_KB_TRIGRAM_THRESHOLD", 0.45))


@transaction.atomic
def _search_postgresql(
    qs: QuerySet[Article],
    access_q: Q,
    query: str,
    tokens: list[str],
    *,
    limit: int,
    match_all: bool,
    prefix_last: bool,
    titles_only: bool,
) -> list[SearchResult]:
    vector = "title_vector" if titles_only else "search_vector"
    tsq = _tsquery(tokens, match_all=match_all, prefix_last=prefix_last)
    # Typo tolerance: title words similar to the query words (pg_trgm `%>`,
    # served by the trigram GIN index). On the search page every long word
    # must be similar (AND, like the full-text part); for suggestions any.
    typo_q = Q(pk__in=[])
    long_tokens = [t for t in tokens if len(t) >= TRIGRAM_MIN_TOKEN]
    if long_tokens:
        typo_q = Q()
        for token in long_tokens:
            similar = Q(title__trigram_word_similar=token)
            typo_q = (typo_q & similar) if match_all else (typo_q | similar)
    with connection.cursor() as cursor:
        # Transaction-local, so other users of the connection keep the default.
        cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)", [str(_threshold())])
    # Rank on the narrow search table; the same access predicate applies
    # (same column names), and the article rows below are re-checked
    # through `qs`, so a stale copy can only hide a result, never leak one.
    docs = ArticleSearchDoc.objects.filter(access_q).filter(Q(**{vector: tsq}) | typo_q)
    ranked = (
        docs.annotate(
            # Full-text hits rank by ts_rank (title A >> body C); rows found
            # only by a typo-tolerant title match rank by half their title
            # similarity. CASE keeps word_similarity off the common path.
            rank=Case(
                When(Q(**{vector: tsq}), then=SearchRank(F(vector), tsq, weights=RANK_WEIGHTS)),
                default=Value(0.5) * TrigramWordSimilarity(Value(query), "title"),
                output_field=FloatField(),
            )
        )
        .order_by("-rank", "pk")
        .values_list("pk", "rank")[:limit]
    )
    ranks = dict(ranked)
    if not ranks:
        return []
    # Headlines are costly: only for the rows on the page.
    rows = (
        qs.filter(pk__in=list(ranks))
        .annotate(
            snippet=SearchHeadline(
                "body_text",
                tsq,
                config=search_config(),
                start_sel=_MARK_START,
                stop_sel=_MARK_END,
                max_words=30,
                min_words=12,
                max_fragments=2,
                fragment_delimiter=" … ",
            )
        )
        .defer("body", "body_html", "body_text")
    )
    results = [SearchResult(article=a, rank=float(ranks[a.pk]), snippet=_highlight(a.snippet)) for a in rows]
    results.sort(key=lambda r: (-r.rank, r.article.pk))
    return results


def _snippet_plain(text: str, tokens: list[str], width: int = 160) -> SafeString:
    lower = text.lower()
    hits = [lower.find(t) for t in tokens if lower.find(t) >= 0]
    start = max(0, min(hits) - width // 3) if hits else 0
    excerpt = text[start : start + width]
    marked = excerpt
    for token in sorted(set(tokens), key=len, reverse=True):
        marked = re.sub(re.escape(token), lambda m: f"{_MARK_START}{m.group(0)}{_MARK_END}", marked, flags=re.I)
    return _highlight(("… " if start else "") + marked + (" …" if start + width < len(text) else ""))


def _search_fallback(qs: QuerySet[Article], tokens: list[str], *, limit: int, match_all: bool) -> list[SearchResult]:
    """SQLite (embedded default): icontains on title, tags and body; title
    hits score highest. No typo tolerance."""
    per_token = [Q(title__icontains=t) | Q(tags_text__icontains=t) | Q(body_text__icontains=t) for t in tokens]
    q = per_token[0]
    for p in per_token[1:]:
        q = (q & p) if match_all else (q | p)
    score = sum(
        (
            Case(When(title__icontains=t, then=Value(1.0)), default=Value(0.0), output_field=FloatField())
            + Case(When(tags_text__icontains=t, then=Value(0.4)), default=Value(0.0), output_field=FloatField())
            + Case(When(body_text__icontains=t, then=Value(0.1)), default=Value(0.0), output_field=FloatField())
            for t in tokens
        ),
        start=Value(0.0, output_field=FloatField()),
    )
    rows = qs.filter(q).annotate(rank=score).order_by("-rank", "pk")[:limit]
    return [SearchResult(article=a, rank=float(a.rank), snippet=_snippet_plain(a.body_text, tokens)) for a in rows]


def article_search(
    *,
    user: Any,
    query: str,
    limit: int = 20,
    audience: str | None = None,
    match_all: bool = True,
    prefix_last: bool = False,
    titles_only: bool = False,
) -> list[SearchResult]:
    """Articles `user` may read that match `query`, best first, each with a
    highlighted snippet (HTML-escaped; only <mark> added).

    PostgreSQL: full-text search on the weighted vector (title > tags >
    body; `titles_only`: title and tags), ranked by ts_rank, and
    typo-tolerant on titles (pg_trgm word similarity; rows found only that
    way rank by half their similarity). Elsewhere: icontains fallback.
    """
    tokens = _tokens(query)
    if not tokens:
        return []
    limit = max(1, min(limit, 100))
    qs = article_list_for_user(user=user, audience=audience)
    if connection.vendor == "postgresql":
        access_q = article_visible_q(user=user) & _audience_q(audience)
        return _search_postgresql(
            qs,
            access_q,
            query,
            tokens,
            limit=limit,
            match_all=match_all,
            prefix_last=prefix_last,
            titles_only=titles_only,
        )
    return _search_fallback(qs, tokens, limit=limit, match_all=match_all)


def article_suggest_for_user(*, user: Any, query: str, limit: int = 5, audience: str | None = None) -> list[Any]:
    """Suggestions while someone types (portal new request, agent "insert
    article link"): any word of the title or tags may match (typos in
    titles tolerated), the last word is a prefix. Bodies are not searched:
    a subject line is compared with what articles are about."""
    if len(query.strip()) < 3:
        return []
    return article_search(
        user=user,
        query=query,
        limit=limit,
        audience=audience,
        match_all=False,
        prefix_last=True,
        titles_only=True,
    )


# --- versions ----------------------------------------------------------------


def version_list(*, article: Article) -> QuerySet[ArticleVersion]:
    return article.versions.select_related("author").order_by("-number")


def version_get(*, article: Article, number: int) -> ArticleVersion:
    try:
        return article.versions.select_related("author").get(number=number)
    except ArticleVersion.DoesNotExist:
        raise Http404("No such version.") from None


# --- reports for managers ------------------------------------------------------


def article_helpfulness_worst(*, limit: int = 20, min_votes: int = 1) -> QuerySet[Article]:
    """Articles with feedback, least helpful share first (then most votes)."""
    return (
        Article.objects.annotate(
            votes_yes=Count("feedback", filter=Q(feedback__helpful=True)),
            votes_no=Count("feedback", filter=Q(feedback__helpful=False)),
        )
        .annotate(votes=F("votes_yes") + F("votes_no"))
        .filter(votes__gte=min_votes)
        .annotate(helpful_share=Cast(F("votes_yes"), FloatField()) / Cast(F("votes"), FloatField()))
        .order_by("helpful_share", "-votes", "pk")[:limit]
    )


def _since(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def search_zero_results(*, days: int = 30, limit: int = 50) -> QuerySet[Any]:
    """Queries that found nothing, most frequent first."""
    return (
        SearchLog.objects.filter(result_count=0, created_at__gte=_since(days))
        .values("query")
        .annotate(searches=Count("id"), last_at=Max("created_at"))
        .order_by("-searches", "query")[:limit]
    )


def search_top(*, days: int = 30, limit: int = 50) -> QuerySet[Any]:
    """Most frequent queries with their average result count."""
    return (
        SearchLog.objects.filter(created_at__gte=_since(days))
        .values("query")
        .annotate(searches=Count("id"), avg_results=Avg("result_count"))
        .order_by("-searches", "query")[:limit]
    )


def deflection_annotated(*, now: datetime | None = None) -> QuerySet[DeflectionEvent]:
    """Deflection events with their outcome.

    The rule: a customer opened an article suggested while typing a request.
    If the same customer submitted a ticket within DEFLECTION_WINDOW after
    opening it, the request was *not deflected*; if the window has passed
    without a ticket, it was *deflected*; before that it is *pending*.
    Anonymous openings cannot be linked to a ticket and count as deflected
    once the window has passed.
    """
    from tickets.models import Ticket  # a read-only subquery on ticket rows

    now = now or timezone.now()
    submitted = Ticket.objects.filter(
        requester_id=OuterRef("user_id"),
        created_at__gte=OuterRef("opened_at"),
        created_at__lt=OuterRef("opened_at") + DEFLECTION_WINDOW,
    )
    return DeflectionEvent.objects.annotate(submitted=Exists(submitted)).annotate(
        outcome=Case(
            When(submitted=True, then=Value("not_deflected")),
            When(opened_at__lte=now - DEFLECTION_WINDOW, then=Value("deflected")),
            default=Value("pending"),
        )
    )


def deflection_summary(*, days: int = 30, now: datetime | None = None) -> dict[str, int]:
    """Counts of opened / deflected / not_deflected / pending."""
    rows = (
        deflection_annotated(now=now)
        .filter(opened_at__gte=_since(days))
        .values("outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    out = {"deflected": 0, "not_deflected": 0, "pending": 0}
    for row in rows:
        out[row["outcome"]] = row["n"]
    out["opened"] = sum(out.values())
    return out
