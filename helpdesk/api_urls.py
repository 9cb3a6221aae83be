"""The v1 API: every app's API routes, the OpenAPI schema and its UIs.

Included by helpdesk.urls at /api/v1/ under the `api` namespace. To add
an app's endpoints, include its `<app>.api.urls` here, above the final
catch-all (which answers JSON 404s for unknown API paths).
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from tickets.api.views import api_not_found

app_name = "api"

urlpatterns = [
    path("", include("tickets.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("privacy.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    # Keep last: unmatched API paths answer a JSON 404 (any character,
    # newlines included: `.` would let "/x%0A/" fall through to HTML).
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found, name="not-found"),
]
