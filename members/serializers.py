"""API shapes for the foundation: separate input and output serializers; writes go through
services, never serializer.save()."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .ingestion import MAX_ITEMS
from .integrations import SECRET_MAX, SECRET_MIN
from .ledger import CONTENT_MAX, EXTERNAL_ID_MAX, PLATFORM_MAX
from .merges import MemberMerge
from .models import (
    TIMEZONES,
    Activity,
    ActivityKind,
    ApiToken,
    AuditEvent,
    Community,
    Identity,
    IntegrationPlatform,
    Invitation,
    KeyRole,
    Member,
    MergeSuggestion,
    Note,
    Role,
    Tag,
    TagColor,
    TeamMembership,
)
from .relations import NOTE_BODY_MAX, TAG_NAME_MAX


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


# --- the member ledger -------------------------------------------------------------------------


class ErrorOut(serializers.Serializer):
    """The shape of every API error."""

    code = serializers.CharField()
    message = serializers.CharField()
    errors = serializers.DictField(child=serializers.JSONField())


class MemberRefIn(serializers.Serializer):
    platform_user_id = serializers.CharField(max_length=EXTERNAL_ID_MAX)
    username = serializers.CharField(max_length=255, required=False)
    email = serializers.EmailField(required=False)
    name = serializers.CharField(max_length=255, required=False)


class ActivityIn(serializers.Serializer):
    """One activity (ACTIVITY.md). Documents the shape only: the bulk endpoint validates items
    with members.ingestion.activity_validate, which is much faster per item than a serializer
    and reports the same field errors."""

    platform = serializers.SlugField(max_length=PLATFORM_MAX, help_text=_("Lowercase slug."))
    external_id = serializers.CharField(
        max_length=EXTERNAL_ID_MAX, help_text=_("Unique per platform; a re-send is a duplicate.")
    )
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    occurred_at = serializers.DateTimeField(
        help_text=_("RFC 3339 with an offset; at most one day in the future.")
    )
    member = MemberRefIn()
    thread_id = serializers.CharField(
        max_length=EXTERNAL_ID_MAX,
        required=False,
        help_text=_("Required for a reply; a post without one is its own thread."),
    )
    parent_id = serializers.CharField(max_length=EXTERNAL_ID_MAX, required=False)
    channel = serializers.CharField(max_length=255, required=False)
    url = serializers.CharField(max_length=2048, required=False)
    content = serializers.CharField(
        required=False, help_text=_("Kept up to %(n)d characters.") % {"n": CONTENT_MAX}
    )
    metadata = serializers.DictField(required=False, help_text=_("A JSON object of at most 8 KiB."))


class ActivityBatchIn(serializers.Serializer):
    activities = ActivityIn(many=True, max_length=MAX_ITEMS)


class RejectedItemOut(serializers.Serializer):
    index = serializers.IntegerField(help_text=_("Position of the item in `activities`."))
    errors = serializers.DictField(child=serializers.JSONField(), help_text=_("Field errors."))


class IngestResultOut(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField(
        help_text=_("Items already stored, or repeated in this request: stored once.")
    )
    rejected = RejectedItemOut(many=True)


class IdentityOut(serializers.ModelSerializer):
    class Meta:
        model = Identity
        fields = ["platform", "platform_user_id", "username"]


class TagOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = Tag
        fields = ["id", "name", "color"]


class TagIn(serializers.Serializer):
    name = serializers.CharField(max_length=TAG_NAME_MAX)
    color = serializers.ChoiceField(choices=TagColor.choices, default=TagColor.GREY)


class MemberTagIn(serializers.Serializer):
    tag = serializers.CharField(
        max_length=TAG_NAME_MAX,
        help_text=_("A tag name; POST creates the tag if the community has none of that name."),
    )


class MemberKeyRoleIn(serializers.Serializer):
    key_role = serializers.ChoiceField(
        choices=KeyRole.choices, allow_blank=True, help_text=_('"" for not a key member.')
    )
    relationship_owner = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("User id of the teammate who looks after this member."),
    )


class MemberOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    email = serializers.SerializerMethodField(
        help_text=_("Only for roles that may see personal data; otherwise null.")
    )
    identities = IdentityOut(many=True)
    tags = TagOut(many=True)
    relationship_owner = UserOut(allow_null=True)

    class Meta:
        model = Member
        fields = [
            "id",
            "display_name",
            "email",
            "staff",
            "bot",
            "joined_at",
            "first_contribution_at",
            "last_active_at",
            "erased_at",
            "key_role",
            "relationship_owner",
            "identities",
            "tags",
            "created_at",
        ]

    def get_email(self, member: Member) -> str | None:
        return member.email if self.context.get("show_pii") else None


class ActivityOut(serializers.ModelSerializer):
    member = serializers.UUIDField(source="member.public_id")
    replied_to_member = serializers.UUIDField(
        source="replied_to_member.public_id", allow_null=True, default=None
    )

    class Meta:
        model = Activity
        fields = [
            "platform",
            "external_id",
            "kind",
            "occurred_at",
            "member",
            "thread_id",
            "parent_id",
            "replied_to_member",
            "channel",
            "url",
            "content",
            "metadata",
            "created_at",
        ]


# --- integrations ---------------------------------------------------------------------------


class IntegrationErrorOut(serializers.Serializer):
    at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()


class IntegrationOut(serializers.Serializer):
    """One platform's webhook, configured or not. The secret is never returned."""

    platform = serializers.ChoiceField(choices=IntegrationPlatform.choices)
    label = serializers.CharField()
    configured = serializers.BooleanField()
    webhook_url = serializers.URLField()
    secret_set_at = serializers.DateTimeField(allow_null=True)
    deliveries_ok = serializers.IntegerField()
    deliveries_rejected = serializers.IntegerField(help_text=_("Bad, missing or stale signature."))
    unknown_events = serializers.IntegerField(help_text=_("Acknowledged and ignored."))
    last_delivery_at = serializers.DateTimeField(allow_null=True)
    last_error_at = serializers.DateTimeField(allow_null=True)
    last_errors = IntegrationErrorOut(many=True, help_text=_("The last 10, newest first."))


