"""/api/v1/ endpoints: the caller's communities, the community itself, its team, invitations,
API tokens and audit log; the activity ledger and members. Every community endpoint is a
CommunityViewSet."""

from typing import Any

from django.db.models import F, Prefetch, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from . import selectors, services, services_relations
from .api_base import CommunityViewSet
from .exceptions import ApplicationError
from .filters import ActivityFilter, AuditEventFilter, MemberDirectoryFilter
from .ingestion import MAX_ITEMS, activities_ingest
from .integrations import integration_set_secret, integrations_of
from .models import (
    Activity,
    ApiToken,
    AuditEvent,
    Community,
    Identity,
    Integration,
    IntegrationPlatform,
    Invitation,
    Member,
    Note,
    Tag,
    TeamMembership,
)
from .pagination import LedgerPagination
from .parsers import BoundedJSONParser, PayloadTooLarge
from .permissions import Capability, role_can
from .serializers import (
    ActivityBatchIn,
    ActivityOut,
    ApiTokenCreatedOut,
    ApiTokenIn,
    ApiTokenOut,
    AuditEventOut,
    CommunityIn,
    CommunityOut,
    ErrorOut,
    IngestResultOut,
    IntegrationOut,
    IntegrationSecretIn,
    InvitationIn,
    InvitationOut,
    MemberKeyRoleIn,
    MemberOut,
    MembershipIn,
    MembershipOut,
    MemberTagIn,
    MyCommunityOut,
    NoteIn,
    NoteOut,
    TagIn,
    TagOut,
)


class MyCommunitiesView(ListAPIView):
    """The communities the caller is on, with their role. A token sees only its own community."""

    serializer_class = MyCommunityOut

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return TeamMembership.objects.none()
        memberships = selectors.memberships_of(self.request.user)
        if isinstance(self.request.auth, ApiToken):
            memberships = memberships.filter(community_id=self.request.auth.community_id)
        return memberships


