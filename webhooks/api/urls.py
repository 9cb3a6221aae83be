"""Webhook API routes, included under /api/v1/ by helpdesk.api_urls."""

from rest_framework.routers import SimpleRouter

from webhooks.api import views

router = SimpleRouter()
router.register("webhooks", views.WebhookViewSet, basename="webhook")

urlpatterns = router.urls
