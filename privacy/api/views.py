"""Admin API: /api/v1/people/<id>/export/ and POST .../erase/."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.request_user import signed_in
from privacy import selectors, services


class PersonEraseInputSerializer(serializers.Serializer):
    confirm_email = serializers.CharField(max_length=320, help_text="The person's current e-mail address.")


class PersonErasedOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    name = serializers.CharField()
    audit_id = serializers.IntegerField()
    erased_at = serializers.DateTimeField()
    counts = serializers.DictField()


def _admin_person(request: Request, user_id: int) -> User:
    if not services.user_may_erase(request.user):
        raise exceptions.PermissionDenied("Only admins can do this.")
    try:
        return selectors.person_get(user_id=user_id)
    except User.DoesNotExist as exc:
        raise exceptions.NotFound("No such person.") from exc


class PersonExportView(APIView):
    @extend_schema(responses={200: dict[str, Any]}, summary="Export everything about a person (admins)")
    def get(self, request: Request, user_id: int) -> Response:
        person = _admin_person(request, user_id)
        return Response(services.person_export_record(subject=person, actor=signed_in(request), via="api"))


class PersonEraseView(APIView):
    @extend_schema(
        request=PersonEraseInputSerializer,
        responses={200: PersonErasedOutputSerializer},
        summary="Erase a person (admins); the row stays as a pseudonymous placeholder",
    )
    def post(self, request: Request, user_id: int) -> Response:
        person = _admin_person(request, user_id)
        data = PersonEraseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        audit = services.person_erase(
            subject_id=person.pk,
            actor=signed_in(request),
            via="api",
            confirm_email=data.validated_data["confirm_email"],
        )
        person.refresh_from_db()
        out = {
            "id": person.pk,
            "email": person.email,
            "name": person.name,
            "audit_id": audit.pk,
            "erased_at": audit.occurred_at,
            "counts": audit.data,
        }
        return Response(PersonErasedOutputSerializer(out).data, status=status.HTTP_200_OK)
