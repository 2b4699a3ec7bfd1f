"""/api/v1/ endpoints of the foundation: the caller's communities, the community itself, its
team, invitations, API tokens and audit log. Every community endpoint is a CommunityViewSet."""

from django.db.models import F
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from . import selectors, services
from .api_base import CommunityViewSet
from .exceptions import ApplicationError
from .filters import AuditEventFilter
from .models import ApiToken, AuditEvent, Community, Invitation, TeamMembership
from .permissions import Capability
from .serializers import (
    ApiTokenCreatedOut,
    ApiTokenIn,
    ApiTokenOut,
    AuditEventOut,
    CommunityIn,
    CommunityOut,
    InvitationIn,
    InvitationOut,
    MembershipIn,
    MembershipOut,
    MyCommunityOut,
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
