from django.contrib import admin
from django.urls import include, path

# The admin is mounted because the staff ticket page links to the submitter's admin page.
urlpatterns = [path("admin/", admin.site.urls), path("", include("helpdesk.urls", namespace="helpdesk"))]
