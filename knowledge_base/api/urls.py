"""Knowledge base API routes, included under /api/v1/ by helpdesk.api_urls."""

from django.urls import path

from knowledge_base.api import views

urlpatterns = [
    path("kb/search/", views.KbSearchView.as_view(), name="kb-search"),
    path("kb/articles/<slug:slug>/", views.KbArticleView.as_view(), name="kb-article"),
    path(
        "kb/articles/<slug:slug>/translations/",
        views.KbArticleTranslationListView.as_view(),
        name="kb-article-translations",
    ),
    path(
        "kb/articles/<slug:slug>/translations/<str:language>/",
        views.KbArticleTranslationView.as_view(),
        name="kb-article-translation",
    ),
    path("kb/articles/<slug:slug>/feedback/", views.KbArticleFeedbackView.as_view(), name="kb-article-feedback"),
]
