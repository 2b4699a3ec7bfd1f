"""Writing the ledger: the activity INSERT, the reply backfill, members' derived facts and merge
suggestions. Steps 5-8 of the package docstring."""

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Q, Subquery

from ..ledger import (
    CONTRIBUTION_KINDS,
    Activity,
    Identity,
    Member,
    MergeReason,
    MergeStatus,
    MergeSuggestion,
)
from ..models import Community
from .resolution import NewIdentity, Pair
from .sql import EncodedJson, insert_returning
from .validation import CleanActivity


def insert_activities(
    community: Community,
    unique: dict[tuple[str, str], CleanActivity],
    members: dict[Pair, int],
    parents: dict[tuple[str, str], int],
    now: datetime,
) -> dict[int, CleanActivity]:
    """One INSERT … ON CONFLICT DO NOTHING RETURNING: {new activity id: item}."""
    rows = insert_returning(
        Activity,
        [
            {
                "community": community.pk,
                "member": members[(item.platform, item.member.platform_user_id)],
                "platform": item.platform,
                "external_id": item.external_id,
                "kind": item.kind,
                "occurred_at": item.occurred_at,
                "thread_id": item.thread_id,
                "parent_id": item.parent_id,
                "replied_to_member": parents.get((item.platform, item.parent_id)),
                "channel": item.channel,
                "url": item.url,
                "content": item.content,
                "metadata": EncodedJson(item.metadata_json),
                "created_at": now,
            }
            for item in unique.values()
        ],
        conflict=("community", "platform", "external_id"),
        returning=("id", "platform", "external_id"),
    )
    return {pk: unique[(platform, external_id)] for pk, platform, external_id in rows}


def backfill_replied_to(community: Community, created: dict[int, CleanActivity]) -> None:
    """Stored activities whose parent is among the new ones (a parent delivered after its
    replies) get their replied_to_member: one UPDATE whose condition is, per platform in the
    batch, exact (platform, parent_id IN …) keys of the partial index
    members_activity_open_parent."""
    by_platform: dict[str, set[str]] = defaultdict(set)
    for item in created.values():
        by_platform[item.platform].add(item.external_id)
    condition = Q()
    for platform, external_ids in by_platform.items():
        condition |= Q(platform=platform, parent_id__in=external_ids)
    parent_member = Activity.objects.filter(
        community_id=community.pk,
        platform=OuterRef("platform"),
        external_id=OuterRef("parent_id"),
    ).values("member_id")[:1]
    Activity.objects.filter(condition, community=community, replied_to_member__isnull=True).exclude(
        parent_id=""
    ).update(replied_to_member_id=Subquery(parent_member))


def update_member_facts(
    created: dict[int, CleanActivity], members: dict[Pair, int], now: datetime
) -> None:
    """joined_at = min(stored, first new activity), first_contribution_at = min(stored, first
    new post/reply), last_active_at = max(stored, last new activity): aggregated here, written
    in one UPDATE … FROM (VALUES …) that only touches members whose facts change. Comparing
    with the stored values inside the UPDATE keeps concurrent ingests for one member correct."""
    facts: dict[int, list[datetime | None]] = {}
    for item in created.values():
        member_id, at = members[(item.platform, item.member.platform_user_id)], item.occurred_at
        first, contribution, last = facts.setdefault(member_id, [at, None, at])
        if item.kind in CONTRIBUTION_KINDS and (contribution is None or at < contribution):
            contribution = at
        facts[member_id] = [min(first, at), contribution, max(last, at)]  # type: ignore[type-var]
    ops = connection.ops
    row = (
        "(%s::bigint, %s::timestamptz, %s::timestamptz, %s::timestamptz)"
        if connection.vendor == "postgresql"
        else "(%s, %s, %s, %s)"
    )
    params: list[Any] = []
    for member_id, moments in facts.items():
        params += [member_id, *(ops.adapt_datetimefield_value(at) for at in moments)]
    params.append(ops.adapt_datetimefield_value(now))  # updated_at, after the VALUES rows
    table = ops.quote_name(Member._meta.db_table)
    sql = f"""
        WITH v (id, first_at, contribution_at, last_at) AS (VALUES {", ".join([row] * len(facts))})
        UPDATE {table} SET
          joined_at = CASE WHEN joined_at IS NULL OR joined_at > v.first_at
                           THEN v.first_at ELSE joined_at END,
          first_contribution_at = CASE
              WHEN v.contribution_at IS NOT NULL
               AND (first_contribution_at IS NULL OR first_contribution_at > v.contribution_at)
              THEN v.contribution_at ELSE first_contribution_at END,
          last_active_at = CASE WHEN last_active_at IS NULL OR last_active_at < v.last_at
                                THEN v.last_at ELSE last_active_at END,
          updated_at = %s
        FROM v
        WHERE {table}.id = v.id
          AND (joined_at IS NULL OR joined_at > v.first_at
               OR last_active_at IS NULL OR last_active_at < v.last_at
               OR (v.contribution_at IS NOT NULL
                   AND (first_contribution_at IS NULL
                        OR first_contribution_at > v.contribution_at)))
    """  # noqa: S608 - identifiers from model metadata, every value a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def suggest_merges(community: Community, new: list[NewIdentity], now: datetime) -> None:
    """A new identity whose email another member's identity already has: suggest merging the
    two (ordered pair, unique, so a rejected pair is never suggested again). Never merges."""
    by_email: dict[str, set[int]] = defaultdict(set)
    emails = {identity.email for identity in new if identity.email}
    if not emails:
        return
    for email, member_id in Identity.objects.filter(
        community=community, email__in=emails
    ).values_list("email", "member_id"):
        by_email[email].add(member_id)
    pairs = {
        (min(identity.member_id, other), max(identity.member_id, other))
        for identity in new
        if identity.email
        for other in by_email[identity.email]
        if other != identity.member_id
    }
    if pairs:
        insert_returning(
            MergeSuggestion,
            [
                {
                    "public_id": uuid.uuid4(),
                    "community": community.pk,
                    "member_a": a,
                    "member_b": b,
                    "reason": MergeReason.SAME_EMAIL,
                    "status": MergeStatus.PENDING,
                    "created_at": now,
                    "updated_at": now,
                }
                for a, b in sorted(pairs)
            ],
            conflict=("member_a", "member_b"),
            returning=("id",),
        )
