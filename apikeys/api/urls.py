"""Personal API token routes, included under /api/v1/ by helpdesk.api_urls."""

from rest_framework.routers import SimpleRouter

from apikeys.api import views

router = SimpleRouter()
router.register("tokens", views.ApiTokenViewSet, basename="token")

urlpatterns = router.urls
