"""`GET/PUT /api/v1/config/sign-in/`: the staff sign-in policy
(docs/sign-in.md). Managers read it; only admins change it, as on the
Settings page; changes land in the configuration history (via "api")."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import two_factor
from accounts.policy import is_admin
from webhooks.api.views import IsManager


class SignInPolicySerializer(serializers.Serializer):
    required_roles = serializers.ListField(
        child=serializers.ChoiceField(choices=list(two_factor.STAFF_ROLES)),
        help_text="Roles that must use two-factor sign-in, set on the page or by the API. "
        "Roles in `environment_roles` are required whatever this says.",
    )
    oidc_satisfies_2fa = serializers.BooleanField(help_text="Single sign-on counts as the second factor.")
    environment_roles = serializers.ListField(child=serializers.CharField(), read_only=True)
    effective_required_roles = serializers.ListField(child=serializers.CharField(), read_only=True)
    effective_oidc_satisfies_2fa = serializers.BooleanField(read_only=True)


def _body(policy: two_factor.SignInPolicy) -> dict[str, Any]:
    order = two_factor.STAFF_ROLES
    return {
        "required_roles": [r for r in order if r in policy.page_roles],
        "oidc_satisfies_2fa": policy.page_oidc_satisfies,
        "environment_roles": [r for r in order if r in policy.env_roles],
        "effective_required_roles": [r for r in order if r in policy.required_roles],
        "effective_oidc_satisfies_2fa": policy.oidc_satisfies,
    }


class SignInPolicyView(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses=SignInPolicySerializer, summary="The staff sign-in policy")
    def get(self, request: Request) -> Response:
        return Response(_body(two_factor.policy_get()))

    @extend_schema(request=SignInPolicySerializer, responses=SignInPolicySerializer, summary="Change it (admins)")
    def put(self, request: Request) -> Response:
        if not is_admin(request.user):
            raise PermissionDenied(_("Only an admin can change the sign-in policy."))
        serializer = SignInPolicySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        two_factor.policy_save(
            required_roles=serializer.validated_data["required_roles"],
            oidc_satisfies=serializer.validated_data["oidc_satisfies_2fa"],
        )
        return Response(_body(two_factor.policy_get()))
