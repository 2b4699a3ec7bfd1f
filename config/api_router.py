"""Every /api/v1/ route, in one place. Community endpoints live under communities/{slug}/."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from members import api as members_api
from members import api_intros, api_merging, api_privacy

community = SimpleRouter(trailing_slash=True)
community.register("team", members_api.TeamViewSet, basename="team")
community.register("invitations", members_api.InvitationViewSet, basename="invitation")
community.register("tokens", members_api.ApiTokenViewSet, basename="api-token")
community.register("audit", members_api.AuditEventViewSet, basename="audit-event")
community.register("activities", members_api.ActivityViewSet, basename="activity")
community.register("members", members_api.MemberViewSet, basename="member")
community.register("integrations", members_api.IntegrationViewSet, basename="integration")
community.register(
    r"members/(?P<member_id>[0-9a-f-]{36})/notes",
    members_api.MemberNoteViewSet,
    basename="member-note",
)
community.register(
    r"members/(?P<member_id>[0-9a-f-]{36})/merge",
    api_merging.MemberMergeIntoViewSet,
    basename="member-merge",
)
community.register(
    "merge-suggestions", api_merging.MergeSuggestionViewSet, basename="merge-suggestion"
)
community.register("merges", api_merging.MemberMergeViewSet, basename="member-merge-record")
community.register(
    r"members/(?P<member_id>[0-9a-f-]{36})/export",
    api_privacy.MemberExportViewSet,
    basename="member-export",
)
community.register(
    r"members/(?P<member_id>[0-9a-f-]{36})/erase",
    api_privacy.MemberEraseViewSet,
    basename="member-erase",
)
community.register("notes", members_api.NoteViewSet, basename="note")
community.register("tags", members_api.TagViewSet, basename="tag")
community.register("introductions", api_intros.IntroductionViewSet, basename="introduction")
community.register("key-members", api_intros.KeyMemberViewSet, basename="key-member")

community_detail = members_api.CommunityViewSetDetail.as_view(
    {"get": "retrieve", "patch": "partial_update"}
)

urlpatterns = [
    path("communities/", members_api.MyCommunitiesView.as_view(), name="api-my-communities"),
    path("communities/<slug:community_slug>/", community_detail, name="api-community"),
    path("communities/<slug:community_slug>/", include(community.urls)),
]
