from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from accounts.language import set_language_view
from accounts.views import home
from helpdesk import api_urls


def _favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask /favicon.ico before reading the page's icon link."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urls.APP_APIS)),
    path("api/v1/", include("helpdesk.api_urls")),
    path("", home, name="home"),
    path("favicon.ico", _favicon),
    path("accounts/", include("accounts.urls")),
    # The language switcher: Django's set_language, which also saves a
    # signed-in user's choice (docs/languages.md).
    path("i18n/setlang/", set_language_view, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("mail/", include("mail.urls")),
    path("kb/", include("knowledge_base.urls")),
    path("privacy/", include("privacy.urls")),
    path("settings/", include("automation.urls")),
    path("settings/", include("automation.staff_urls")),
    path("settings/", include("desk_settings.urls")),
    path("", include("metrics.dashboard_urls")),
    path("", include("surveys.urls")),
    path("", include("success.urls")),
    path("", include("tickets.urls")),
]
