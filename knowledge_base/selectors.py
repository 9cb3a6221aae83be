"""Knowledge-base reads and access control: the one place that decides which
articles a user may see. Pages, search, portal suggestions and the API all
go through `article_list_for_user` / `article_get_for_user`.

Who sees what:
- anonymous visitors and customers: published, public articles;
- agents, managers, admins: published articles, public and internal; drafts
  only through the staff management list (`article_list_for_staff`).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Avg, Case, Count, Exists, F, FloatField, Max, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Cast, Coalesce
from django.http import Http404
from django.utils import timezone, translation

from knowledge_base import search as kb_search
from knowledge_base.models import (
    Article,
    ArticleImage,
    ArticleTranslation,
    ArticleVersion,
    Audience,
    Category,
    DeflectionEvent,
    SearchLog,
)

# A deflection is decided this long after the suggested article was opened.
DEFLECTION_WINDOW = timedelta(minutes=30)


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


@dataclass(frozen=True)
class ArticleReading:
    """What a reader sees of an article: its translation in their language
    when there is one, else the original (docs/languages.md)."""

    title: str
    body_html: str
    language: str
    updated_at: datetime
    translated: bool


def article_reading(*, article: Article, language: str) -> ArticleReading:
    """The `language` version of `article`, else the original (one query)."""
    found = ArticleTranslation.objects.filter(article=article, language=language).defer("search_vector").first()
    if found is None:
        return ArticleReading(article.title, article.body_html, settings.LANGUAGE_CODE, article.updated_at, False)
    return ArticleReading(found.title, found.body_html, found.language, found.updated_at, True)


def titles_in_language(articles: Iterable[Article], language: str) -> list[Article]:
    """The articles with their titles in `language` where a translation has
    one, for lists, search results and suggestions (display only, never
    saved; docs/languages.md). One query; none in the site language."""
    found = list(articles)
    if language == settings.LANGUAGE_CODE or not found:
        return found
    titles = dict(
        ArticleTranslation.objects.filter(article_id__in={a.pk for a in found}, language=language).values_list(
            "article_id", "title"
        )
    )
    for article in found:
        article.title = titles.get(article.pk, article.title)
    return found


def article_translation_get(*, article: Article, language: str) -> ArticleTranslation:
    try:
        return ArticleTranslation.objects.get(article=article, language=language)
    except ArticleTranslation.DoesNotExist:
        raise Http404("No such translation.") from None


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
    """The writer's chosen related articles (those `user` may read) first,
    then visible articles sharing tags or the category, most shared tags
    first."""
    chosen = list(
        article_list_for_user(user=user).filter(pk__in=article.related_articles.values("pk")).order_by("title")
    )
    if len(chosen) >= limit:
        return chosen[:limit]
    tag_ids = list(article.tags.values_list("pk", flat=True))
    q = Q(tags__in=tag_ids) if tag_ids else Q(pk__in=[])
    if article.category_id:
        q |= Q(category_id=article.category_id)
    qs = (
        article_list_for_user(user=user)
        .filter(q)
        .exclude(pk__in=[article.pk, *(a.pk for a in chosen)])
        .annotate(shared=Count("tags", filter=Q(tags__in=tag_ids), distinct=True))
        .order_by("-shared", "-view_count", "title")
    )
    return chosen + list(qs[: limit - len(chosen)])


def article_image_get_for_user(*, user: Any, token: str) -> ArticleImage:
    """An article image if `user` may read its article: staff always (the
    editor shows drafts), everyone else only images of published public
    articles. Http404 otherwise (never 403)."""
    image = ArticleImage.objects.select_related("article").filter(token=token).first()
    if image is None:
        raise Http404("No such image.")
    if not _is_staff(user) and not article_list_for_user(user=user).filter(pk=image.article_id).exists():
        raise Http404("No such image.")
    return image


def article_review_due(*, user: Any, months: int = 6) -> QuerySet[Article]:
    """Published articles not reviewed for `months` months (never reviewed:
    counted from publication), oldest first. Staff only."""
    if not _is_staff(user):
        return Article.objects.none()
    cutoff = timezone.now() - timedelta(days=round(months * 30.44))
    reviewed = Coalesce("last_reviewed_at", "published_at", "created_at")
    return (
        Article.objects.filter(status=Article.Status.PUBLISHED)
        .annotate(reviewed_on=reviewed)
        .filter(reviewed_on__lt=cutoff)
        .select_related("category", "last_reviewed_by")
        .order_by("reviewed_on", "pk")
    )


# --- search -----------------------------------------------------------------

SearchResult = kb_search.SearchResult
# Suggestions while typing: nothing below this rank (0..1) is shown, so an
# irrelevant article never looks like an answer. A title match of the
# whole query ranks about 0.55, a tag match 0.27, one body mention of the
# only word 0.18, a body word completed from a prefix 0.145 (not enough),
# one of two words in a body ~0.05. Chosen on the query set: 0.15 keeps
# recall@3 of suggestions at ~0.97 with 1.6 suggestions shown on average.
SUGGEST_FLOOR = 0.15
# The search page: a result must match at least half of the query
# (weighted by how rare each word is).
SEARCH_MIN_COVERAGE = 0.5


def article_search(
    *,
    user: Any,
    query: str,
    limit: int = 20,
    audience: str | None = None,
    match_all: bool = True,
    prefix_last: bool = False,
    floor: float = 0.0,
    language: str | None = None,
) -> list[SearchResult]:
    """Articles `user` may read that match `query`, best first, each with a
    snippet (HTML-escaped; whole matched words in <mark>).

    `language` (default: the active one): the reader's. Unless it is the
    site's, the translations in it are searched too, and every result that
    has one carries its title and snippet (docs/knowledge-base.md).

    The same behaviour on PostgreSQL and SQLite (`knowledge_base.search`):
    stop words and one-letter words never match on their own, "quoted
    phrases", synonyms, typo tolerance on title, tag and body words.
    `match_all`: a result must cover at least half of the query; False
    (staff look-ups) accepts any matching word.
    """
    limit = max(1, min(limit, 100))
    access_q = article_visible_q(user=user) & _audience_q(audience)
    reader = (language or translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return kb_search.search(
        qs=article_list_for_user(user=user, audience=audience),
        access_q=access_q,
        query=query,
        limit=limit,
        prefix_last=prefix_last,
        floor=floor,
        min_coverage=SEARCH_MIN_COVERAGE if match_all else 0.0,
        language=None if reader == settings.LANGUAGE_CODE.split("-")[0] else reader,
    )


def article_suggest_for_user(*, user: Any, query: str, limit: int = 5, audience: str | None = None) -> list[Any]:
    """Suggestions while someone types (portal new request, agent "insert
    article link"): at most `limit` (5 by default, 8 at most), only above
    SUGGEST_FLOOR; the last word may be a prefix (typing in progress)."""
    if len(query.strip()) < 3:
        return []
    return article_search(
        user=user,
        query=query,
        limit=min(limit, 8),
        audience=audience,
        prefix_last=True,
        floor=SUGGEST_FLOOR,
    )


def article_suggest_articles(*, user: Any, query: str, limit: int = 8) -> list[Article]:
    """The articles of `article_suggest_for_user` (search rows wrap them with
    rank and snippet): the agent ticket page's article links (helpdesk.lib.providers)."""
    return [r.article for r in article_suggest_for_user(user=user, query=query, limit=limit)]


def article_link_search(*, user: Any, query: str, exclude_id: int | None = None) -> list[Article]:
    """The editor's "link to another article" picker: published articles
    the writer may read, by the same search (any word may match)."""
    results = article_search(user=user, query=query, limit=10, match_all=False, prefix_last=True)
    return [r.article for r in results if r.article.pk != exclude_id]


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
        .values("outcome")  # type: ignore[misc]  # annotated in deflection_annotated
        .annotate(n=Count("id"))
        .order_by()
    )
    out = {"deflected": 0, "not_deflected": 0, "pending": 0}
    for row in rows:
        out[row["outcome"]] = row["n"]
    out["opened"] = sum(out.values())
    return out
