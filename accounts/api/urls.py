"""Account API routes, included under /api/v1/ by helpdesk.api_urls."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter()
router.register("tokens", views.ApiTokenViewSet, basename="token")

urlpatterns = [path("me/", views.MeView.as_view(), name="me"), *router.urls]
