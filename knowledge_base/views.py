"""Knowledge-base pages. Thin: parse input, call one selector/service, render.

Public pages (no login needed) show published public articles; staff also
see internal ones. Management pages are for staff (404 for everyone else);
the report is for managers.
"""

import difflib
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.lib.access import manager_required, staff_required
from helpdesk.lib.db_router import replica_reads
from helpdesk.lib.exceptions import ApplicationError
from knowledge_base import selectors, services
from knowledge_base.forms import ArticleForm, CategoryForm, FeedbackForm, RestoreForm, SynonymsForm, TranslationForm
from knowledge_base.models import Article, ArticleVersion, Category, SearchLog, SynonymGroup
from knowledge_base.rendering import render_article_markdown

# Managers and admins; the pages do not exist for anyone else (404).
_manager_only = manager_required(customers=404, agents=404)


def _session_key(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key or ""


def _audience(request: HttpRequest) -> str | None:
    value = request.GET.get("audience") or None
    return value if value in ("support", "service") else None


# --- public pages ---------------------------------------------------------------


@require_GET
def kb_home(request: HttpRequest) -> HttpResponse:
    visible = selectors.article_list_for_user(user=request.user)
    language = translation.get_language()
    context = {
        "categories": selectors.category_list(),
        "popular": selectors.titles_in_language(visible.order_by("-view_count", "title")[:10], language),
        "uncategorised": selectors.titles_in_language(
            visible.filter(category__isnull=True).order_by("title")[:50], language
        ),
    }
    return render(request, "knowledge_base/home.html", context)


@require_GET
def kb_category(request: HttpRequest, slug: str) -> HttpResponse:
    category = selectors.category_get(slug=slug)
    visible = selectors.article_list_for_user(user=request.user).filter(category=category).order_by("title")
    articles = selectors.titles_in_language(visible, translation.get_language())
    return render(request, "knowledge_base/category.html", {"category": category, "articles": articles})


@require_GET
def kb_article_detail(request: HttpRequest, slug: str) -> HttpResponse:
    article = selectors.article_get_for_user(user=request.user, slug=slug)
    if article.is_published:
        services.article_view_record(article_id=article.pk)
        if request.GET.get("ref") == "suggest":
            services.deflection_open(
                article_id=article.pk,
                user=request.user,
                session_key=_session_key(request),
                query=request.GET.get("q", ""),
            )
    context = {
        "article": article,
        # The reader's language version when there is one (docs/languages.md).
        "version": selectors.article_reading(article=article, language=translation.get_language()),
        "related": selectors.titles_in_language(
            selectors.article_related(user=request.user, article=article), translation.get_language()
        ),
        "feedback_form": FeedbackForm(),
    }
    return render(request, "knowledge_base/article_detail.html", context)


@require_POST
def kb_article_feedback(request: HttpRequest, slug: str) -> HttpResponse:
    article = selectors.article_get_for_user(user=request.user, slug=slug)
    if not article.is_published:
        raise Http404(_("No such article."))
    form = FeedbackForm(request.POST)
    saved = False
    if form.is_valid():
        services.article_feedback_record(
            article_id=article.pk,
            user=request.user,
            session_key=_session_key(request),
            helpful=form.cleaned_data["helpful"],
            comment=form.cleaned_data["comment"],
        )
        saved = True
    context = {"article": article, "feedback_form": form, "feedback_saved": saved}
    if request.headers.get("HX-Request") or not saved:
        return render(request, "knowledge_base/partials/feedback.html", context, status=200 if saved else 400)
    messages.success(request, _("Thank you for your feedback."))
    return redirect("knowledge_base:article", slug=article.slug)


@require_GET
@replica_reads
def kb_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[: services.MAX_QUERY_LENGTH]
    # In the reader's language: translations searched, titles and snippets shown.
    results = selectors.article_search(user=request.user, query=query, audience=_audience(request)) if query else []
    if query:
        source = SearchLog.Source.AGENT if getattr(request.user, "is_staff_role", False) else SearchLog.Source.KB
        services.search_log_record(query=query, result_count=len(results), user=request.user, source=source)
    return render(request, "knowledge_base/search.html", {"query": query, "results": results})


@require_GET
@replica_reads
def kb_suggest(request: HttpRequest) -> HttpResponse:
    """HTML fragment of suggestions for a debounced input (htmx or
    static/js/kb-suggest.js). Accepts `q` or the portal form's `subject`.
    Not logged: every keystroke would flood the search log."""
    query = (request.GET.get("q") or request.GET.get("subject") or "").strip()[: services.MAX_QUERY_LENGTH]
    results = selectors.article_suggest_for_user(user=request.user, query=query, audience=_audience(request))
    for result in results:
        result.url = (
            reverse("knowledge_base:article", args=[result.article.slug])
            + "?"
            + urlencode({"ref": "suggest", "q": query})
        )
    context = {"query": query, "results": results, "insert_mode": request.GET.get("mode") == "insert"}
    return render(request, "knowledge_base/partials/suggestions.html", context)


# --- staff pages ------------------------------------------------------------------


def _form_initial(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "body": article.body,
        "category": article.category_id,
        "visibility": article.visibility,
        "audience": article.audience,
        "tags": article.tags_text,
        "related": list(article.related_articles.values_list("pk", flat=True)),
    }


@staff_required
@require_GET
def staff_article_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    articles = selectors.article_list_for_staff(user=request.user, status=status)[:200]
    return render(request, "knowledge_base/staff/article_list.html", {"articles": articles, "status": status})


@staff_required
@require_http_methods(["GET", "POST"])
def staff_article_create(request: HttpRequest) -> HttpResponse:
    form = ArticleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            article = services.article_create(
                title=data["title"],
                body=data["body"],
                actor=request.user,
                category=data["category"],
                visibility=data["visibility"],
                audience=data["audience"],
                tags=services.parse_tags(data["tags"]),
            )
            if data["related"]:
                services.article_related_set(
                    article_id=article.pk, actor=request.user, related_ids=[a.pk for a in data["related"]]
                )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, gettext("Draft saved."))
            return redirect("knowledge_base:staff-edit", article_id=article.pk)
    return render(request, "knowledge_base/staff/article_form.html", {"form": form, "article": None})


