from django.urls import path

from knowledge_base import views

app_name = "knowledge_base"

urlpatterns = [
    path("", views.kb_home, name="home"),
    path("search/", views.kb_search, name="search"),
    path("suggest/", views.kb_suggest, name="suggest"),
    path("c/<slug:slug>/", views.kb_category, name="category"),
    path("a/<slug:slug>/", views.kb_article_detail, name="article"),
    path("a/<slug:slug>/feedback/", views.kb_article_feedback, name="article-feedback"),
    path("manage/", views.staff_article_list, name="staff-list"),
    path("manage/new/", views.staff_article_create, name="staff-create"),
    path("manage/report/", views.manager_kb_report, name="manager-report"),
    path("manage/<int:article_id>/edit/", views.staff_article_edit, name="staff-edit"),
    path("manage/<int:article_id>/publish/", views.staff_article_publish, name="staff-publish"),
    path(
        "manage/<int:article_id>/translations/<str:language>/",
        views.staff_article_translation,
        name="staff-translation",
    ),
    path("manage/<int:article_id>/history/", views.staff_article_history, name="staff-history"),
    path("manage/<int:article_id>/restore/", views.staff_article_restore, name="staff-restore"),
    path("images/<str:token>/", views.kb_image, name="image"),
    path("manage/preview/", views.staff_article_preview, name="staff-preview"),
    path("manage/link-search/", views.staff_link_search, name="staff-link-search"),
    path("manage/review/", views.staff_review_list, name="staff-review"),
    path("manage/categories/", views.manager_categories, name="manager-categories"),
    path("manage/synonyms/", views.manager_synonyms, name="manager-synonyms"),
    path("manage/<int:article_id>/images/", views.staff_article_image_upload, name="staff-image-upload"),
    path("manage/<int:article_id>/reviewed/", views.staff_article_reviewed, name="staff-reviewed"),
    path("from-ticket/<int:ticket_id>/", views.staff_article_from_ticket, name="staff-from-ticket"),
]
