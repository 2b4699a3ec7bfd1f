"""Reads of members' models, tuned and reused by views, the API and other apps."""

from datetime import timedelta

from allauth.mfa.models import Authenticator
from django.db import connection
from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from .models import (
    Activity,
    ApiToken,
    AuditEvent,
    Community,
    Identity,
    Invitation,
    Member,
    Note,
    SavedSegment,
    Tag,
    TeamMembership,
    User,
)


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


# --- the directory and profiles ------------------------------------------------------------------


def _members_with_relations(community: Community) -> QuerySet[Member]:
    return (
        Member.objects.filter(community=community)
        .select_related("relationship_owner")
        .prefetch_related(
            Prefetch("identities", Identity.objects.order_by("platform", "id")),
            Prefetch("tags", Tag.objects.order_by("name")),
        )
    )


def members_of(community: Community) -> QuerySet[Member]:
    """The directory, the member API and the CSV export: members with their identities, tags and
    relationship owner in three queries per page, however many rows (no email of identities
    unless a caller reads it). Members merged into another are left out."""
    return _members_with_relations(community).filter(merged_into__isnull=True)


def member_profile(community: Community, public_id: object) -> Member | None:
    """One profile, merged or not (a merged member's page points to the survivor)."""
    return (
        _members_with_relations(community)
        .select_related("merged_into")
        .filter(public_id=public_id)
        .first()
    )


def member_timeline(member: Member) -> QuerySet[Activity]:
    """One member's activity, newest first (index members_activity_timeline); metadata, the
    widest column, stays behind."""
    return (
        Activity.objects.filter(member=member)
        .defer("metadata", "thread_id", "parent_id")
        .order_by("-occurred_at", "-id")
    )


def member_notes(member: Member) -> QuerySet[Note]:
    return Note.objects.filter(member=member).select_related("author").order_by("-created_at")


def tags_of(community: Community) -> QuerySet[Tag]:
    return Tag.objects.filter(community=community).order_by("name")


PLATFORMS_SQL = """
WITH RECURSIVE platforms(platform) AS (
    SELECT MIN(platform) FROM members_identity WHERE community_id = %(c)s
    UNION ALL
    SELECT (SELECT MIN(platform) FROM members_identity
            WHERE community_id = %(c)s AND platform > platforms.platform)
    FROM platforms WHERE platforms.platform IS NOT NULL
)
SELECT platform FROM platforms WHERE platform IS NOT NULL
"""


def platforms_of(community: Community) -> list[str]:
    """Platforms the community's members have accounts on (the directory's platform filter).
    A loose index scan of the unique (community, platform, platform_user_id) index: one probe
    per platform, where SELECT DISTINCT reads every identity of the community."""
    with connection.cursor() as cursor:
        cursor.execute(PLATFORMS_SQL, {"c": community.pk})
        return [row[0] for row in cursor.fetchall()]


def segments_of(community: Community, owner: User) -> QuerySet[SavedSegment]:
    return SavedSegment.objects.filter(community=community, owner=owner).order_by("name")
