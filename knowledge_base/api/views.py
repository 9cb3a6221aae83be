"""Knowledge base API: search, articles, feedback (anonymous callers read
public articles). Mounted under /api/v1/kb/ by helpdesk.api_urls."""

from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.lib.db_router import replica_reads
from knowledge_base import selectors as kb_selectors
from knowledge_base import services as kb_services
from knowledge_base.api.serializers import (
    KbArticleOutputSerializer,
    KbFeedbackInputSerializer,
    KbFeedbackOutputSerializer,
    KbSearchInputSerializer,
    KbSearchOutputSerializer,
    KbTranslationInputSerializer,
    KbTranslationOutputSerializer,
)
from knowledge_base.models import Article, SearchLog


def _input(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class KbSearchView(generics.GenericAPIView):
    """Search published articles you may read (anonymous: public ones)."""

    permission_classes = [AllowAny]
    serializer_class = KbSearchOutputSerializer
    pagination_class = None

    @extend_schema(parameters=[KbSearchInputSerializer], responses=KbSearchOutputSerializer)
    @replica_reads
    def get(self, request: Request) -> Response:
        data = _input(KbSearchInputSerializer, request.query_params)
        results = kb_selectors.article_search(
            user=request.user, query=data["q"], limit=data["limit"], audience=data.get("audience")
        )
        kb_services.search_log_record(
            query=data["q"], result_count=len(results), user=request.user, source=SearchLog.Source.API
        )
        body = {
            "query": data["q"],
            "count": len(results),
            "results": [
                {
                    "slug": r.article.slug,
                    "title": r.article.title,
                    "category": r.article.category.slug if r.article.category_id and r.article.category else None,
                    "visibility": r.article.visibility,
                    "snippet_html": str(r.snippet),
                    "rank": r.rank,
                }
                for r in results
            ],
        }
        return Response(body)


class KbArticleView(generics.GenericAPIView):
    """One article (anonymous: published public ones; staff may preview drafts)."""

    permission_classes = [AllowAny]
    serializer_class = KbArticleOutputSerializer
    pagination_class = None

    @extend_schema(responses=KbArticleOutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        article = kb_selectors.article_get_for_user(user=request.user, slug=slug)
        if article.status == Article.Status.PUBLISHED:
            kb_services.article_view_record(article_id=article.pk)
        return Response(KbArticleOutputSerializer(article).data)


class KbArticleFeedbackView(generics.GenericAPIView):
    """ "Was this helpful?" for an article you may read; a later answer
    replaces yours."""

    serializer_class = KbFeedbackOutputSerializer
    pagination_class = None

    @extend_schema(request=KbFeedbackInputSerializer, responses={200: KbFeedbackOutputSerializer})
    def post(self, request: Request, slug: str) -> Response:
        article = kb_selectors.article_get_for_user(user=request.user, slug=slug)
        if article.status != Article.Status.PUBLISHED:
            raise Http404(_("No such article."))
        data = _input(KbFeedbackInputSerializer, request.data)
        feedback = kb_services.article_feedback_record(
            article_id=article.pk, user=request.user, session_key="", helpful=data["helpful"], comment=data["comment"]
        )
        return Response(
            {
                "article": article.slug,
                "helpful": feedback.helpful,
                "comment": feedback.comment,
                "updated_at": serializers.DateTimeField().to_representation(feedback.updated_at),
            }
        )


class KbArticleTranslationListView(generics.GenericAPIView):
    """The translations of an article you may read (docs/languages.md)."""

    permission_classes = [AllowAny]
    serializer_class = KbTranslationOutputSerializer
    pagination_class = None

    @extend_schema(responses=KbTranslationOutputSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        article = kb_selectors.article_get_for_user(user=request.user, slug=slug)
        return Response(KbTranslationOutputSerializer(article.translations.all(), many=True).data)


class KbArticleTranslationView(APIView):
    """One language version of an article: anyone who may read the article
    reads it; staff add or change it with PUT and remove it with DELETE
    (managers only once the article is published). An APIView, not a
    generic one: OPTIONS then describes it without looking up an object."""

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(responses=KbTranslationOutputSerializer)
    def get(self, request: Request, slug: str, language: str) -> Response:
        article = kb_selectors.article_get_for_user(user=request.user, slug=slug)
        found = kb_selectors.article_translation_get(article=article, language=language)
        return Response(KbTranslationOutputSerializer(found).data)

    @extend_schema(request=KbTranslationInputSerializer, responses={200: KbTranslationOutputSerializer})
    def put(self, request: Request, slug: str, language: str) -> Response:
        article = kb_selectors.article_get_for_user(user=request.user, slug=slug)
        data = _input(KbTranslationInputSerializer, request.data)
        saved = kb_services.article_translation_save(
            article_id=article.pk, language=language, title=data["title"], body=data["body"], actor=request.user
        )
        return Response(KbTranslationOutputSerializer(saved).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, slug: str, language: str) -> Response:
        article = kb_selectors.article_get_for_user(user=request.user, slug=slug)
        kb_services.article_translation_delete(article_id=article.pk, language=language, actor=request.user)
        return Response(status=204)
