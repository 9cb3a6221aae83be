"""Knowledge-base writes. Every rule lives here: who may publish, versions,
the search index, feedback, view counts, search log and deflection events.

Rules:
- Staff (agents, managers, admins) create and edit drafts.
- Only managers (and admins) publish, unpublish, or change a published
  article (including restoring an old version of it).
- Every change of title or body writes an ArticleVersion.
- The search document (title A > tags B > body C, plus copies of the
  access columns) is rewritten in the same transaction as every article
  write, on PostgreSQL only.
"""

import html
from collections.abc import Iterable, Sequence
from typing import Any

import nh3
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from helpdesk.lib.exceptions import ApplicationError, NotFound, PermissionDenied
from knowledge_base.db import INDEX_UPSERT_SQL
from knowledge_base.models import (
    Article,
    ArticleFeedback,
    ArticleTag,
    ArticleTranslation,
    ArticleVersion,
    Audience,
    Category,
    DeflectionEvent,
    SearchLog,
)
from knowledge_base.rendering import render_article_markdown

MAX_QUERY_LENGTH = 200


def search_config() -> str:
    """The PostgreSQL text-search configuration (language) for the KB."""
    return getattr(settings, "HELPDESK_KB_SEARCH_CONFIG", "english")


def _require_staff(actor: Any) -> None:
    if not getattr(actor, "is_staff_role", False):
        raise PermissionDenied(gettext("Only agents and managers write knowledge-base articles."))


def _require_manager(actor: Any, message: str) -> None:
    if not getattr(actor, "is_manager_role", False):
        raise PermissionDenied(message)


def _plain_text(body_html: str) -> str:
    """Sanitised HTML -> plain text (for search and snippets)."""
    return html.unescape(nh3.clean(body_html, tags=set())).strip()


def _unique_slug(base: str, *, exclude_pk: int | None = None) -> str:
    base = (slugify(base) or "article")[:300]
    slug, n = base, 1
    qs = Article.objects.all()
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    while qs.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _tags_get_or_create(names: Iterable[str]) -> list[ArticleTag]:
    clean = sorted({n.strip().lower()[:64] for n in names if n and n.strip()})
    return [ArticleTag.objects.get_or_create(name=n)[0] for n in clean]


def parse_tags(text: str) -> list[str]:
    """'billing, refunds  vat' -> ['billing', 'refunds', 'vat']."""
    return [t for t in text.replace(",", " ").split() if t]


def article_index(*, article_ids: Sequence[int] | None = None) -> None:
    """Rewrite the search documents (ArticleSearchDoc) of the given articles,
    or of all when None: weighted vector plus copies of title and access
    columns. Called in the same transaction by every article write. Also
    adds the articles' words to the typo-tolerance vocabulary.

    On SQLite the FTS5 index is kept by triggers on the article table
    (`knowledge_base/sqlite_fts.py`), so only the vocabulary is written."""
    from knowledge_base.search import vocabulary_add

    rows = Article.objects.all() if article_ids is None else Article.objects.filter(pk__in=article_ids)
    vocabulary_add(t for row in rows.values_list("title", "tags_text", "body_text").iterator() for t in row)
    if connection.vendor != "postgresql":
        return
    params: dict[str, Any] = {"cfg": search_config()}
    if article_ids is None:
        where = "TRUE"
    else:
        where = "a.id = ANY(%(ids)s)"
        params["ids"] = [int(i) for i in article_ids]
    with connection.cursor() as cursor:
        cursor.execute(INDEX_UPSERT_SQL % {"where": where}, params)


# Title (A) and body (C) of translations, each with its language's
# configuration (knowledge_base.search.pg_config). %(where)s is a trusted literal.
TRANSLATION_INDEX_SQL = """
UPDATE knowledge_base_articletranslation t
SET search_vector = setweight(to_tsvector(%(cfg)s, coalesce(t.title, '')), 'A')
    || setweight(to_tsvector(%(cfg)s, coalesce(t.body_text, '')), 'C')
WHERE %(where)s
"""


