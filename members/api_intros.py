"""/api/v1/communities/{slug}/introductions/ and …/key-members/: introductions (list with
status and member filters, create, move on) and key members (all, or only those gone quiet;
hand all of one teammate's over to another). Both are CommunityViewSets."""

import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from . import selectors_intros, services_intros
from .api_base import CommunityViewSet
from .exceptions import ApplicationError
from .intros import Introduction, IntroductionStatus
from .ledger import Member
from .models import User
from .permissions import Capability
from .serializers import ErrorOut
from .serializers_intros import (
    HandoverIn,
    HandoverOut,
    IntroductionIn,
    IntroductionOut,
    IntroductionStatusIn,
    KeyMemberOut,
)


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


class IntroductionViewSet(mixins.ListModelMixin, CommunityViewSet):
    """Introductions, newest first. Filters: `status`, `member` (either side). Managers and
    admins propose one (POST) and move it on (POST `{id}/status/`)."""

    queryset = Introduction.objects.select_related(
        "member_a", "member_b", "introduced_by"
    ).order_by("-created_at", "-id")
    serializer_class = IntroductionOut
    read_capability = Capability.MEMBERS_READ
    write_capability = Capability.MEMBERS_EDIT

    def _member(self, public_id: Any, field: str) -> Member:
        member = (
            Member.objects.filter(community=self.community, public_id=public_id)
            .select_related("community")
            .first()
        )
        if member is None:
            raise ApplicationError(_("No such member in this community."), field=field)
        return member

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=IntroductionStatus.values),
            OpenApiParameter("member", OpenApiTypes.UUID, description="Either side."),
        ]
    )
    def list(self, request: Request, community_slug: str) -> Response:
        return super().list(request, community_slug)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        params = self.request.query_params
        if status_ := params.get("status"):
            if status_ not in IntroductionStatus.values:
                raise ValidationError({"status": [_("Not an introduction status.")]})
            queryset = queryset.filter(status=status_)
        if member := params.get("member"):
            try:
                member_id = uuid.UUID(member)
            except ValueError:
                raise ValidationError({"member": [_("Not a member id.")]}) from None
            queryset = queryset.filter(
                Q(member_a__public_id=member_id) | Q(member_b__public_id=member_id)
            )
        return queryset

    @extend_schema(request=IntroductionIn, responses={201: IntroductionOut, 409: ErrorOut})
    def create(self, request: Request, community_slug: str) -> Response:
        data = IntroductionIn(data=request.data)
        data.is_valid(raise_exception=True)
        intro = services_intros.introduction_create(
            actor=request.user,
            member_a=self._member(data.validated_data["member_a"], "member_a"),
            member_b=self._member(data.validated_data["member_b"], "member_b"),
            reason=data.validated_data["reason"],
        )
        return Response(
            IntroductionOut(self.get_queryset().get(pk=intro.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=IntroductionStatusIn,
        responses={200: IntroductionOut, 400: ErrorOut, 409: ErrorOut},
    )
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, community_slug: str, public_id: str) -> Response:
        """Move the introduction on; 400 for a move the statuses do not allow, 409 if someone
        moved it meanwhile."""
        intro = self.get_object()
        data = IntroductionStatusIn(data=request.data)
        data.is_valid(raise_exception=True)
        services_intros.introduction_set_status(
            actor=request.user, introduction=intro, status=data.validated_data["status"]
        )
        return Response(IntroductionOut(self.get_queryset().get(pk=intro.pk)).data)


class KeyMemberViewSet(mixins.ListModelMixin, CommunityViewSet):
    """Champions and influencers with their relationship owner, by owner; `?quiet=true` gives
    only those gone quiet (no activity for the community's `quiet_after_days`), longest quiet
    first. POST `handover/` moves all of one teammate's key members to another."""

    queryset = Member.objects.exclude(key_role="").select_related("relationship_owner")
    serializer_class = KeyMemberOut
    read_capability = Capability.MEMBERS_READ
    write_capability = Capability.MEMBERS_EDIT

    @extend_schema(parameters=[OpenApiParameter("quiet", OpenApiTypes.BOOL)])
    def list(self, request: Request, community_slug: str) -> Response:
        return super().list(request, community_slug)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if _flag(self.request.query_params.get("quiet")):
            # The rows and order of selectors_intros.gone_quiet, on the scoped queryset.
            return queryset.filter(selectors_intros.quiet_condition(self.community)).order_by(
                *selectors_intros.GONE_QUIET_ORDER
            )
        return queryset.order_by(*selectors_intros.KEY_MEMBERS_ORDER)

    @extend_schema(request=HandoverIn, responses={200: HandoverOut, 400: ErrorOut})
    @action(detail=False, methods=["post"])
    def handover(self, request: Request, community_slug: str) -> Response:
        data = HandoverIn(data=request.data)
        data.is_valid(raise_exception=True)
        users = {
            u.public_id: u
            for u in User.objects.filter(
                public_id__in=[data.validated_data["from_user"], data.validated_data["to_user"]]
            )
        }
        from_user = users.get(data.validated_data["from_user"])
        to_user = users.get(data.validated_data["to_user"])
        if from_user is None:
            raise ApplicationError(
                _("That teammate looks after no key members here."), field="from_user"
            )
        if to_user is None:
            raise ApplicationError(_("No such teammate."), field="to_user")
        moved = services_intros.key_members_reassign(
            actor=request.user, community=self.community, from_user=from_user, to_user=to_user
        )
        body = {"count": len(moved), "members": [m.public_id for m in moved], "to_user": to_user}
        return Response(HandoverOut(body).data)
