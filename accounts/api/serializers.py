"""Serializers of the accounts API (me)."""

from rest_framework import serializers

from accounts.models import User


class MeOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "organisation_id", "timezone"]
        read_only_fields = fields
