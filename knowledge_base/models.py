"""Knowledge base: categories, articles with versions, feedback, search log
and deflection events.

Writes go through `knowledge_base.services`; reads and access control
through `knowledge_base.selectors`.
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Audience(models.TextChoices):
    """Which team an article serves (matches tickets.QueueKind, plus both)."""

    SUPPORT = "support", _("Support")
    SERVICE = "service", _("Service")
    BOTH = "both", _("Support and service")


class Category(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ArticleTag(models.Model):
    name = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public")
        INTERNAL = "internal", _("Internal (staff only)")

    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles")
    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=320, unique=True)
    body = models.TextField(blank=True)  # Markdown source
    # Derived on write by the service: sanitised HTML and its plain text
    # (the plain text feeds search and snippets).
    body_html = models.TextField(blank=True, editable=False)
    body_text = models.TextField(blank=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.BOTH)
    tags = models.ManyToManyField(ArticleTag, blank=True, related_name="articles")
    tags_text = models.CharField(max_length=1000, blank=True, editable=False)  # denormalised for search
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="kb_articles"
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="kb_articles"
    )
    view_count = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    # Set when a writer confirms the article is still right; the reminder
    # list shows articles not reviewed for N months (never reviewed: since
    # publication or creation).
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    last_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Chosen by the writer; shown before the automatic ones (same tags or
    # category).
    related_articles = models.ManyToManyField("self", blank=True, symmetrical=False, related_name="+")

    class Meta:
        ordering = ["title"]
        indexes = [
            models.Index(fields=["status", "visibility", "audience"], name="kb_article_visible"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=["draft", "published"]), name="kb_article_status"),
            models.CheckConstraint(
                condition=models.Q(visibility__in=["public", "internal"]), name="kb_article_visibility"
            ),
            models.CheckConstraint(
                condition=models.Q(audience__in=["support", "service", "both"]), name="kb_article_audience"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC


class ArticleSearchDoc(models.Model):
    """The search index of one article, kept narrow on purpose: ranking reads
    only these rows (title, access columns, vector), never the wide article
    row with its body, HTML and text. Rewritten by `services.article_index`
    in the same transaction as every article write. The access columns are
    copies; selectors re-check access on the article rows they return.
    """

    article = models.OneToOneField(Article, primary_key=True, on_delete=models.CASCADE, related_name="search_doc")
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=16)
    visibility = models.CharField(max_length=16)
    audience = models.CharField(max_length=16)
    # title (A) > tags (B) > body (C)
    search_vector = SearchVectorField(null=True)
    # title (A) + tags (B) only: suggestions while typing match what an
    # article is about, not every body that mentions a common word.
    title_vector = SearchVectorField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "visibility", "audience"], name="kb_searchdoc_visible"),
            # PostgreSQL only (see migration 0002): created by PostgresOnlyAddIndex.
            GinIndex(fields=["search_vector"], name="kb_searchdoc_vector_gin"),
            GinIndex(fields=["title_vector"], name="kb_searchdoc_title_gin"),
            GinIndex(fields=["title"], name="kb_searchdoc_title_trgm", opclasses=["gin_trgm_ops"]),
        ]


class ArticleVersion(models.Model):
    """A snapshot written on every change of title or body (append-only)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="kb_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"


class ArticleTranslation(models.Model):
    """An article in another shipped language (docs/languages.md, Help-centre
    translations). The original article is in settings.LANGUAGE_CODE; a
    reader whose language has a translation sees it, everyone else the
    original. Written by `services.article_translation_save` (same rules
    as the article: staff write drafts, managers change published ones)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=16)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)  # Markdown source
    # Derived on write, sanitised like the article's (knowledge_base.rendering).
    body_html = models.TextField(blank=True, editable=False)
    body_text = models.TextField(blank=True, editable=False)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Title (A) + body (C) with the text-search configuration of `language`
    # (PostgreSQL; services.translation_index). SQLite: kb_translation_fts.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["language"]
        constraints = [models.UniqueConstraint(fields=["article", "language"], name="kb_translation_unique_language")]
        indexes = [
            # PostgreSQL only (migration 0006: PostgresOnlyAddIndex).
            GinIndex(fields=["search_vector"], name="kb_translation_vector_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} [{self.language}]"


class ArticleFeedback(models.Model):
    """'Was this helpful?': one per user (or anonymous session) per article;
    a later answer replaces the earlier one."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    session_key = models.CharField(max_length=64, blank=True)
    helpful = models.BooleanField()
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["article", "user"], condition=models.Q(user__isnull=False), name="kb_feedback_one_per_user"
            ),
            models.UniqueConstraint(
                fields=["article", "session_key"],
                condition=models.Q(user__isnull=True),
                name="kb_feedback_one_per_session",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(session_key=""), name="kb_feedback_has_owner"
            ),
        ]


class SearchLog(models.Model):
    """One search someone ran (normalised query, how many results)."""

    class Source(models.TextChoices):
        KB = "kb", "Knowledge base page"
        PORTAL = "portal", "Portal"
        AGENT = "agent", "Agent workspace"
        API = "api", "API"

    query = models.CharField(max_length=200)
    result_count = models.PositiveIntegerField()
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.KB)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], name="kb_searchlog_created"),
            models.Index(fields=["result_count", "created_at"], name="kb_searchlog_zero"),
        ]


class DeflectionEvent(models.Model):
    """A portal visitor opened an article suggested while they typed a
    request. Whether it deflected the request is decided by
    `selectors.deflection_outcome_q` (see the rule there)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="deflections")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    session_key = models.CharField(max_length=64, blank=True)
    query = models.CharField(max_length=200, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["opened_at"], name="kb_deflection_opened")]


class SearchTerm(models.Model):
    """The vocabulary of the knowledge base: every word (lower case, 3+
    letters) of any article's title, tags or body, added on write and never
    removed (a stale word can only propose a correction that finds
    nothing). Typo tolerance compares unknown query words with these by
    trigram similarity: pg_trgm on PostgreSQL, an FTS5 trigram table on
    SQLite (migration 0004)."""

    word = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [
            # PostgreSQL only (PostgresOnlyAddIndex in migration 0004).
            GinIndex(fields=["word"], name="kb_searchterm_word_trgm", opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return self.word


class SynonymGroup(models.Model):
    """Words and phrases the help centre treats as the same for search
    (e.g. "refund, money back, reimbursement"). Edited by managers on
    /kb/manage/synonyms/ and validated by `services.synonyms_parse`."""

    terms = models.TextField(help_text="Comma-separated words or short phrases.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.terms

    @property
    def term_list(self) -> list[str]:
        return [t.strip() for t in self.terms.split(",") if t.strip()]


def _image_upload_to(instance: "ArticleImage", filename: str) -> str:
    # Random, not the uploaded name: the stored path never comes from input.
    return f"kb-images/{timezone.now():%Y/%m}/{instance.token}"


class ArticleImage(models.Model):
    """An image uploaded into an article. Served by /kb/images/<token>/ only
    to people who may read the article (public images only on published
    public articles), like ticket attachments."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="images")
    token = models.CharField(max_length=32, unique=True)
    file = models.FileField(upload_to=_image_upload_to, max_length=300)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.filename
