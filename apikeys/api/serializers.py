"""Serializers of the personal API tokens."""

from rest_framework import serializers

from apikeys.models import ApiToken


class ApiTokenOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "is_active"]
        read_only_fields = fields


class ApiTokenCreatedOutputSerializer(ApiTokenOutputSerializer):
    key = serializers.CharField(read_only=True, help_text="The token. Shown only in this answer: store it now.")

    class Meta(ApiTokenOutputSerializer.Meta):
        fields = [*ApiTokenOutputSerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiTokenCreateInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=100, help_text="What the token is for, e.g. `warehouse sync`.")