class CommunityViewSetDetail(CommunityViewSet):
    """The community named in the URL: read by every role, renamed by admins."""

    queryset = Community.objects.all()
    community_field = "pk"
    read_capability = Capability.DASHBOARDS
    write_capability = Capability.ADMINISTER

    @extend_schema(responses=CommunityOut)
    def retrieve(self, request: Request, community_slug: str) -> Response:
        return Response(CommunityOut(self.community).data)

    @extend_schema(request=CommunityIn, responses=CommunityOut)
    def partial_update(self, request: Request, community_slug: str) -> Response:
        # partial=True, not a merge into the current values: a body that is not a JSON object
        # must be a 400 from the serializer, not a TypeError from `**request.data`.
        data = CommunityIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        community = services.community_update(
            actor=request.user,
            community=self.community,
            name=data.validated_data.get("name", self.community.name),
            timezone_name=data.validated_data.get("timezone", self.community.timezone),
        )
        return Response(CommunityOut(community).data)


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CommunityViewSet):
    """The community's staff and their roles (admins only). Look up a teammate by user id."""

    queryset = TeamMembership.objects.select_related("user").order_by("user__email")
    serializer_class = MembershipOut
    read_capability = Capability.ADMINISTER
    write_capability = Capability.ADMINISTER
    lookup_field = "user__public_id"
    lookup_url_kwarg = "user_id"

    @extend_schema(request=MembershipIn, responses=MembershipOut)
    def partial_update(self, request: Request, community_slug: str, user_id: str) -> Response:
        data = MembershipIn(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_set_role(
            actor=request.user, membership=self.get_object(), role=data.validated_data["role"]
        )
        return Response(MembershipOut(membership).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, community_slug: str, user_id: str) -> Response:
        services.membership_remove(actor=request.user, membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CommunityViewSet):
    """Invite teammates by email with a role; revoke a pending invitation."""

    queryset = Invitation.objects.select_related("invited_by").order_by("-created_at")
    serializer_class = InvitationOut
    read_capability = Capability.ADMINISTER
    write_capability = Capability.ADMINISTER
    filterset_fields = ["status"]

    @extend_schema(request=InvitationIn, responses={201: InvitationOut})
    def create(self, request: Request, community_slug: str) -> Response:
        data = InvitationIn(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, _raw = services.invitation_create(
            actor=request.user, community=self.community, **data.validated_data
        )
        return Response(InvitationOut(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=InvitationOut)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, community_slug: str, public_id: str) -> Response:
        invitation = services.invitation_revoke(actor=request.user, invitation=self.get_object())
        return Response(InvitationOut(invitation).data)

    @extend_schema(request=None, responses=InvitationOut)
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, community_slug: str, public_id: str) -> Response:
        """Email a new link; the previous link stops working."""
        invitation = services.invitation_resend(actor=request.user, invitation=self.get_object())
        return Response(InvitationOut(invitation).data)


class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CommunityViewSet):
    """Community-scoped API tokens. The secret is in the create response only."""

    # Active tokens first on every database: PostgreSQL sorts NULLs last in ascending order.
    queryset = ApiToken.objects.select_related("user").order_by(
        F("revoked_at").asc(nulls_first=True), "-created_at"
    )
    serializer_class = ApiTokenOut
    read_capability = Capability.ADMINISTER
    write_capability = Capability.ADMINISTER

    @extend_schema(request=ApiTokenIn, responses={201: ApiTokenCreatedOut})
    def create(self, request: Request, community_slug: str) -> Response:
        data = ApiTokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data.get("user") or request.user.email
        membership = selectors.team_of(self.community).filter(user__email__iexact=email).first()
        if membership is None:
            raise ApplicationError(f"{email} is not on this community's team.", field="user")
        token, raw = services.api_token_create(
            actor=request.user,
            community=self.community,
            user=membership.user,
            name=data.validated_data["name"],
        )
        body = ApiTokenOut(token).data | {"token": raw}
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses=ApiTokenOut)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, community_slug: str, public_id: str) -> Response:
        token = services.api_token_revoke(actor=request.user, token=self.get_object())
        return Response(ApiTokenOut(token).data)


class AuditEventViewSet(mixins.ListModelMixin, CommunityViewSet):
    """The audit log, newest first; filters: actor, action, target_type, target, since, until
    (dates in the community's time zone)."""

    queryset = AuditEvent.objects.order_by("-created_at", "-id")
    serializer_class = AuditEventOut
    filterset_class = AuditEventFilter
    read_capability = Capability.ADMINISTER


# --- the member ledger -------------------------------------------------------------------------


