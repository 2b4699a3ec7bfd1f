from django.urls import path

from . import views

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
]

urlpatterns = [
    path("", views.RootView.as_view(), name="home"),
    path(
        "invitations/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation_accept"
    ),
]
