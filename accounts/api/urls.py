"""Account API routes, included under /api/v1/ by helpdesk.api_urls."""

from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter()
router.register("me", views.MeViewSet, basename="me")
router.register("tokens", views.ApiTokenViewSet, basename="token")

urlpatterns = router.urls
