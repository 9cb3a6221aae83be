"""Admin: browse and fix metadata. Content changes go through the staff
pages (services keep versions and the search index right)."""

from django.contrib import admin

from knowledge_base.models import Article, ArticleFeedback, ArticleVersion, Category, DeflectionEvent, SearchLog


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "visibility", "audience", "view_count", "updated_at")
    list_filter = ("status", "visibility", "audience", "category")
    search_fields = ("title",)
    readonly_fields = ("title", "slug", "body", "status", "view_count", "author", "published_by", "published_at")
    exclude = ("tags",)

    def has_add_permission(self, request):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ArticleVersion)
class ArticleVersionAdmin(ReadOnlyAdmin):
    list_display = ("article", "number", "author", "created_at")


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(ReadOnlyAdmin):
    list_display = ("article", "helpful", "user", "created_at")


@admin.register(SearchLog)
class SearchLogAdmin(ReadOnlyAdmin):
    list_display = ("query", "result_count", "source", "created_at")


@admin.register(DeflectionEvent)
class DeflectionEventAdmin(ReadOnlyAdmin):
    list_display = ("article", "user", "query", "opened_at")
