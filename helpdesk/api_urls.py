"""The v1 API: every app's API routes, the OpenAPI schema and its UIs.

Each app's endpoints live in its own `<app>/api/` package (views,
serializers, urls). helpdesk.urls mounts two lists from here at /api/v1/:

* APP_APIS: apps whose routes carry their own URL namespace
  (`metrics-api:`, `automation-api:`), mounted first;
* `urlpatterns`, the `api` namespace: every other app's `api.urls`, the
  schema and docs, and the final catch-all (JSON 404s for unknown paths).

To add an app's endpoints, include its `<app>.api.urls` in `urlpatterns`,
above the catch-all (docs/architecture.md).
"""

from csp.decorators import csp_update
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from tickets.api.views import api_not_found

app_name = "api"

APP_APIS = [
    path("metrics/", include("metrics.api.urls")),
    path("", include("automation.api.urls")),
]

# The API docs are third-party single-page apps, given the least they need
# and only on their own views (docs/security-headers.md). Their code and page
# styles are our static files (Swagger's init script too: the split view
# serves it as a file, not inline). Swagger UI draws icons as data: images;
# Redoc also injects its styles (styled-components) and runs its search
# index in a blob: worker.
DOCS_CSP = {"img-src": ["data:"]}
REDOC_CSP = {"style-src": ["'unsafe-inline'"], "img-src": ["data:"], "worker-src": ["blob:"]}

urlpatterns = [
    path("", include("tickets.api.urls")),
    path("", include("knowledge_base.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("apikeys.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("privacy.api.urls")),
    path("", include("desk_settings.api.urls")),
    path("", include("success.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        csp_update(DOCS_CSP)(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html")
        ),
        name="docs",
    ),
    path(
        "redoc/",
        csp_update(REDOC_CSP)(SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html")),
        name="redoc",
    ),
    # Keep last: unmatched API paths answer a JSON 404 (any character,
    # newlines included: `.` would let "/x%0A/" fall through to HTML).
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found, name="not-found"),
]
