"""API shapes for introductions and key members: separate input and output serializers."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .intros import INTRO_REASON_MAX, Introduction, IntroductionStatus
from .ledger import Member
from .serializers import UserOut


class MemberRefOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    display_name = serializers.CharField()


class IntroductionOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    member_a = MemberRefOut()
    member_b = MemberRefOut()
    introduced_by = UserOut()

    class Meta:
        model = Introduction
        fields = [
            "id",
            "member_a",
            "member_b",
            "reason",
            "introduced_by",
            "status",
            "created_at",
            "made_at",
            "connected_at",
            "declined_at",
        ]


class IntroductionIn(serializers.Serializer):
    member_a = serializers.UUIDField(help_text=_("The member being introduced."))
    member_b = serializers.UUIDField(help_text=_("The member they are introduced to."))
    reason = serializers.CharField(max_length=INTRO_REASON_MAX)


class IntroductionStatusIn(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=IntroductionStatus.choices,
        help_text=_("proposed → made → connected; declined from proposed or made."),
    )


class KeyMemberOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    relationship_owner = UserOut(allow_null=True)

    class Meta:
        model = Member
        fields = ["id", "display_name", "key_role", "last_active_at", "relationship_owner"]


class HandoverIn(serializers.Serializer):
    from_user = serializers.UUIDField(help_text=_("The teammate who looks after them now."))
    to_user = serializers.UUIDField(help_text=_("The teammate who takes them over."))


class HandoverOut(serializers.Serializer):
    count = serializers.IntegerField()
    members = serializers.ListField(child=serializers.UUIDField())
    to_user = UserOut()
