"""Webhook subscriptions and their delivery log: managers and admins only."""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from helpdesk.lib.access import IsManager
from helpdesk.lib.api import ErrorSerializer, IdCursorPagination
from webhooks import selectors, services
from webhooks.api import serializers as s
from webhooks.models import WebhookSubscription

CONFLICT = {409: ErrorSerializer}


def _input(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class WebhookViewSet(viewsets.GenericViewSet):
    """Outbound webhook subscriptions (see webhooks/README.md for the
    payload, the signature and the retry rules)."""

    permission_classes = [IsManager]
    serializer_class = s.WebhookOutputSerializer
    pagination_class = IdCursorPagination
    queryset = WebhookSubscription.objects.none()  # for the schema's id type

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        return selectors.subscription_list()

    def _subscription(self) -> WebhookSubscription:
        return selectors.subscription_get(subscription_id=self.kwargs["pk"])

    @extend_schema(responses=s.WebhookOutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.WebhookOutputSerializer(page, many=True).data)

    @extend_schema(request=s.WebhookCreateInputSerializer, responses={201: s.WebhookCreatedOutputSerializer})
    def create(self, request: Request) -> Response:
        """Subscribe; the answer carries the signing secret, shown once."""
        data = _input(s.WebhookCreateInputSerializer, request.data)
        sub = services.subscription_create(actor=request.user, **data)
        return Response(s.WebhookCreatedOutputSerializer(sub).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.WebhookOutputSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(s.WebhookOutputSerializer(self._subscription()).data)

    @extend_schema(responses={200: s.WebhookOutputSerializer})
    def destroy(self, request: Request, pk: str) -> Response:
        """Deactivate (the subscription and its delivery log are kept)."""
        sub = services.subscription_deactivate(subscription_id=self._subscription().pk, actor=request.user)
        return Response(s.WebhookOutputSerializer(sub).data)

    @extend_schema(request=s.WebhookUpdateInputSerializer, responses={200: s.WebhookOutputSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], url_path="update", url_name="update")
    def change(self, request: Request, pk: str) -> Response:
        """Change the URL, the event kinds, the internal-notes opt-in or
        `active` (true clears an automatic disabling)."""
        sub = self._subscription()
        data = _input(s.WebhookUpdateInputSerializer, request.data)
        sub = services.subscription_update(subscription_id=sub.pk, actor=request.user, **data)
        return Response(s.WebhookOutputSerializer(sub).data)

    @extend_schema(responses=s.WebhookDeliveryOutputSerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        """The delivery log, newest first: status, attempts, response code,
        response excerpt and duration."""
        sub = self._subscription()
        page = self.paginate_queryset(selectors.delivery_list(subscription=sub))
        return self.get_paginated_response(s.WebhookDeliveryOutputSerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: s.WebhookDeliveryOutputSerializer, **CONFLICT})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/replay",
        url_name="delivery-replay",
    )
    def replay(self, request: Request, pk: str, delivery_id: str) -> Response:
        """Send a delivery again (409 `subscription_inactive` when the
        subscription is not active)."""
        sub = self._subscription()
        if not selectors.delivery_exists(subscription=sub, delivery_id=int(delivery_id)):
            raise Http404(_("No such delivery."))
        row = services.delivery_replay(delivery_id=int(delivery_id), actor=request.user)
        return Response(s.WebhookDeliveryOutputSerializer(row).data, status=status.HTTP_202_ACCEPTED)