class ActivityViewSet(mixins.ListModelMixin, CommunityViewSet):
    """The activity ledger. POST stores a batch (ACTIVITY.md); GET lists it newest first,
    filtered by member, platform, kind, thread and local days."""

    queryset = Activity.objects.select_related("member", "replied_to_member")
    serializer_class = ActivityOut
    filterset_class = ActivityFilter
    pagination_class = LedgerPagination
    parser_classes = [BoundedJSONParser]
    read_capability = Capability.MEMBERS_READ
    write_capability = Capability.MEMBERS_EDIT

    @extend_schema(
        request=ActivityBatchIn,
        responses={200: IngestResultOut, 400: ErrorOut, 413: ErrorOut, 415: ErrorOut},
        description=(
            "Store up to 1,000 activities in one transaction. Always 200 when the envelope is "
            "valid: every item is either created, a duplicate (already stored, or repeated in "
            "this request) or rejected with its index and field errors. More than 1,000 items "
            "or a body over 5 MiB: 413; a body that is not JSON or not UTF-8: 400; nothing is "
            "stored in either case. Re-sending a request is safe."
        ),
    )
    def create(self, request: Request, community_slug: str) -> Response:
        body = request.data
        activities = body.get("activities") if isinstance(body, dict) else None
        if not isinstance(activities, list):
            raise ValidationError(
                {"activities": [_('Send {"activities": [ ... ]}, a JSON list of activities.')]}
            )
        if len(activities) > MAX_ITEMS:
            raise PayloadTooLarge(
                _("At most %(max)d activities per request (got %(n)d); split the batch.")
                % {"max": MAX_ITEMS, "n": len(activities)}
            )
        result = activities_ingest(community=self.community, items=activities, source="api")
        return Response(IngestResultOut(result).data)


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CommunityViewSet):
    """Members with their identities, tags and key role; filters and sorts as the directory does.
    Emails (and search by email) only for roles that may see personal data. PATCH sets the key
    role and relationship owner; POST/DELETE `tags/` tags and untags by name."""

    queryset = Member.objects.select_related("relationship_owner").prefetch_related(
        Prefetch("identities", Identity.objects.order_by("platform", "id")),
        Prefetch("tags", Tag.objects.order_by("name")),
    )
    serializer_class = MemberOut
    filterset_class = MemberDirectoryFilter
    read_capability = Capability.MEMBERS_READ
    write_capability = Capability.MEMBERS_EDIT

    def show_pii(self) -> bool:
        membership = getattr(self, "membership", None)
        return membership is not None and role_can(membership.role, Capability.MEMBERS_PII)

    def get_serializer_context(self) -> dict[str, Any]:
        return super().get_serializer_context() | {"show_pii": self.show_pii()}

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.action != "list":
            return queryset
        queryset = queryset.filter(merged_into__isnull=True)  # merged members are not listed
        filterset = MemberDirectoryFilter(
            self.request.query_params,
            queryset=queryset,
            search_email=self.show_pii(),
            community=self.community,
        )
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return filterset.qs

    @extend_schema(request=MemberKeyRoleIn, responses=MemberOut)
    def partial_update(self, request: Request, community_slug: str, public_id: str) -> Response:
        """Mark a champion or influencer and name their relationship owner (a teammate)."""
        member = self.get_object()
        data = MemberKeyRoleIn(data=request.data)
        data.is_valid(raise_exception=True)
        owner_id = data.validated_data["relationship_owner"]
        owner = None
        if owner_id is not None:
            membership = selectors.team_of(self.community).filter(user__public_id=owner_id).first()
            if membership is None:
                raise ApplicationError(
                    _("The relationship owner must be on this community's team."),
                    field="relationship_owner",
                )
            owner = membership.user
        services_relations.member_set_key_role(
            actor=request.user, member=member, key_role=data.validated_data["key_role"], owner=owner
        )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=MemberTagIn, responses=MemberOut)
    @action(detail=True, methods=["post", "delete"], url_path="tags")
    def tags(self, request: Request, community_slug: str, public_id: str) -> Response:
        """POST tags the member (creating the tag if new); DELETE removes the tag named."""
        member = self.get_object()
        data = MemberTagIn(data=request.data)
        data.is_valid(raise_exception=True)
        name = data.validated_data["tag"]
        if request.method == "POST":
            services_relations.member_tag(actor=request.user, member=member, tag_name=name)
        else:
            tag = Tag.objects.filter(community=self.community, name__iexact=name.strip()).first()
            if tag is None:
                raise ApplicationError(_("No tag of that name."), field="tag")
            services_relations.member_untag(actor=request.user, member=member, tag=tag)
        return Response(self.get_serializer(self.get_object()).data)


