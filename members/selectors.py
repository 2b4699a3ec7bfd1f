"""Reads of members' models, tuned and reused by views, the API and other apps."""

from datetime import timedelta

from allauth.mfa.models import Authenticator
from django.db.models import F, QuerySet
from django.utils import timezone

from .models import ApiToken, AuditEvent, Community, Invitation, TeamMembership, User


def memberships_of(user: User) -> QuerySet[TeamMembership]:
    return (
        TeamMembership.objects.filter(user=user)
        .select_related("community")
        .order_by("community__name")
    )


def membership_for(user: User, slug: str) -> TeamMembership | None:
    if not user.is_authenticated:
        return None
    return (
        TeamMembership.objects.select_related("community")
        .filter(user=user, community__slug=slug)
        .first()
    )


def team_of(community: Community) -> QuerySet[TeamMembership]:
    return (
        TeamMembership.objects.filter(community=community)
        .select_related("user")
        .order_by("user__name", "user__email")
    )


def invitations_of(community: Community) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(community=community)
        .select_related("invited_by")
        .order_by("-created_at")
    )


def api_tokens_of(community: Community) -> QuerySet[ApiToken]:
    return (
        ApiToken.objects.filter(community=community)
        .select_related("user")
        .order_by(F("revoked_at").asc(nulls_first=True), "-created_at")
    )


def audit_events_of(community: Community) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(community=community).order_by("-created_at", "-id")


def audit_actions_of(community: Community) -> list[str]:
    return list(
        AuditEvent.objects.filter(community=community)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )


def user_exists(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


def user_has_totp(user: User) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def invitations_unsent(*, older_than: timedelta) -> list[int]:
    """Pending invitations whose email never went out (the broker was down), oldest first."""
    now = timezone.now()
    return list(
        Invitation.objects.filter(
            status=Invitation.Status.PENDING,
            sent_at__isnull=True,
            expires_at__gt=now,
            created_at__lt=now - older_than,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
