"""Personal API tokens of the caller (mounted at /api/v1/tokens/)."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.request_user import signed_in
from apikeys import selectors, services
from apikeys.api import serializers as s
from apikeys.models import ApiToken


class ApiTokenViewSet(viewsets.GenericViewSet):
    """Your personal API tokens. The key is shown once, at creation; only a
    hash of it is stored."""

    serializer_class = s.ApiTokenOutputSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return selectors.api_token_list_for_user(user=signed_in(self.request))

    @extend_schema(responses=s.ApiTokenOutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(s.ApiTokenOutputSerializer(self.get_queryset(), many=True).data)

    @extend_schema(request=s.ApiTokenCreateInputSerializer, responses={201: s.ApiTokenCreatedOutputSerializer})
    def create(self, request: Request) -> Response:
        serializer = s.ApiTokenCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.api_token_create(user=signed_in(request), name=serializer.validated_data["name"])
        body = dict(s.ApiTokenOutputSerializer(created.token).data)
        body["key"] = created.key
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.ApiTokenOutputSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        """Revoke the token at once (idempotent)."""
        token = services.api_token_revoke(user=signed_in(request), token_id=pk)
        return Response(s.ApiTokenOutputSerializer(token).data)