def translation_index(*, translation_ids: Sequence[int] | None = None) -> None:
    """Index translations for search (docs/knowledge-base.md, Searching
    translations): their words join the typo-tolerance vocabulary (with
    their language's stems); on PostgreSQL their `search_vector` is
    rewritten (SQLite: triggers keep kb_translation_fts). Called in the same
    transaction as every translation write."""
    from knowledge_base.search import SNOWBALL, vocabulary_add

    rows = ArticleTranslation.objects.all()
    if translation_ids is not None:
        rows = rows.filter(pk__in=translation_ids)
    for language, title, body_text in rows.values_list("language", "title", "body_text").iterator():
        vocabulary_add([title, body_text], language)
    if connection.vendor != "postgresql":
        return
    # Codes and configuration names are ours (search.SNOWBALL), never input.
    cases = " ".join(f"WHEN '{code}' THEN '{config}'" for code, config in SNOWBALL.items())
    cfg = f"(CASE t.language {cases} ELSE 'simple' END)::regconfig"
    params: dict[str, Any] = {}
    where = "TRUE"
    if translation_ids is not None:
        where = "t.id = ANY(%(ids)s)"
        params["ids"] = [int(i) for i in translation_ids]
    with connection.cursor() as cursor:
        cursor.execute(TRANSLATION_INDEX_SQL % {"cfg": cfg, "where": where}, params)


def _version_write(article: Article, actor: Any, note: str) -> ArticleVersion:
    last = article.versions.aggregate(n=Max("number"))["n"] or 0
    return ArticleVersion.objects.create(
        article=article, number=last + 1, title=article.title, body=article.body, author=actor, note=note[:200]
    )


