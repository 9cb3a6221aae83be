"""The caller's account: who am I (personal API tokens: apikeys.api)."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import serializers as s


class MeView(generics.GenericAPIView):  # type: ignore[type-arg]
    serializer_class = s.MeOutputSerializer
    pagination_class = None

    @extend_schema(responses=s.MeOutputSerializer)
    def get(self, request: Request) -> Response:
        """The authenticated user."""
        return Response(s.MeOutputSerializer(request.user).data)