class MemberNoteViewSet(mixins.ListModelMixin, CommunityViewSet):
    """The team's notes on one member, newest first; any teammate who may write notes adds one."""

    queryset = Note.objects.select_related("author", "member").order_by("-created_at", "-id")
    serializer_class = NoteOut
    read_capability = Capability.MEMBERS_READ
    write_capability = Capability.MEMBERS_NOTES

    def member(self) -> Member:
        member = Member.objects.filter(
            community=self.community, public_id=self.kwargs["member_id"]
        ).first()
        if member is None:
            raise NotFound()
        return member

    def list(self, request: Request, community_slug: str, member_id: str) -> Response:
        self.member()  # 404 for a member of another community, not an empty list
        return super().list(request, community_slug, member_id)

    def base_queryset(self) -> QuerySet:
        return self.queryset.filter(member__public_id=self.kwargs.get("member_id"))

    @extend_schema(request=NoteIn, responses={201: NoteOut})
    def create(self, request: Request, community_slug: str, member_id: str) -> Response:
        member = self.member()
        data = NoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        note = services_relations.note_create(
            actor=request.user, member=member, body=data.validated_data["body"]
        )
        return Response(NoteOut(note).data, status=status.HTTP_201_CREATED)


class NoteViewSet(CommunityViewSet):
    """One note: its author edits (PATCH) or deletes it; anyone else gets 403."""

    queryset = Note.objects.select_related("author", "member__community")
    serializer_class = NoteOut
    read_capability = Capability.MEMBERS_READ
    write_capability = Capability.MEMBERS_NOTES

    @extend_schema(request=NoteIn, responses={200: NoteOut, 403: ErrorOut})
    def partial_update(self, request: Request, community_slug: str, public_id: str) -> Response:
        note = self.get_object()
        data = NoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        note = services_relations.note_update(
            actor=request.user, note=note, body=data.validated_data["body"]
        )
        return Response(NoteOut(self.get_queryset().get(pk=note.pk)).data)

    @extend_schema(responses={204: None, 403: ErrorOut})
    def destroy(self, request: Request, community_slug: str, public_id: str) -> Response:
        services_relations.note_delete(actor=request.user, note=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TagViewSet(mixins.ListModelMixin, CommunityViewSet):
    """The community's tags, by name; managers and admins create them."""

    queryset = Tag.objects.order_by("name")
    serializer_class = TagOut
    read_capability = Capability.MEMBERS_READ
    write_capability = Capability.MEMBERS_EDIT

    @extend_schema(request=TagIn, responses={201: TagOut, 409: ErrorOut})
    def create(self, request: Request, community_slug: str) -> Response:
        data = TagIn(data=request.data)
        data.is_valid(raise_exception=True)
        tag = services_relations.tag_create(
            actor=request.user, community=self.community, **data.validated_data
        )
        return Response(TagOut(tag).data, status=status.HTTP_201_CREATED)


# --- integrations ------------------------------------------------------------------------------


class IntegrationViewSet(CommunityViewSet):
    """Webhook integrations (admins): one entry per platform with its webhook URL and delivery
    counts; PUT sets or replaces a platform's signing secret, which is never returned."""

    queryset = Integration.objects.all()
    read_capability = Capability.ADMINISTER
    write_capability = Capability.ADMINISTER
    lookup_field = "platform"
    lookup_value_regex = "[a-z0-9_-]+"
    pagination_class = None

    @extend_schema(responses=IntegrationOut(many=True))
    def list(self, request: Request, community_slug: str) -> Response:
        cards = integrations_of(self.community)
        return Response(IntegrationOut(cards, many=True).data)

    @extend_schema(
        request=IntegrationSecretIn, responses={200: IntegrationOut, 400: ErrorOut, 404: ErrorOut}
    )
    def update(self, request: Request, community_slug: str, platform: str) -> Response:
        if platform not in IntegrationPlatform.values:
            raise NotFound()
        data = IntegrationSecretIn(data=request.data)
        data.is_valid(raise_exception=True)
        integration_set_secret(
            actor=request.user,
            community=self.community,
            platform=platform,
            secret=data.validated_data["secret"],
        )
        card = next(c for c in integrations_of(self.community) if c.platform == platform)
        return Response(IntegrationOut(card).data, headers={"Cache-Control": "no-store"})