def translation_languages() -> list[tuple[str, str]]:
    """The languages an article may be translated into: every shipped
    language but the original's (settings.LANGUAGE_CODE)."""
    return [(code, str(name)) for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


@transaction.atomic
def article_translation_save(
    *, article_id: int, language: str, title: str, body: str, actor: Any
) -> ArticleTranslation:
    """Add or change the `language` version of an article (one per
    language). The body is rendered and sanitised like the article's.
    Same rules as article_update: staff write, and only managers change a
    published article's text. Raises PermissionDenied, ApplicationError."""
    _require_staff(actor)
    if language not in dict(translation_languages()):
        raise ApplicationError(gettext("Choose one of the shipped languages."), code="invalid_language")
    article = _lock(article_id)
    if article.is_published:
        _require_manager(actor, gettext("Only managers change a published article; ask a manager or unpublish first."))
    if not title.strip():
        raise ApplicationError(gettext("A translation needs a title."), code="invalid_title")
    found = ArticleTranslation.objects.filter(article=article, language=language).first()
    version = found or ArticleTranslation(article=article, language=language)
    version.title = title.strip()
    version.body = body
    version.body_html = str(render_article_markdown(body))
    version.body_text = _plain_text(version.body_html)
    version.updated_by = actor
    version.updated_at = timezone.now()
    version.full_clean(exclude=["article", "updated_by"])
    version.save()
    translation_index(translation_ids=[version.pk])
    return version


@transaction.atomic
def article_translation_delete(*, article_id: int, language: str, actor: Any) -> None:
    """Remove a translation (readers see the original again). Same rules
    as article_translation_save. Raises PermissionDenied, NotFound."""
    _require_staff(actor)
    article = _lock(article_id)
    if article.is_published:
        _require_manager(actor, gettext("Only managers change a published article; ask a manager or unpublish first."))
    deleted, _ = ArticleTranslation.objects.filter(article=article, language=language).delete()
    if not deleted:
        raise NotFound(gettext("This article has no translation in that language."))


def _render(article: Article) -> None:
    article.body_html = str(render_article_markdown(article.body))
    article.body_text = _plain_text(article.body_html)


@transaction.atomic
def category_create(*, name: str, actor: Any, description: str = "", slug: str = "", position: int = 0) -> Category:
    """Create a category (managers only). Raises PermissionDenied."""
    _require_manager(actor, gettext("Only managers create categories."))
    category = Category(
        name=name.strip(), slug=slugify(slug or name) or "category", description=description, position=position
    )
    category.full_clean()
    category.save()
    return category


@transaction.atomic
def article_create(
    *,
    title: str,
    body: str,
    actor: Any,
    category: Category | None = None,
    visibility: str = Article.Visibility.PUBLIC,
    audience: str = Audience.BOTH,
    tags: Iterable[str] = (),
    slug: str = "",
    source_ticket_id: int | None = None,
) -> Article:
    """Create a draft (any staff member) and its version 1.

    Raises PermissionDenied for non-staff, ValidationError for bad fields.
    """
    _require_staff(actor)
    now = timezone.now()
    article = Article(
        title=title.strip(),
        body=body,
        category=category,
        visibility=visibility,
        audience=audience,
        slug=_unique_slug(slug or title),
        author=actor,
        source_ticket_id=source_ticket_id,
        created_at=now,
        updated_at=now,
    )
    _render(article)
    tag_objs = _tags_get_or_create(tags)
    article.tags_text = " ".join(t.name for t in tag_objs)
    article.full_clean(exclude=["slug"])
    article.save()
    article.tags.set(tag_objs)
    _version_write(article, actor, "Created")
    article_index(article_ids=[article.pk])
    return article


def _lock(article_id: int) -> Article:
    return Article.objects.select_for_update(no_key=True).get(pk=article_id)


@transaction.atomic
def article_update(
    *,
    article_id: int,
    actor: Any,
    title: str | None = None,
    body: str | None = None,
    category: Any = ...,  # Category, None, or ... (unchanged)
    visibility: str | None = None,
    audience: str | None = None,
    tags: Iterable[str] | None = None,
    note: str = "",
) -> Article:
    """Change an article. A new version is written when title or body change.

    Agents may only change drafts; a published article is changed by a
    manager (so nothing reaches readers without a manager). Raises
    PermissionDenied, ValidationError.
    """
    _require_staff(actor)
    article = _lock(article_id)
    if article.is_published:
        _require_manager(actor, gettext("Only managers change a published article; ask a manager or unpublish first."))
    fields = ["updated_at"]
    content_changed = False
    if title is not None and title.strip() != article.title:
        article.title = title.strip()
        fields.append("title")
        content_changed = True
    if body is not None and body != article.body:
        article.body = body
        _render(article)
        fields += ["body", "body_html", "body_text"]
        content_changed = True
    if category is not ...:
        article.category = category
        fields.append("category")
    if visibility is not None:
        article.visibility = visibility
        fields.append("visibility")
    if audience is not None:
        article.audience = audience
        fields.append("audience")
    if tags is not None:
        tag_objs = _tags_get_or_create(tags)
        tags_text = " ".join(t.name for t in tag_objs)
        if tags_text != article.tags_text:
            article.tags.set(tag_objs)
            article.tags_text = tags_text
            fields.append("tags_text")
    article.updated_at = timezone.now()
    article.full_clean()
    article.save(update_fields=fields)
    if content_changed:
        _version_write(article, actor, note or "Edited")
    article_index(article_ids=[article.pk])  # access columns may have changed too
    return article


@transaction.atomic
def article_publish(*, article_id: int, actor: Any) -> Article:
    """Publish (managers and admins only). Raises PermissionDenied."""
    _require_manager(actor, gettext("Only managers publish articles."))
    article = _lock(article_id)
    if not article.is_published:
        article.status = Article.Status.PUBLISHED
        article.published_at = timezone.now()
        article.published_by = actor
        article.save(update_fields=["status", "published_at", "published_by"])
        article_index(article_ids=[article.pk])
    return article


@transaction.atomic
def article_unpublish(*, article_id: int, actor: Any) -> Article:
    """Back to draft (managers and admins only). Raises PermissionDenied."""
    _require_manager(actor, gettext("Only managers unpublish articles."))
    article = _lock(article_id)
    if article.is_published:
        article.status = Article.Status.DRAFT
        article.save(update_fields=["status"])
        article_index(article_ids=[article.pk])
    return article


@transaction.atomic
def article_restore_version(*, article_id: int, version_id: int, actor: Any) -> Article:
    """Make an old version current again; writes a new version (history is
    never rewritten). Same permission as editing. Raises PermissionDenied,
    ApplicationError (version of another article)."""
    version = ArticleVersion.objects.filter(pk=version_id, article_id=article_id).first()
    if version is None:
        raise ApplicationError(gettext("No such version of this article."), code="version_not_found")
    return article_update(
        article_id=article_id,
        actor=actor,
        title=version.title,
        body=version.body,
        note=f"Restored version {version.number}",
    )


def article_view_record(*, article_id: int) -> None:
    """Count one view (atomic increment; no lock, no lost updates)."""
    Article.objects.filter(pk=article_id).update(view_count=F("view_count") + 1)


def article_feedback_record(
    *, article_id: int, user: Any, session_key: str, helpful: bool, comment: str = ""
) -> ArticleFeedback:
    """'Was this helpful?': one answer per user (or anonymous session) per
    article; a later answer replaces the earlier one. Raises ApplicationError
    when there is neither a user nor a session."""
    is_user = bool(getattr(user, "is_authenticated", False))
    if not is_user and not session_key:
        raise ApplicationError(gettext("Feedback needs a session."), code="no_session")
    key = (
        {"article_id": article_id, "user": user} if is_user else {"article_id": article_id, "session_key": session_key}
    )
    if not is_user:
        key["user"] = None
    defaults = {"helpful": helpful, "comment": comment.strip()[:2000], "updated_at": timezone.now()}
    for _attempt in range(2):  # a concurrent first answer may win the insert race
        try:
            with transaction.atomic():
                feedback, _created = ArticleFeedback.objects.update_or_create(defaults=defaults, **key)
                return feedback
        except IntegrityError:
            continue
    raise ApplicationError(gettext("Please try again."), code="feedback_conflict")


def normalise_query(query: str) -> str:
    return " ".join((query or "").split()).lower()[:MAX_QUERY_LENGTH]


def search_log_record(*, query: str, result_count: int, user: Any = None, source: str = SearchLog.Source.KB) -> None:
    """Record one search (normalised query and result count); empty queries
    are not recorded."""
    q = normalise_query(query)
    if not q:
        return
    SearchLog.objects.create(
        query=q,
        result_count=result_count,
        source=source,
        user=user if getattr(user, "is_authenticated", False) else None,
    )


def deflection_open(*, article_id: int, user: Any, session_key: str, query: str = "") -> DeflectionEvent | None:
    """Record that a portal visitor opened a suggested article. Staff are not
    counted (they are not deflectable customers)."""
    if getattr(user, "is_staff_role", False):
        return None
    return DeflectionEvent.objects.create(
        article_id=article_id,
        user=user if getattr(user, "is_authenticated", False) else None,
        session_key=session_key or "",
        query=normalise_query(query),
    )


@transaction.atomic
def article_draft_from_ticket(*, ticket_id: int, actor: Any) -> Article:
    """Start an internal draft from a solved ticket: its subject, the first
    customer message and the last public agent reply.

    Messages are read through tickets.selectors and filtered to public ones,
    so internal notes never reach an article. Raises Http404 (ticket not
    visible to the actor), PermissionDenied (not staff), ApplicationError
    (ticket not solved, or no question/answer to use).
    """
    from tickets import selectors as ticket_selectors
    from tickets.models import Message, Ticket

    _require_staff(actor)
    ticket = ticket_selectors.ticket_get_for_user(user=actor, ticket_id=ticket_id)
    if ticket.status not in (Ticket.Status.SOLVED, Ticket.Status.CLOSED):
        raise ApplicationError(gettext("Only a solved ticket can become an article."), code="ticket_not_solved")
    messages = list(
        ticket_selectors.message_list_for_ticket(user=actor, ticket=ticket).filter(
            visibility=Message.Visibility.PUBLIC, is_automated=False
        )
    )
    question = next((m for m in messages if m.author_role == Message.AuthorRole.CUSTOMER), None)
    answer = next((m for m in reversed(messages) if m.author_role == Message.AuthorRole.AGENT), None)
    if question is None or answer is None:
        raise ApplicationError(
            gettext("This ticket has no customer question and public agent answer to start from."),
            code="ticket_no_answer",
        )
    body = f"## Question\n\n{question.body.strip()}\n\n## Answer\n\n{answer.body.strip()}\n"
    audience = ticket.kind if ticket.kind in (Audience.SUPPORT, Audience.SERVICE) else Audience.BOTH
    tags = list(ticket.tags.values_list("name", flat=True))
    # Internal until a manager reviews it: a ticket may hold personal data.
    return article_create(
        title=ticket.subject,
        body=body,
        actor=actor,
        visibility=Article.Visibility.INTERNAL,
        audience=audience,
        tags=tags,
        source_ticket_id=ticket.pk,
    )


# --- second pass: delete, review, related, categories, synonyms, images -------


@transaction.atomic
def article_delete(*, article_id: int, actor: Any) -> None:
    """Delete an article with its versions, feedback and images (managers
    only). The search index follows in the same transaction (PostgreSQL:
    cascade; SQLite: trigger). Raises PermissionDenied."""
    _require_manager(actor, gettext("Only managers delete articles."))
    article = _lock(article_id)
    for image in article.images.all():
        image.file.delete(save=False)
    article.delete()


@transaction.atomic
def article_mark_reviewed(*, article_id: int, actor: Any) -> Article:
    """Record that `actor` checked the article is still right (staff)."""
    _require_staff(actor)
    article = _lock(article_id)
    article.last_reviewed_at = timezone.now()
    article.last_reviewed_by = actor
    article.save(update_fields=["last_reviewed_at", "last_reviewed_by"])
    return article


@transaction.atomic
def article_related_set(*, article_id: int, actor: Any, related_ids: Iterable[int]) -> Article:
    """Choose the related articles shown under an article (staff; same
    permission as editing). Unknown ids and the article itself are ignored."""
    _require_staff(actor)
    article = _lock(article_id)
    if article.is_published:
        _require_manager(actor, gettext("Only managers change a published article; ask a manager or unpublish first."))
    ids = {int(i) for i in related_ids} - {article.pk}
    article.related_articles.set(Article.objects.filter(pk__in=ids))
    return article


@transaction.atomic
def category_update(
    *, category_id: int, actor: Any, name: str, description: str = "", slug: str = "", position: int = 0
) -> Category:
    """Rename or reorder a category (managers only). Raises PermissionDenied,
    ValidationError."""
    _require_manager(actor, gettext("Only managers change categories."))
    category = Category.objects.select_for_update(no_key=True).get(pk=category_id)
    category.name = name.strip()
    category.slug = slugify(slug or name) or "category"
    category.description = description
    category.position = position
    category.full_clean()
    category.save(update_fields=["name", "slug", "description", "position"])
    return category


@transaction.atomic
def category_delete(*, category_id: int, actor: Any) -> None:
    """Delete a category (managers only); its articles become uncategorised."""
    _require_manager(actor, gettext("Only managers delete categories."))
    Category.objects.filter(pk=category_id).delete()


class SynonymError(ApplicationError):
    code = "synonyms_invalid"
    status_code = 400

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


MAX_SYNONYM_GROUPS = 500


def synonyms_parse(text: str) -> list[list[str]]:
    """'refund, money back' per line -> groups of normalised terms.

    Raises SynonymError listing every bad line: fewer than two terms, a term
    of more than four words or of stop words / single letters only (it could
    never match), a term in two groups, too many groups."""
    from knowledge_base.search import is_meaningful, words

    groups: list[list[str]] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    lines = [(n, line) for n, line in enumerate((text or "").splitlines(), start=1) if line.strip()]
    if len(lines) > MAX_SYNONYM_GROUPS:
        raise SynonymError([gettext("At most %s groups.") % MAX_SYNONYM_GROUPS])
    for number, line in lines:
        terms: list[str] = []
        for raw in line.split(","):
            term = " ".join(words(raw))
            if not raw.strip():
                continue
            if not term or not any(is_meaningful(w) for w in term.split()):
                errors.append(
                    gettext("Line %(line)s: “%(term)s” has no searchable word (stop words only).")
                    % {"line": number, "term": raw.strip()}
                )
            elif len(term.split()) > 4:
                errors.append(
                    gettext("Line %(line)s: “%(term)s” is longer than four words.")
                    % {"line": number, "term": raw.strip()}
                )
            elif term in seen and seen[term] != number:
                errors.append(
                    gettext("Line %(line)s: “%(term)s” is already in line %(other)s.")
                    % {"line": number, "term": term, "other": seen[term]}
                )
            elif term not in terms:
                terms.append(term)
                seen[term] = number
        if len(terms) < 2:
            errors.append(gettext("Line %s: a group needs at least two different terms, separated by commas.") % number)
        groups.append(terms)
    if errors:
        raise SynonymError(errors)
    return groups


@transaction.atomic
def synonyms_replace(*, text: str, actor: Any) -> int:
    """Replace the help centre's synonym groups (managers only) after
    validating all of them (nothing is saved when one line is wrong).
    Groups are updated in place where unchanged lines keep their position,
    so the configuration history shows real changes. Raises
    PermissionDenied, SynonymError. Returns the number of groups."""
    from knowledge_base.models import SynonymGroup

    _require_manager(actor, gettext("Only managers edit synonyms."))
    groups = synonyms_parse(text)
    existing = list(SynonymGroup.objects.select_for_update().order_by("pk"))
    now = timezone.now()
    for index, terms in enumerate(groups):
        value = ", ".join(terms)
        if index < len(existing):
            if existing[index].terms != value:
                existing[index].terms = value
                existing[index].updated_at = now
                existing[index].save(update_fields=["terms", "updated_at"])
        else:
            SynonymGroup.objects.create(terms=value, updated_at=now)
    for stale in existing[len(groups) :]:
        stale.delete()
    return len(groups)


class ImageRejected(ApplicationError):
    code = "image_rejected"
    status_code = 400


# Magic numbers of the image types articles may show. SVG is refused like
# in attachments (it can carry script).
_IMAGE_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
_IMAGE_EXTENSIONS = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}


