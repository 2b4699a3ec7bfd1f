from django.urls import path

from . import views, views_directory, views_intros, views_merging, views_privacy

# Mounted under c/<slug:community_slug>/ by config.urls.
community_urlpatterns = [
    path("", views.CommunityHomeView.as_view(), name="community_home"),
    path("team/", views.TeamView.as_view(), name="team"),
    path("team/<uuid:user_id>/role/", views.MembershipRoleView.as_view(), name="team_role"),
    path("team/<uuid:user_id>/remove/", views.MembershipRemoveView.as_view(), name="team_remove"),
    path(
        "invitations/<uuid:invitation_id>/revoke/",
        views.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    path(
        "invitations/<uuid:invitation_id>/resend/",
        views.InvitationResendView.as_view(),
        name="invitation_resend",
    ),
    path("tokens/", views.ApiTokensView.as_view(), name="api_tokens"),
    path(
        "tokens/<uuid:token_id>/revoke/",
        views.ApiTokenRevokeView.as_view(),
        name="api_token_revoke",
    ),
    path("integrations/", views.IntegrationsView.as_view(), name="integrations"),
    path("settings/", views.CommunitySettingsView.as_view(), name="community_settings"),
    path("audit/", views.AuditLogView.as_view(), name="audit_log"),
    path("audit/export.csv", views.AuditExportView.as_view(), name="audit_export"),
    # The member directory and profiles (members.views_directory).
    path("members/", views_directory.MemberDirectoryView.as_view(), name="member_directory"),
    path("members/export.csv", views_directory.MemberExportView.as_view(), name="member_export"),
    path("members/bulk-tag/", views_directory.MemberBulkTagView.as_view(), name="member_bulk_tag"),
    path("members/segments/", views_directory.SegmentSaveView.as_view(), name="segment_save"),
    path(
        "members/segments/<uuid:segment_id>/delete/",
        views_directory.SegmentDeleteView.as_view(),
        name="segment_delete",
    ),
    # Member merges (members.views_merging).
    path("members/merges/", views_merging.MergeInboxView.as_view(), name="merge_inbox"),
    path(
        "members/merges/suggestions/<uuid:suggestion_id>/accept/",
        views_merging.SuggestionAcceptView.as_view(),
        name="merge_suggestion_accept",
    ),
    path(
        "members/merges/suggestions/<uuid:suggestion_id>/reject/",
        views_merging.SuggestionRejectView.as_view(),
        name="merge_suggestion_reject",
    ),
    path(
        "members/merges/<uuid:merge_id>/undo/",
        views_merging.MergeUndoView.as_view(),
        name="merge_undo",
    ),
    path(
        "members/<uuid:member_id>/merge/",
        views_merging.MemberMergeView.as_view(),
        name="member_merge",
    ),
    # Introductions and key members (members.views_intros).
    path(
        "members/introductions/",
        views_intros.IntroductionListView.as_view(),
        name="introductions",
    ),
    path(
        "members/introductions/<uuid:intro_id>/status/",
        views_intros.IntroductionStatusView.as_view(),
        name="introduction_status",
    ),
    path("members/key/", views_intros.KeyMembersView.as_view(), name="key_members"),
    path(
        "members/key/quiet-days/",
        views_intros.QuietDaysView.as_view(),
        name="key_members_quiet_days",
    ),
    path(
        "members/key/handover/",
        views_intros.HandoverView.as_view(),
        name="key_members_handover",
    ),
    path(
        "members/<uuid:member_id>/introductions/",
        views_intros.IntroductionCreateView.as_view(),
        name="member_introduce",
    ),
    path(
        "members/<uuid:member_id>/",
        views_directory.MemberProfileView.as_view(),
        name="member_profile",
    ),
    path(
        "members/<uuid:member_id>/notes/",
        views_directory.NoteCreateView.as_view(),
        name="member_note_create",
    ),
    path(
        "members/<uuid:member_id>/notes/<uuid:note_id>/edit/",
        views_directory.NoteUpdateView.as_view(),
        name="member_note_update",
    ),
    path(
        "members/<uuid:member_id>/notes/<uuid:note_id>/delete/",
        views_directory.NoteDeleteView.as_view(),
        name="member_note_delete",
    ),
    path(
        "members/<uuid:member_id>/tags/",
        views_directory.MemberTagView.as_view(),
        name="member_tag",
    ),
    path(
        "members/<uuid:member_id>/tags/<uuid:tag_id>/remove/",
        views_directory.MemberUntagView.as_view(),
        name="member_untag",
    ),
    path(
        "members/<uuid:member_id>/key/",
        views_directory.MemberKeyRoleView.as_view(),
        name="member_key_role",
    ),
    # Privacy (members.views_privacy): the JSON export and erasure.
    path(
        "members/<uuid:member_id>/export.json",
        views_privacy.MemberPrivacyExportView.as_view(),
        name="member_privacy_export",
    ),
    path(
        "members/<uuid:member_id>/erase/",
        views_privacy.MemberEraseView.as_view(),
        name="member_erase",
    ),
]

urlpatterns = [
    path("", views.RootView.as_view(), name="home"),
    path(
        "invitations/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation_accept"
    ),
]
