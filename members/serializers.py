"""API shapes for the foundation: separate input and output serializers; writes go through
services, never serializer.save()."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import TIMEZONES, ApiToken, AuditEvent, Community, Invitation, Role, TeamMembership


class CommunityOut(serializers.ModelSerializer):
    class Meta:
        model = Community
        fields = ["slug", "name", "timezone", "created_at"]


class MyCommunityOut(serializers.Serializer):
    community = CommunityOut()
    role = serializers.ChoiceField(choices=Role.choices)


class CommunityIn(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    timezone = serializers.ChoiceField(choices=TIMEZONES)


class UserOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.EmailField()
    name = serializers.CharField()


class MembershipOut(serializers.ModelSerializer):
    user = UserOut()

    class Meta:
        model = TeamMembership
        fields = ["user", "role", "created_at"]


class MembershipIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    invited_by = serializers.EmailField(source="invited_by.email")

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "sent_at",
            "ended_at",
        ]


class InvitationIn(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class ApiTokenOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    user = serializers.EmailField(source="user.email")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "user", "created_at", "last_used_at", "revoked_at"]


class ApiTokenCreatedOut(ApiTokenOut):
    token = serializers.CharField(help_text=_("The secret. Shown once; store it now."))

    class Meta(ApiTokenOut.Meta):
        fields = [*ApiTokenOut.Meta.fields, "token"]


class ApiTokenIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    user = serializers.EmailField(
        required=False, help_text=_("Teammate the token acts as; default: you.")
    )


class AuditEventOut(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    target = serializers.CharField(source="target_label")

    class Meta:
        model = AuditEvent
        fields = [
            "created_at",
            "actor",
            "action",
            "target_type",
            "target_id",
            "target",
            "before",
            "after",
            "ip",
        ]
