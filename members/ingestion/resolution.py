"""Identity resolution: every actor's member id (creating unknown members and identities) and
the members of the items' parents. Steps 1-4 of the package docstring."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ..ledger import Activity, Identity, Member
from ..models import Community
from .sql import insert_returning
from .validation import CleanActivity, MemberRef

# --- the steps -----------------------------------------------------------------------------

Pair = tuple[str, str]  # (platform, platform_user_id)


@dataclass(frozen=True)
class NewIdentity:
    member_id: int
    email: str


def resolve_members(
    community: Community, items: Iterable[CleanActivity], now: datetime
) -> tuple[dict[Pair, int], list[NewIdentity]]:
    """(platform, platform_user_id) → member id for every actor, creating unknown ones. The
    profile (username, email, name) of a new identity is its first occurrence in the batch."""
    profiles: dict[Pair, MemberRef] = {}
    for item in items:
        profiles.setdefault((item.platform, item.member.platform_user_id), item.member)
    existing = Identity.objects.filter(
        community=community,
        platform__in={platform for platform, _ in profiles},
        platform_user_id__in={user_id for _, user_id in profiles},
    ).values_list("platform", "platform_user_id", "member_id")
    members = {(p, u): m for p, u, m in existing if (p, u) in profiles}
    missing = [pair for pair in profiles if pair not in members]
    if not missing:
        return members, []

    public_ids = {pair: uuid.uuid4() for pair in missing}
    rows = insert_returning(
        Member,
        [
            {
                "community": community.pk,
                "public_id": public_ids[pair],
                "display_name": profiles[pair].name or profiles[pair].username or pair[1],
                "email": profiles[pair].email or None,
                "staff": False,
                "bot": False,
                "created_at": now,
                "updated_at": now,
            }
            for pair in missing
        ],
        returning=("id", "public_id"),
    )
    by_public_id = {uuid.UUID(str(public_id)): pk for pk, public_id in rows}
    made = {pair: by_public_id[public_ids[pair]] for pair in missing}
    inserted = insert_returning(
        Identity,
        [
            {
                "community": community.pk,
                "member": made[pair],
                "platform": pair[0],
                "platform_user_id": pair[1],
                "username": profiles[pair].username,
                "email": profiles[pair].email,
                "name": profiles[pair].name,
                "created_at": now,
                "updated_at": now,
            }
            for pair in missing
        ],
        conflict=("community", "platform", "platform_user_id"),
        returning=("platform", "platform_user_id"),
    )
    won = {(p, u) for p, u in inserted}
    lost = [pair for pair in missing if pair not in won]
    if lost:
        # Another request created these identities between our SELECT and INSERT: use its
        # members and drop the ones we made for nothing.
        winners = Identity.objects.filter(
            community=community,
            platform__in={p for p, _ in lost},
            platform_user_id__in={u for _, u in lost},
        ).values_list("platform", "platform_user_id", "member_id")
        members.update({(p, u): m for p, u, m in winners if (p, u) in set(lost)})
        Member.objects.filter(pk__in=[made[pair] for pair in lost]).delete()
    members.update({pair: made[pair] for pair in missing if pair in won})
    new_identities = [
        NewIdentity(member_id=made[pair], email=profiles[pair].email)
        for pair in missing
        if pair in won
    ]
    return members, new_identities


def parent_members(
    community: Community,
    unique: dict[tuple[str, str], CleanActivity],
    members: dict[Pair, int],
) -> dict[tuple[str, str], int]:
    """(platform, parent_id) → the parent's member, for every item with a parent_id: from this
    batch, else one SELECT of the stored parents (unique index on community, platform,
    external_id)."""
    wanted = {(item.platform, item.parent_id) for item in unique.values() if item.parent_id}
    found = {
        key: members[(unique[key].platform, unique[key].member.platform_user_id)]
        for key in wanted
        if key in unique
    }
    stored = wanted - found.keys()
    if stored:
        rows = Activity.objects.filter(
            community=community,
            platform__in={platform for platform, _ in stored},
            external_id__in={parent_id for _, parent_id in stored},
        ).values_list("platform", "external_id", "member_id")
        found.update({(p, e): m for p, e, m in rows if (p, e) in stored})
    return found
