"""/api/v1/communities/{slug}/members/{id}/export/ (GET, personal-data roles) and .../erase/
(POST, editors): members.privacy over the API. Two viewsets because a CommunityViewSet names one
capability for reads and one for writes."""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from . import privacy
from .api_base import CommunityViewSet
from .models import Member
from .permissions import Capability
from .serializers import ErrorOut


class MemberEraseIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class MemberErasedOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    display_name = serializers.CharField()
    erased_at = serializers.DateTimeField()


class _ExportMember(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    staff = serializers.BooleanField()
    bot = serializers.BooleanField()
    key_role = serializers.CharField()
    relationship_owner = serializers.EmailField(allow_null=True)
    joined_at = serializers.DateTimeField(allow_null=True)
    first_contribution_at = serializers.DateTimeField(allow_null=True)
    last_active_at = serializers.DateTimeField(allow_null=True)
    erased_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class _ExportIdentity(serializers.Serializer):
    platform = serializers.CharField()
    platform_user_id = serializers.CharField()
    username = serializers.CharField()
    email = serializers.CharField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()


class _ExportActivity(serializers.Serializer):
    platform = serializers.CharField()
    external_id = serializers.CharField()
    kind = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    channel = serializers.CharField()
    thread_id = serializers.CharField()
    parent_id = serializers.CharField()
    url = serializers.CharField()
    content = serializers.CharField()
    metadata = serializers.JSONField()


class _ExportNote(serializers.Serializer):
    author = serializers.EmailField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class _ExportMerge(serializers.Serializer):
    other_member = serializers.UUIDField()
    reason = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class _ExportAuditEvent(serializers.Serializer):
    action = serializers.CharField()
    actor_label = serializers.CharField()
    target_label = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    created_at = serializers.DateTimeField()


@extend_schema_serializer(many=False)  # served by `list`, but one document
class MemberExportOut(serializers.Serializer):
    """The shape of members.privacy.member_export (documentation only: the data is returned as
    the service built it). Apps above members may add sections."""

    member = _ExportMember()
    identities = _ExportIdentity(many=True)
    activities = _ExportActivity(many=True)
    notes = _ExportNote(many=True)
    tags = serializers.ListField(child=serializers.CharField())
    merge_suggestions = _ExportMerge(many=True)
    audit_events = _ExportAuditEvent(many=True)


class _OneMember:
    """The member named by the URL, in the URL's community (404 otherwise)."""

    queryset = Member.objects.select_related("community", "relationship_owner")

    def member(self) -> Member:
        view: Any = self  # a CommunityViewSet: get_queryset is scoped to the URL's community
        member = view.get_queryset().filter(public_id=view.kwargs["member_id"]).first()
        if member is None:
            raise NotFound()
        return member


class MemberExportViewSet(_OneMember, CommunityViewSet):
    """Everything Hearth holds about one member: member fields, identities, activities, notes,
    tags, merge suggestions and the audit events about them. Audited as `member.export`."""

    read_capability = Capability.MEMBERS_PII
    pagination_class = None  # one document, not a list (`list` only gives the route its GET)
    filter_backends: list[type] = []

    @extend_schema(responses={200: MemberExportOut, 404: ErrorOut})
    def list(self, request: Request, community_slug: str, member_id: str) -> Response:
        data: dict[str, Any] = privacy.member_export(actor=request.user, member=self.member())
        return Response(data)


class MemberEraseViewSet(_OneMember, CommunityViewSet):
    """Erase a member's personal data (see members.privacy); 409 if already erased."""

    read_capability = Capability.MEMBERS_READ
    write_capability = Capability.MEMBERS_EDIT

    @extend_schema(request=MemberEraseIn, responses={200: MemberErasedOut, 409: ErrorOut})
    def create(self, request: Request, community_slug: str, member_id: str) -> Response:
        data = MemberEraseIn(data=request.data)
        data.is_valid(raise_exception=True)
        member = privacy.member_erase(
            actor=request.user, member=self.member(), reason=data.validated_data["reason"]
        )
        return Response(MemberErasedOut(member).data)
