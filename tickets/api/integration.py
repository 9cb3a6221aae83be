"""API of the configuration document (managers) and of the knowledge base
(search, articles, feedback; anonymous callers read public articles)."""

from dataclasses import asdict
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from helpdesk.db_router import replica_reads
from knowledge_base import selectors as kb_selectors
from knowledge_base import services as kb_services
from knowledge_base.models import Article, SearchLog
from tickets import config
from webhooks.api.views import IsManager

# --- serializers --------------------------------------------------------------


class ConfigChangeOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    section = serializers.CharField()
    key = serializers.CharField()
    action = serializers.ChoiceField(choices=["create", "update", "unchanged"])
    fields = serializers.ListField(child=serializers.CharField())


class ConfigReportOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    dry_run = serializers.BooleanField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    changes = ConfigChangeOutputSerializer(many=True)
    sla_affected_open_tickets = serializers.IntegerField()
    sla_state_changed_open_tickets = serializers.IntegerField()
    lines = serializers.ListField(child=serializers.CharField())


class ConfigApplyInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    dry_run = serializers.BooleanField(
        default=False, help_text="true: validate and report what would change, change nothing."
    )


class KbSearchInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    q = serializers.CharField(max_length=200, help_text="Words to look for (typos in titles are tolerated).")
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
    audience = serializers.ChoiceField(choices=["support", "service"], required=False)


class KbSearchResultOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    slug = serializers.CharField()
    title = serializers.CharField()
    category = serializers.CharField(allow_null=True)
    visibility = serializers.CharField()
    snippet_html = serializers.CharField(help_text="HTML-escaped excerpt; matches wrapped in <mark>.")
    rank = serializers.FloatField()


class KbSearchOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    query = serializers.CharField()
    count = serializers.IntegerField()
    results = KbSearchResultOutputSerializer(many=True)


class KbArticleOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    visibility = serializers.CharField(read_only=True, help_text="`public` or `internal` (staff only).")
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Article
        fields = [
            "id",
            "slug",
            "title",
            "category",
            "status",
            "visibility",
            "audience",
            "tags",
            "body",
            "body_html",
            "view_count",
            "published_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_tags(self, article: Article) -> list[str]:
        return sorted(t.name for t in article.tags.all())


class KbFeedbackInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    helpful = serializers.BooleanField()
    comment = serializers.CharField(max_length=2000, allow_blank=True, default="")


class KbFeedbackOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    article = serializers.CharField(help_text="The article's slug.")
    helpful = serializers.BooleanField()
    comment = serializers.CharField()
    updated_at = serializers.DateTimeField()


def _input(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- configuration ---------------------------------------------------------------


def _report(report: config.ConfigReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "changes": [asdict(c) for c in report.changes],
        "sla_affected_open_tickets": report.sla_affected_open_tickets,
        "sla_state_changed_open_tickets": report.sla_state_changed_open_tickets,
        "lines": report.lines(),
    }


class ConfigView(generics.GenericAPIView):  # type: ignore[type-arg]
    """The `helpdesk_config` document: calendars, SLA policies, queues,
    request types, agents, reporting time zone (managers and admins)."""

    permission_classes = [IsManager]
    serializer_class = ConfigReportOutputSerializer
    pagination_class = None
    metadata_class = None  # OPTIONS: 405 (DRF's metadata would look for an object to PUT)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        """The current configuration, in the shape PUT accepts."""
        return Response(config.config_dump())

    @extend_schema(
        parameters=[ConfigApplyInputSerializer],
        request=OpenApiTypes.OBJECT,
        responses={200: ConfigReportOutputSerializer},
        examples=[OpenApiExample("Reporting time zone only", value={"reporting": {"timezone": "Europe/Paris"}})],
    )
    def put(self, request: Request) -> Response:
        """Create or update everything the document names (nothing is ever
        deleted); `?dry_run=true` reports without changing anything. An
        invalid document is a 400 `invalid_config` listing every problem
        with its JSON path (`details.problems[].path`). Only admins grant or
        revoke the manager/admin role or change a staff account's active
        flag, and the last active admin cannot be demoted or deactivated
        (a 400 naming `agents[i].role` / `agents[i].active`)."""
        params = _input(ConfigApplyInputSerializer, request.query_params)
        report = config.config_apply(request.data, dry_run=params["dry_run"], actor=request.user)
        return Response(_report(report))


# --- knowledge base -------------------------------------------------------------------


class KbSearchView(generics.GenericAPIView):  # type: ignore[type-arg]
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


class KbArticleView(generics.GenericAPIView):  # type: ignore[type-arg]
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


class KbArticleFeedbackView(generics.GenericAPIView):  # type: ignore[type-arg]
    """ "Was this helpful?" for an article you may read; a later answer
    replaces yours."""

    serializer_class = KbFeedbackOutputSerializer
    pagination_class = None

    @extend_schema(request=KbFeedbackInputSerializer, responses={200: KbFeedbackOutputSerializer})
    def post(self, request: Request, slug: str) -> Response:
        article = kb_selectors.article_get_for_user(user=request.user, slug=slug)
        if article.status != Article.Status.PUBLISHED:
            from django.http import Http404

            raise Http404("No such article.")
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
