"""Reads for introductions and key-member care: a member's introductions, the community's list
and counts per manager, the key members and the ones who have gone quiet."""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from .intros import Introduction, IntroductionStatus
from .ledger import Member
from .models import Community


def introductions_of(community: Community) -> QuerySet[Introduction]:
    """The introductions page and API: newest first, with both members and the introducer."""
    return (
        Introduction.objects.filter(community=community)
        .select_related("member_a", "member_b", "introduced_by")
        .defer("member_a__email", "member_b__email")
        .order_by("-created_at", "-id")
    )


def introductions_of_member(member: Member) -> QuerySet[Introduction]:
    """The profile's card: introductions with this member on either side."""
    return (
        Introduction.objects.filter(community_id=member.community_id)
        .filter(Q(member_a=member) | Q(member_b=member))
        .select_related("member_a", "member_b", "introduced_by")
        .defer("member_a__email", "member_b__email")
        .order_by("-created_at", "-id")
    )


def introduction_counts_per_manager(community: Community) -> list[dict[str, Any]]:
    """One row per teammate who introduced anyone: totals by status, most first. One GROUP BY."""

    def by(status: str) -> Count:
        return Count("id", filter=Q(status=status))

    return list(
        Introduction.objects.filter(community=community)
        .values(
            "introduced_by",
            user_id=F("introduced_by__public_id"),
            name=F("introduced_by__name"),
            email=F("introduced_by__email"),
        )
        .annotate(
            total=Count("id"),
            proposed=by(IntroductionStatus.PROPOSED),
            made=by(IntroductionStatus.MADE),
            connected=by(IntroductionStatus.CONNECTED),
            declined=by(IntroductionStatus.DECLINED),
        )
        .order_by("-total", "email")
    )


# Key members by owner (no owner last), then by name.
KEY_MEMBERS_ORDER = (
    F("relationship_owner__name").asc(nulls_last=True),
    F("relationship_owner__email").asc(nulls_last=True),
    "display_name",
    "id",
)
# Gone quiet: never active first, then the longest quiet.
GONE_QUIET_ORDER = (F("last_active_at").asc(nulls_first=True), "id")


def key_members_of(community: Community) -> QuerySet[Member]:
    """Champions and influencers with their relationship owner, grouped by owner (no owner
    last), then by name."""
    return (
        Member.objects.filter(community=community)
        .exclude(key_role="")
        .select_related("relationship_owner")
        .order_by(*KEY_MEMBERS_ORDER)
    )


def quiet_cutoff(community: Community, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=community.quiet_after_days)


def quiet_condition(community: Community, now: datetime | None = None) -> Q:
    """No activity since the community's `quiet_after_days` ago, or never any."""
    return Q(last_active_at__lt=quiet_cutoff(community, now)) | Q(last_active_at__isnull=True)


def gone_quiet(community: Community, now: datetime | None = None) -> QuerySet[Member]:
    """Key members with no activity for the community's `quiet_after_days` (or never active),
    the longest quiet first."""
    return (
        Member.objects.filter(community=community)
        .exclude(key_role="")
        .filter(quiet_condition(community, now))
        .select_related("relationship_owner")
        .order_by(*GONE_QUIET_ORDER)
    )


def gone_quiet_count(community: Community) -> int:
    return gone_quiet(community).count()


def days_quiet(member: Member, now: datetime | None = None) -> int | None:
    """Whole days since the member was last active; None if never."""
    if member.last_active_at is None:
        return None
    return ((now or timezone.now()) - member.last_active_at).days


def recent_members_for_intro(member: Member, limit: int = 100) -> QuerySet[Member]:
    """The "Introduce to…" picker: the most recently active other members (not bots)."""
    return (
        Member.objects.filter(community_id=member.community_id, bot=False, erased_at__isnull=True)
        .exclude(pk=member.pk)
        .only("public_id", "display_name")
        .order_by(F("last_active_at").desc(nulls_last=True), "id")[:limit]
    )
