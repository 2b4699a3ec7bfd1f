"""Django's admin site, for superusers: a read-mostly window on tenancy and the audit log.
Day-to-day staff work happens in Hearth's own pages, through services."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import (
    ApiToken,
    AuditEvent,
    Community,
    Integration,
    Invitation,
    TeamMembership,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_active", "is_superuser", "date_joined"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
    ]
    add_fieldsets = [(None, {"fields": ["email", "password1", "password2"]})]
    filter_horizontal: list[str] = []
    list_filter = ["is_active", "is_superuser"]


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "created_at"]
    search_fields = ["name", "slug"]


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(TeamMembership)
class TeamMembershipAdmin(_ReadOnly):
    list_display = ["user", "community", "role"]
    list_filter = ["role", "community"]


@admin.register(Invitation)
class InvitationAdmin(_ReadOnly):
    list_display = ["email", "community", "role", "status", "expires_at"]
    list_filter = ["status", "community"]
    exclude = ["token_hash"]


@admin.register(ApiToken)
class ApiTokenAdmin(_ReadOnly):
    list_display = ["name", "prefix", "community", "user", "last_used_at", "revoked_at"]
    exclude = ["token_hash"]


@admin.register(Integration)
class IntegrationAdmin(_ReadOnly):
    list_display = [
        "community",
        "platform",
        "deliveries_ok",
        "deliveries_rejected",
        "last_delivery_at",
    ]
    exclude = ["secret_encrypted"]


@admin.register(AuditEvent)
class AuditEventAdmin(_ReadOnly):
    list_display = [
        "created_at",
        "community",
        "actor_label",
        "action",
        "target_type",
        "target_label",
    ]
    list_filter = ["action", "community"]
    search_fields = ["actor_label", "target_label", "target_id"]
