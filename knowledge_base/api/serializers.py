"""Serializers of the knowledge base API."""

from typing import Any

from rest_framework import serializers

from knowledge_base.models import Article, ArticleTranslation


class KbSearchInputSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=200, help_text="Words to look for (typos in titles are tolerated).")
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)
    audience = serializers.ChoiceField(choices=["support", "service"], required=False)


class KbSearchResultOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    category = serializers.CharField(allow_null=True)
    visibility = serializers.CharField()
    snippet_html = serializers.CharField(help_text="HTML-escaped excerpt; matches wrapped in <mark>.")
    rank = serializers.FloatField()


class KbSearchOutputSerializer(serializers.Serializer):
    query = serializers.CharField()
    count = serializers.IntegerField()
    results = KbSearchResultOutputSerializer(many=True)


class KbArticleOutputSerializer(serializers.ModelSerializer):
    category: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
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


class KbFeedbackInputSerializer(serializers.Serializer):
    helpful = serializers.BooleanField()
    comment = serializers.CharField(max_length=2000, allow_blank=True, default="")


class KbFeedbackOutputSerializer(serializers.Serializer):
    article = serializers.CharField(help_text="The article's slug.")
    helpful = serializers.BooleanField()
    comment = serializers.CharField()
    updated_at = serializers.DateTimeField()


class KbTranslationInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    body = serializers.CharField(max_length=200_000, allow_blank=True, default="")


class KbTranslationOutputSerializer(serializers.ModelSerializer):
    """An article in another language (docs/languages.md, Help-centre translations)."""

    class Meta:
        model = ArticleTranslation
        fields = ["language", "title", "body", "body_html", "updated_at"]
        read_only_fields = fields
