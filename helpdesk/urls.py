from django.contrib import admin
from django.urls import include, path

from accounts.views import home

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/metrics/", include("metrics.urls")),
    path("api/v1/", include("automation.api_urls")),
    path("api/v1/", include("helpdesk.api_urls")),
    path("", home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("mail/", include("mail.urls")),
    path("kb/", include("knowledge_base.urls")),
    path("settings/", include("automation.urls")),
    path("settings/", include("accounts.staff_urls")),
    path("", include("metrics.dashboard_urls")),
    path("", include("tickets.urls")),
]
