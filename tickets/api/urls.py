"""Ticket API routes, included under /api/v1/ by helpdesk.api_urls."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from tickets.api import integration, views

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register("attachments", views.AttachmentViewSet, basename="attachment")
router.register("queues", views.QueueViewSet, basename="queue")
router.register("request-types", views.RequestTypeViewSet, basename="request-type")

urlpatterns = [
    path("events/", views.EventListView.as_view(), name="event-list"),
    path("config/", integration.ConfigView.as_view(), name="config"),
    *router.urls,
]