def image_content_type(*, filename: str, content: bytes) -> str:
    """The image type of an upload, from its bytes, which must agree with
    its extension. Raises ImageRejected otherwise (with the reason)."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    declared = _IMAGE_EXTENSIONS.get(ext)
    if declared is None:
        raise ImageRejected(f"{filename}: only PNG, JPEG, GIF and WebP images can go into an article.")
    sniffed = next(
        (ctype for ctype, sigs in _IMAGE_SIGNATURES.items() if any(content.startswith(s) for s in sigs)), None
    )
    if sniffed == "image/webp" and content[8:12] != b"WEBP":
        sniffed = None
    if sniffed is None:
        raise ImageRejected(f"{filename} is not an image (its content is not PNG, JPEG, GIF or WebP).")
    if sniffed != declared:
        raise ImageRejected(f"{filename}: the content is {sniffed}, not what the name says.")
    return sniffed


@transaction.atomic
def article_image_upload(*, article_id: int, actor: Any, filename: str, content: bytes) -> Any:
    """Store an image for an article (staff who may edit it). Same limits
    as ticket attachments (size, blocked extensions), plus the content must
    be a PNG, JPEG, GIF or WebP image matching its name. Served only to
    people who may read the article. Raises PermissionDenied, ImageRejected.
    """
    import hashlib
    import os
    import secrets

    from django.core.files.base import ContentFile

    from knowledge_base.models import ArticleImage
    from tickets.services import AttachmentRejected, IncomingFile, attachments_validate

    _require_staff(actor)
    article = _lock(article_id)
    if article.is_published:
        _require_manager(actor, gettext("Only managers change a published article; ask a manager or unpublish first."))
    name = os.path.basename(filename or "image")[:255] or "image"
    try:
        attachments_validate([IncomingFile(filename=name, content=content)])
    except AttachmentRejected as exc:
        raise ImageRejected(exc.message) from None
    content_type = image_content_type(filename=name, content=content)
    image = ArticleImage(
        article=article,
        token=secrets.token_urlsafe(18),
        filename=name,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=actor,
    )
    image.file.save(image.token, ContentFile(content), save=False)
    image.save()
    return image
