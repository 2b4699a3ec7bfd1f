"""Merging two members into one, undoing a merge, and deciding merge suggestions. Each service owns
its transaction and writes its audit row.

A merge locks both member rows (SELECT ... FOR UPDATE, in id order so two merges of one pair
cannot deadlock) and re-checks that neither is merged already: of two simultaneous merges of the
same members exactly one succeeds, the other gets ConflictError. Rows move with set-based
UPDATEs; the snapshot on the MemberMerge names every moved row, so an undo moves back exactly
those. Activity that arrives after a merge lands on the survivor (the identities are its now)
and stays there on undo."""

from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .audit import audit_record
from .exceptions import ApplicationError, ConflictError
from .intros import Introduction
from .ledger import Activity, Identity, KeyRole, Member, MergeStatus, MergeSuggestion
from .merges import MemberMerge
from .models import Community, User
from .relations import MemberTag, Note, Tag

CHUNK = 5000  # ids per `IN (...)` on undo: under SQLite's parameter limit


def _ids(queryset: Any) -> list[int]:
    return sorted(queryset.values_list("pk", flat=True))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _when(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _earliest(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _latest(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _dates(member: Member) -> dict[str, str | None]:
    return {
        "joined_at": _iso(member.joined_at),
        "first_contribution_at": _iso(member.first_contribution_at),
        "last_active_at": _iso(member.last_active_at),
    }


def _lock_pair(community: Community, first_pk: int, second_pk: int) -> dict[int, Member]:
    """Both rows locked, in id order; 404-like ApplicationError if either left the community."""
    locked = {
        m.pk: m
        for m in Member.objects.select_for_update()
        .filter(community=community, pk__in=[first_pk, second_pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise ApplicationError(_("Both members must belong to this community."), field="member")
    return locked


def _move_back(model: type, ids: list[int], *, field: str, src: Member, dst: Member) -> int:
    moved = 0
    for start in range(0, len(ids), CHUNK):
        moved += model.objects.filter(pk__in=ids[start : start + CHUNK], **{field: src}).update(
            **{field: dst}
        )
    return moved


@transaction.atomic
def member_merge(
    *, actor: User, community: Community, survivor: Member, merged: Member
) -> MemberMerge:
    """Fold `merged` into `survivor`: identities, activity (and replies to it), notes,
    introductions and tags move; the survivor's dates widen to cover both; a key role the
    survivor lacks is taken over. Two members introduced to each other are not merged.
    The merged row stays, marked `merged_into`. Pending suggestions for the pair are accepted."""
    if survivor.pk == merged.pk:
        raise ApplicationError(_("A member cannot be merged with itself."), field="member")
    locked = _lock_pair(community, survivor.pk, merged.pk)
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    if survivor.merged_into_id is not None or merged.merged_into_id is not None:
        raise ConflictError(_("One of these members has already been merged."))

    pair = Q(member_a=survivor, member_b=merged) | Q(member_a=merged, member_b=survivor)
    if Introduction.objects.filter(pair).exists():
        # One member cannot be introduced to themself; the team decides what that intro meant.
        raise ConflictError(
            _(
                "These two members were introduced to each other; delete or decline that "
                "introduction before merging them."
            )
        )
    identity_ids = _ids(Identity.objects.filter(member=merged))
    intro_a_ids = _ids(Introduction.objects.filter(member_a=merged))
    intro_b_ids = _ids(Introduction.objects.filter(member_b=merged))
    activity_ids = _ids(Activity.objects.filter(member=merged))
    reply_ids = _ids(Activity.objects.filter(replied_to_member=merged))
    note_ids = _ids(Note.objects.filter(member=merged))
    survivor_tags = set(MemberTag.objects.filter(member=survivor).values_list("tag_id", flat=True))
    links = list(MemberTag.objects.filter(member=merged).values_list("pk", "tag_id"))
    moved_links = sorted(pk for pk, tag_id in links if tag_id not in survivor_tags)
    dropped_tags = sorted(tag_id for _pk, tag_id in links if tag_id in survivor_tags)
    snapshot = {
        "identities": identity_ids,
        "activities": activity_ids,
        "replies": reply_ids,
        "notes": note_ids,
        "intros_a": intro_a_ids,
        "intros_b": intro_b_ids,
        "tag_links": moved_links,
        "dropped_tags": dropped_tags,
        "survivor": {
            **_dates(survivor),
            "key_role": survivor.key_role,
            "relationship_owner": survivor.relationship_owner_id,
        },
        "merged": {
            **_dates(merged),
            "key_role": merged.key_role,
            "relationship_owner": merged.relationship_owner_id,
        },
    }

    # Set-based moves: one UPDATE per kind of row, however many rows.
    Identity.objects.filter(member=merged).update(member=survivor, updated_at=timezone.now())
    Activity.objects.filter(member=merged).update(member=survivor)
    Activity.objects.filter(replied_to_member=merged).update(replied_to_member=survivor)
    Note.objects.filter(member=merged).update(member=survivor)
    Introduction.objects.filter(member_a=merged).update(member_a=survivor)
    Introduction.objects.filter(member_b=merged).update(member_b=survivor)
    MemberTag.objects.filter(pk__in=moved_links).update(member=survivor)
    MemberTag.objects.filter(member=merged).delete()  # duplicates of the survivor's tags

    survivor.joined_at = _earliest(survivor.joined_at, merged.joined_at)
    survivor.first_contribution_at = _earliest(
        survivor.first_contribution_at, merged.first_contribution_at
    )
    survivor.last_active_at = _latest(survivor.last_active_at, merged.last_active_at)
    if survivor.key_role == KeyRole.NONE and merged.key_role != KeyRole.NONE:
        survivor.key_role = merged.key_role
        survivor.relationship_owner_id = merged.relationship_owner_id
    survivor.save(
        update_fields=[
            "joined_at",
            "first_contribution_at",
            "last_active_at",
            "key_role",
            "relationship_owner",
            "updated_at",
        ]
    )
    merged.merged_into = survivor
    merged.save(update_fields=["merged_into", "updated_at"])

    merge = MemberMerge.objects.create(
        community=community, survivor=survivor, merged=merged, actor=actor, snapshot=snapshot
    )
    low, high = sorted((survivor.pk, merged.pk))
    MergeSuggestion.objects.filter(
        member_a_id=low, member_b_id=high, status=MergeStatus.PENDING
    ).update(status=MergeStatus.ACCEPTED, updated_at=timezone.now())
    audit_record(
        actor=actor,
        community=community,
        action="member.merge",
        target=merge,
        after={
            "survivor": str(survivor.public_id),
            "merged": str(merged.public_id),
            "identities": len(identity_ids),
            "activities": len(activity_ids),
            "notes": len(note_ids),
            "tags": len(moved_links),
        },
    )
    return merge


@transaction.atomic
def member_unmerge(*, actor: User, merge: MemberMerge) -> MemberMerge:
    """Undo a merge from its snapshot: the rows it moved go back, the survivor's dates, key role
    and owner are restored, and the merged member is listed again. Refused once undone, and
    while the survivor has itself been merged into someone else (undo that merge first)."""
    merge = MemberMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise ConflictError(_("This merge has already been undone."))
    locked = _lock_pair(merge.community, merge.survivor_id, merge.merged_id)
    survivor, merged = locked[merge.survivor_id], locked[merge.merged_id]
    if survivor.merged_into_id is not None:
        raise ConflictError(
            _("The surviving member has since been merged again; undo that merge first.")
        )
    snap = merge.snapshot
    counts = {
        "identities": _move_back(
            Identity, snap["identities"], field="member", src=survivor, dst=merged
        ),
        "activities": _move_back(
            Activity, snap["activities"], field="member", src=survivor, dst=merged
        ),
        "replies": _move_back(
            Activity, snap["replies"], field="replied_to_member", src=survivor, dst=merged
        ),
        "notes": _move_back(Note, snap["notes"], field="member", src=survivor, dst=merged),
        "intros": _move_back(
            Introduction, snap.get("intros_a", []), field="member_a", src=survivor, dst=merged
        )
        + _move_back(
            Introduction, snap.get("intros_b", []), field="member_b", src=survivor, dst=merged
        ),
        "tags": _move_back(MemberTag, snap["tag_links"], field="member", src=survivor, dst=merged),
    }
    existing = Tag.objects.filter(pk__in=snap["dropped_tags"]).values_list("pk", flat=True)
    MemberTag.objects.bulk_create(
        [MemberTag(member=merged, tag_id=tag_id) for tag_id in existing], ignore_conflicts=True
    )

    before = snap["survivor"]
    survivor.joined_at = _when(before["joined_at"])
    survivor.first_contribution_at = _when(before["first_contribution_at"])
    # Activity that arrived since the merge is the survivor's: keep its last-active moment.
    survivor.last_active_at = _when(before["last_active_at"])
    latest = (
        Activity.objects.filter(member=survivor, occurred_at__gt=survivor.last_active_at)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
        if survivor.last_active_at
        else None
    )
    survivor.last_active_at = _latest(survivor.last_active_at, latest)
    survivor.key_role = before["key_role"]
    survivor.relationship_owner_id = before["relationship_owner"]
    survivor.save(
        update_fields=[
            "joined_at",
            "first_contribution_at",
            "last_active_at",
            "key_role",
            "relationship_owner",
            "updated_at",
        ]
    )
    merged.merged_into = None
    merged.save(update_fields=["merged_into", "updated_at"])

    merge.undone_at = timezone.now()
    merge.undone_by = actor
    merge.save(update_fields=["undone_at", "undone_by"])
    audit_record(
        actor=actor,
        community=merge.community,
        action="member.unmerge",
        target=merge,
        after={
            "survivor": str(survivor.public_id),
            "merged": str(merged.public_id),
            **counts,
        },
    )
    return merge


# --- suggestions -------------------------------------------------------------------------------


def more_active(a: Member, b: Member) -> Member:
    """The default survivor of a suggestion: the more recently active member (then the older)."""
    never = datetime.min.replace(tzinfo=UTC)
    return min((a, b), key=lambda m: (-(m.last_active_at or never).timestamp(), m.pk))


def _lock_pending(suggestion: MergeSuggestion) -> MergeSuggestion:
    locked = (
        MergeSuggestion.objects.select_for_update()
        .select_related("member_a", "member_b", "community")
        .get(pk=suggestion.pk)
    )
    if locked.status != MergeStatus.PENDING:
        raise ConflictError(_("This suggestion has already been decided."))
    return locked


@transaction.atomic
def merge_suggestion_accept(
    *, actor: User, suggestion: MergeSuggestion, survivor: Member | None = None
) -> MemberMerge:
    """Merge the suggested pair, into `survivor` if given (one of the two), else into the more
    active one. The merge marks the suggestion accepted."""
    suggestion = _lock_pending(suggestion)
    pair = (suggestion.member_a, suggestion.member_b)
    if survivor is None:
        survivor = more_active(*pair)
    elif survivor.pk not in (suggestion.member_a_id, suggestion.member_b_id):
        raise ApplicationError(_("Choose one of the two suggested members."), field="survivor")
    merged = pair[1] if survivor.pk == pair[0].pk else pair[0]
    return member_merge(
        actor=actor, community=suggestion.community, survivor=survivor, merged=merged
    )


@transaction.atomic
def merge_suggestion_reject(*, actor: User, suggestion: MergeSuggestion) -> MergeSuggestion:
    """Not the same person. The pair stays stored as rejected, and ingestion (which skips a pair
    it has stored) never suggests it again."""
    suggestion = _lock_pending(suggestion)
    suggestion.status = MergeStatus.REJECTED
    suggestion.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        community=suggestion.community,
        action="merge_suggestion.reject",
        target=suggestion,
        after={
            "member_a": str(suggestion.member_a.public_id),
            "member_b": str(suggestion.member_b.public_id),
        },
    )
    return suggestion
