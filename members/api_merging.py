"""/api/v1/ endpoints for member merges: the suggestion inbox (accept, reject), merging a member
into another, and undoing a merge. Managers and admins (MEMBERS_EDIT) only."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from . import merge_selectors, merging
from .api_base import CommunityViewSet
from .exceptions import ApplicationError
from .ledger import Member, MergeSuggestion
from .merges import MemberMerge
from .permissions import Capability
from .serializers import (
    ErrorOut,
    MemberMergeIn,
    MemberMergeOut,
    MergeSuggestionAcceptIn,
    MergeSuggestionOut,
)


def _merge_out(merge: MemberMerge) -> dict:
    merge = merge_selectors.recent_merges(merge.community).get(pk=merge.pk)
    return MemberMergeOut(merge).data


class MergeSuggestionViewSet(mixins.ListModelMixin, CommunityViewSet):
    """Pending merge suggestions (both members unmerged), newest first."""

    queryset = MergeSuggestion.objects.all()
    serializer_class = MergeSuggestionOut
    read_capability = Capability.MEMBERS_EDIT
    write_capability = Capability.MEMBERS_EDIT

    def base_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return MergeSuggestion.objects.all()
        return merge_selectors.pending_suggestions(self.community)

    @extend_schema(request=MergeSuggestionAcceptIn, responses={201: MemberMergeOut, 409: ErrorOut})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, community_slug: str, public_id: str) -> Response:
        """Merge the pair, into `survivor` if given, else into the more active member."""
        suggestion = self.get_object()
        data = MergeSuggestionAcceptIn(data=request.data)
        data.is_valid(raise_exception=True)
        survivor = None
        if data.validated_data.get("survivor"):
            survivor = Member.objects.filter(
                community=self.community, public_id=data.validated_data["survivor"]
            ).first()
            if survivor is None:
                raise ApplicationError(_("Choose one of the two suggested members."), "survivor")
        merge = merging.merge_suggestion_accept(
            actor=request.user, suggestion=suggestion, survivor=survivor
        )
        return Response(_merge_out(merge), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: MergeSuggestionOut, 409: ErrorOut})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, community_slug: str, public_id: str) -> Response:
        """Not the same person: the pair is never suggested again."""
        suggestion = merging.merge_suggestion_reject(
            actor=request.user, suggestion=self.get_object()
        )
        return Response(MergeSuggestionOut(suggestion).data)


class MemberMergeIntoViewSet(CommunityViewSet):
    """POST merges the member named in the body into the member of the URL."""

    queryset = Member.objects.all()
    read_capability = Capability.MEMBERS_EDIT
    write_capability = Capability.MEMBERS_EDIT

    @extend_schema(request=MemberMergeIn, responses={201: MemberMergeOut, 409: ErrorOut})
    def create(self, request: Request, community_slug: str, member_id: str) -> Response:
        survivor = self.get_queryset().filter(public_id=member_id).first()
        if survivor is None:
            raise NotFound()
        data = MemberMergeIn(data=request.data)
        data.is_valid(raise_exception=True)
        merged = self.get_queryset().filter(public_id=data.validated_data["member"]).first()
        if merged is None:
            raise ApplicationError(_("No such member in this community."), field="member")
        merge = merging.member_merge(
            actor=request.user, community=self.community, survivor=survivor, merged=merged
        )
        return Response(_merge_out(merge), status=status.HTTP_201_CREATED)


class MemberMergeViewSet(mixins.ListModelMixin, CommunityViewSet):
    """Merges, newest first; POST `undo/` restores both members from the merge's snapshot."""

    queryset = MemberMerge.objects.select_related("survivor", "merged", "actor", "undone_by")
    serializer_class = MemberMergeOut
    read_capability = Capability.MEMBERS_EDIT
    write_capability = Capability.MEMBERS_EDIT

    def base_queryset(self) -> QuerySet:
        return self.queryset.order_by("-created_at", "-id")

    @extend_schema(request=None, responses={200: MemberMergeOut, 409: ErrorOut})
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, community_slug: str, public_id: str) -> Response:
        merge = merging.member_unmerge(actor=request.user, merge=self.get_object())
        return Response(_merge_out(merge))