class IntegrationSecretIn(serializers.Serializer):
    secret = serializers.CharField(
        min_length=SECRET_MIN, max_length=SECRET_MAX, trim_whitespace=False, write_only=True
    )


class NoteOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    member = serializers.UUIDField(source="member.public_id")
    author = UserOut()

    class Meta:
        model = Note
        fields = ["id", "member", "author", "body", "created_at", "updated_at"]


class NoteIn(serializers.Serializer):
    body = serializers.CharField(max_length=NOTE_BODY_MAX)


# --- member merges -------------------------------------------------------------------------------


class MergeMemberOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = Member
        fields = ["id", "display_name", "last_active_at"]


class MergeSuggestionOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    member_a = MergeMemberOut()
    member_b = MergeMemberOut()

    class Meta:
        model = MergeSuggestion
        fields = ["id", "reason", "status", "member_a", "member_b", "created_at"]


class MergeSuggestionAcceptIn(serializers.Serializer):
    survivor = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text=_("The member to keep (one of the pair); by default the more active one."),
    )


class MemberMergeIn(serializers.Serializer):
    member = serializers.UUIDField(help_text=_("The member to merge into this one."))


class MemberMergeOut(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    survivor = MergeMemberOut()
    merged = MergeMemberOut()
    actor = UserOut(allow_null=True)
    undone_by = UserOut(allow_null=True)
    moved = serializers.SerializerMethodField()

    class Meta:
        model = MemberMerge
        fields = [
            "id",
            "survivor",
            "merged",
            "actor",
            "created_at",
            "undone_at",
            "undone_by",
            "moved",
        ]

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_moved(self, merge: MemberMerge) -> dict[str, int]:
        snap = merge.snapshot
        return {
            key: len(snap.get(key, []))
            for key in ("identities", "activities", "notes", "tag_links")
        }
