"""Privacy API routes, included under /api/v1/ by helpdesk.api_urls."""

from django.urls import path

from privacy.api import views as api

urlpatterns = [
    path("people/<int:user_id>/export/", api.PersonExportView.as_view(), name="person-export"),
    path("people/<int:user_id>/erase/", api.PersonEraseView.as_view(), name="person-erase"),
]
