"""Reads for member merges: the review inbox, recent merges, and candidates for a manual merge."""

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .ledger import Activity, Identity, Member, MergeStatus, MergeSuggestion
from .merges import MemberMerge
from .models import Community


def pending_suggestions(community: Community) -> QuerySet[MergeSuggestion]:
    """The inbox: pending suggestions whose two members are both still unmerged, newest first
    (index members_merge_inbox)."""
    return (
        MergeSuggestion.objects.filter(
            community=community,
            status=MergeStatus.PENDING,
            member_a__merged_into__isnull=True,
            member_b__merged_into__isnull=True,
        )
        .select_related("member_a", "member_b")
        .order_by("-created_at", "-id")
    )


def recent_merges(community: Community) -> QuerySet[MemberMerge]:
    """Merges newest first (index members_membermerge_recent), with both members and actors."""
    return (
        MemberMerge.objects.filter(community=community)
        .select_related("survivor", "merged", "actor", "undone_by")
        .order_by("-created_at", "-id")
    )


def _count(model: type, field: str) -> Subquery:
    rows = model.objects.filter(**{field: OuterRef("pk")}).order_by().values(field)
    return Subquery(rows.annotate(n=Count("pk")).values("n"), output_field=IntegerField())


def with_counts(members: QuerySet[Member]) -> QuerySet[Member]:
    """Members with how many identities and activities they have (side-by-side review); one
    correlated count each (indexes members_identity_member, members_activity_timeline), not a
    join of the two."""
    return members.annotate(
        identity_count=Coalesce(_count(Identity, "member"), 0),
        activity_count=Coalesce(_count(Activity, "member"), 0),
    )


def merge_candidates(community: Community, exclude: Member, search: str) -> QuerySet[Member]:
    """Unmerged members of the community matching a name or username, for "Merge with…"."""
    search = search.strip()
    if not search:
        return Member.objects.none()
    return (
        Member.objects.filter(community=community, merged_into__isnull=True)
        .exclude(pk=exclude.pk)
        .filter(Q(display_name__icontains=search) | Q(identities__username__icontains=search))
        .distinct()
        .order_by("display_name", "id")
    )