@staff_required
@require_http_methods(["GET", "POST"])
def staff_article_edit(request: HttpRequest, article_id: int) -> HttpResponse:
    article = selectors.article_get_for_staff(user=request.user, article_id=article_id)
    form = ArticleForm(request.POST or None, initial=_form_initial(article))
    form.fields["related"].queryset = form.fields["related"].queryset.exclude(pk=article.pk)  # type: ignore[attr-defined]
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            article = services.article_update(
                article_id=article.pk,
                actor=request.user,
                title=data["title"],
                body=data["body"],
                category=data["category"],
                visibility=data["visibility"],
                audience=data["audience"],
                tags=services.parse_tags(data["tags"]),
                note=data["note"],
            )
            related = {a.pk for a in data["related"]}
            if related != set(_form_initial(article)["related"]):
                services.article_related_set(article_id=article.pk, actor=request.user, related_ids=related)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            status = exc.status_code
        else:
            messages.success(request, gettext("Saved."))
            return redirect("knowledge_base:staff-edit", article_id=article.pk)
    return render(request, "knowledge_base/staff/article_form.html", {"form": form, "article": article}, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def staff_article_translation(request: HttpRequest, article_id: int, language: str) -> HttpResponse:
    """Add, change or remove the `language` version of an article
    (docs/languages.md, Help-centre translations)."""
    article = selectors.article_get_for_staff(user=request.user, article_id=article_id)
    names = dict(services.translation_languages())
    if language not in names:
        raise Http404(_("No such language."))
    existing = article.translations.filter(language=language).first()
    initial = {"title": existing.title, "body": existing.body} if existing else {"title": article.title}
    form = TranslationForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "delete":
                services.article_translation_delete(article_id=article.pk, language=language, actor=request.user)
                messages.success(request, _("Translation removed."))
                return redirect("knowledge_base:staff-edit", article_id=article.pk)
            if form.is_valid():
                data = form.cleaned_data
                services.article_translation_save(
                    article_id=article.pk, language=language, title=data["title"], body=data["body"], actor=request.user
                )
                messages.success(request, _("Translation saved."))
                return redirect("knowledge_base:staff-edit", article_id=article.pk)
            status = 400
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            status = exc.status_code
    context = {"form": form, "article": article, "language": language, "language_name": names[language]}
    context["translation"] = existing
    return render(request, "knowledge_base/staff/translation_form.html", context, status=status)


@staff_required
@require_POST
def staff_article_publish(request: HttpRequest, article_id: int) -> HttpResponse:
    article = selectors.article_get_for_staff(user=request.user, article_id=article_id)
    publish = request.POST.get("action", "publish") == "publish"
    try:
        if publish:
            services.article_publish(article_id=article.pk, actor=request.user)
        else:
            services.article_unpublish(article_id=article.pk, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("knowledge_base:staff-edit", article_id=article.pk)
    messages.success(request, gettext("Published.") if publish else gettext("Moved back to draft."))
    return redirect("knowledge_base:staff-edit", article_id=article.pk)


def version_diff_lines(old: ArticleVersion | None, new: ArticleVersion) -> list[tuple[str, str]]:
    """Unified diff of title + body as (css class, line); templates escape."""
    before = f"# {old.title}\n\n{old.body}".splitlines() if old else []
    after = f"# {new.title}\n\n{new.body}".splitlines()
    label_old = f"v{old.number}" if old else "empty"
    lines = []
    for line in difflib.unified_diff(before, after, label_old, f"v{new.number}", lineterm="", n=3):
        css = "meta" if line.startswith(("---", "+++", "@@")) else {"+": "add", "-": "del"}.get(line[:1], "ctx")
        lines.append((css, line))
    return lines


@staff_required
@require_GET
def staff_article_history(request: HttpRequest, article_id: int) -> HttpResponse:
    article = selectors.article_get_for_staff(user=request.user, article_id=article_id)
    versions = list(selectors.version_list(article=article))
    diff = None
    shown = None
    if versions:
        try:
            number = int(request.GET.get("v", versions[0].number))
        except ValueError:
            raise Http404("No such version.") from None
        shown = selectors.version_get(article=article, number=number)
        previous = next((v for v in versions if v.number < shown.number), None)
        diff = version_diff_lines(previous, shown)
    context = {"article": article, "versions": versions, "shown": shown, "diff": diff, "restore_form": RestoreForm()}
    return render(request, "knowledge_base/staff/article_history.html", context)


@staff_required
@require_POST
def staff_article_restore(request: HttpRequest, article_id: int) -> HttpResponse:
    article = selectors.article_get_for_staff(user=request.user, article_id=article_id)
    form = RestoreForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose a version to restore."))
        return redirect("knowledge_base:staff-history", article_id=article.pk)
    try:
        services.article_restore_version(
            article_id=article.pk, version_id=form.cleaned_data["version_id"], actor=request.user
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Version restored (as a new version)."))
    return redirect("knowledge_base:staff-history", article_id=article.pk)


@staff_required
@require_POST
def staff_article_from_ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Start an internal draft from a solved ticket; 404 if the agent may not
    see the ticket."""
    try:
        article = services.article_draft_from_ticket(ticket_id=ticket_id, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("knowledge_base:staff-list")
    messages.success(request, gettext("Draft created from the ticket. Review it before publishing."))
    return redirect("knowledge_base:staff-edit", article_id=article.pk)


@_manager_only
@require_GET
def manager_kb_report(request: HttpRequest) -> HttpResponse:
    try:
        days = max(1, min(int(request.GET.get("days", 30)), 365))
    except ValueError:
        days = 30
    context = {
        "days": days,
        "worst": selectors.article_helpfulness_worst(),
        "zero": selectors.search_zero_results(days=days),
        "top": selectors.search_top(days=days, limit=20),
        "deflection": selectors.deflection_summary(days=days),
    }
    return render(request, "knowledge_base/staff/report.html", context)


# --- second pass: editor helpers, images, categories, synonyms, review -------------


@staff_required
@require_POST
def staff_article_preview(request: HttpRequest) -> HttpResponse:
    """Live preview of the editor: the Markdown rendered and sanitised by the
    very function that renders published articles."""
    body = request.POST.get("body", "")[:200_000]
    return render(request, "knowledge_base/partials/preview.html", {"html": render_article_markdown(body)})


@staff_required
@require_GET
def staff_link_search(request: HttpRequest) -> HttpResponse:
    """The editor's "link to an article" picker (HTML fragment)."""
    query = request.GET.get("q", "").strip()[: services.MAX_QUERY_LENGTH]
    try:
        exclude = int(request.GET.get("exclude", ""))
    except ValueError:
        exclude = None
    articles = selectors.article_link_search(user=request.user, query=query, exclude_id=exclude) if query else []
    return render(request, "knowledge_base/partials/link_picker.html", {"articles": articles, "query": query})


@staff_required
@require_POST
def staff_article_image_upload(request: HttpRequest, article_id: int) -> HttpResponse:
    """Upload an image into an article. JSON for the editor's script
    ({"markdown": ...} or {"error": ...}, 400); a redirect with a message
    for the plain form."""
    article = selectors.article_get_for_staff(user=request.user, article_id=article_id)
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    upload = request.FILES.get("image")
    error = None
    image = None
    if upload is None:
        error = gettext("Choose an image to upload.")
    else:
        try:
            image = services.article_image_upload(
                article_id=article.pk, actor=request.user, filename=upload.name or "image", content=upload.read()
            )
        except ApplicationError as exc:
            error = exc.message
    if image is None:
        if wants_json:
            return JsonResponse({"error": error}, status=400)
        messages.error(request, error or gettext("Upload failed."))
        return redirect("knowledge_base:staff-edit", article_id=article.pk)
    url = reverse("knowledge_base:image", args=[image.token])
    alt = image.filename.rsplit(".", 1)[0].replace("]", "")[:80]
    markdown = f"![{alt}]({url})"
    if wants_json:
        return JsonResponse({"markdown": markdown, "url": url})
    messages.success(request, gettext("Image uploaded. Add it to the text with: %s") % markdown)
    return redirect("knowledge_base:staff-edit", article_id=article.pk)


@require_GET
def kb_image(request: HttpRequest, token: str) -> HttpResponseBase:
    """An article image, only for people who may read its article (public
    images only on published public articles; 404 otherwise)."""
    image = selectors.article_image_get_for_user(user=request.user, token=token)
    response = FileResponse(image.file.open("rb"), content_type=image.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@staff_required
@require_POST
def staff_article_reviewed(request: HttpRequest, article_id: int) -> HttpResponse:
    article = selectors.article_get_for_staff(user=request.user, article_id=article_id)
    services.article_mark_reviewed(article_id=article.pk, actor=request.user)
    messages.success(request, gettext("Marked as reviewed today."))
    back = request.POST.get("next", "")
    # Only back to a management page (never an open redirect).
    if not back.startswith("/kb/manage/") or "//" in back:
        back = reverse("knowledge_base:staff-edit", args=[article.pk])
    return redirect(back)


@staff_required
@require_GET
def staff_review_list(request: HttpRequest) -> HttpResponse:
    """Reminder list: articles not reviewed for N months (default 6)."""
    try:
        months = max(1, min(int(request.GET.get("months", 6)), 60))
    except ValueError:
        months = 6
    articles = selectors.article_review_due(user=request.user, months=months)
    return render(request, "knowledge_base/staff/review_list.html", {"articles": articles, "months": months})


@_manager_only
@require_http_methods(["GET", "POST"])
def manager_categories(request: HttpRequest) -> HttpResponse:
    """Category management: add, rename/reorder, delete."""
    form = CategoryForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action", "save")
        category_id = request.POST.get("category_id") or None
        try:
            if action == "delete" and category_id:
                services.category_delete(category_id=int(category_id), actor=request.user)
                messages.success(request, gettext("Category deleted; its articles are now uncategorised."))
                return redirect("knowledge_base:manager-categories")
            if form.is_valid():
                data = form.cleaned_data
                if category_id:
                    services.category_update(category_id=int(category_id), actor=request.user, **data)
                else:
                    services.category_create(actor=request.user, **data)
                messages.success(request, gettext("Category saved."))
                return redirect("knowledge_base:manager-categories")
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except (ValueError, Category.DoesNotExist):
            raise Http404("No such category.") from None
    categories = selectors.category_list().annotate(article_count=Count("articles"))
    status = 400 if request.method == "POST" else 200
    return render(
        request, "knowledge_base/staff/categories.html", {"form": form, "categories": categories}, status=status
    )


@_manager_only
@require_http_methods(["GET", "POST"])
def manager_synonyms(request: HttpRequest) -> HttpResponse:
    """The help centre's synonyms: one group per line, validated as a whole."""
    current = "\n".join(g.terms for g in SynonymGroup.objects.order_by("pk"))
    form = SynonymsForm(request.POST or None, initial={"synonyms": current})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            count = services.synonyms_replace(text=form.cleaned_data["synonyms"], actor=request.user)
        except services.SynonymError as exc:
            for error in exc.errors:
                form.add_error("synonyms", error)
            status = 400
        else:
            messages.success(request, ngettext("Saved %d synonym group.", "Saved %d synonym groups.", count) % count)
            return redirect("knowledge_base:manager-synonyms")
    return render(request, "knowledge_base/staff/synonyms.html", {"form": form}, status=status)
