"""activities_ingest: validate a batch, then store it in one transaction with a fixed set of
queries (the steps live in resolution.py and store.py; the package docstring lists them)."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..models import Community
from .resolution import parent_members, resolve_members
from .store import backfill_replied_to, insert_activities, suggest_merges, update_member_facts
from .validation import MAX_ITEMS, CleanActivity, activity_validate

logger = logging.getLogger("members.ingestion")


@dataclass
class IngestResult:
    created: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    activity_ids: list[int] = field(default_factory=list)
    members_created: int = 0


# --- the service ---------------------------------------------------------------------------


def activities_ingest(*, community: Community, items: Sequence[Any], source: str) -> IngestResult:
    """Validate and store a batch of activities for one community; see the package docstring for
    the queries. Valid items are stored in one transaction, invalid ones reported by index; a
    second delivery of (platform, external_id), in this request or an earlier one, is counted as
    a duplicate and stores nothing. After commit, members.tasks.ingest_followup runs the
    registered ingestion hooks; the caller never waits for them.

    No audit row: ingestion is integration traffic (API tokens, webhooks, imports), not a staff
    decision about a person, and an append-only ledger keyed by external id is its own record;
    one audit row per batch would grow the audit log with the ledger's volume and bury the staff
    actions it exists for. `source` ("api", "webhook:discourse", "csv", ...) is logged and passed
    on to the hooks."""
    if len(items) > MAX_ITEMS:
        raise ValueError(f"at most {MAX_ITEMS} activities per call")
    now = timezone.now()
    result = IngestResult()
    unique: dict[tuple[str, str], CleanActivity] = {}
    for index, raw in enumerate(items):
        item, errors = activity_validate(raw, now=now)
        if item is None:
            result.rejected.append({"index": index, "errors": errors})
        elif (item.platform, item.external_id) in unique:
            result.duplicates += 1  # the same delivery twice in one request is stored once
        else:
            unique[(item.platform, item.external_id)] = item
    if not unique:
        return result

    with transaction.atomic():
        members, new_identities = resolve_members(community, unique.values(), now)
        parents = parent_members(community, unique, members)
        created = insert_activities(community, unique, members, parents, now)
        if created:
            backfill_replied_to(community, created)
            update_member_facts(created, members, now)
        if new_identities:
            suggest_merges(community, new_identities, now)
        result.created = len(created)
        result.duplicates += len(unique) - len(created)
        result.activity_ids = sorted(created)
        result.members_created = len(new_identities)
        if created:
            days = sorted(
                {item.occurred_at.astimezone(community.tzinfo).date() for item in created.values()}
            )
            transaction.on_commit(
                partial(
                    _enqueue_followup,
                    community_id=community.pk,
                    activity_ids=result.activity_ids,
                    days=[day.isoformat() for day in days],
                    source=source,
                ),
                robust=True,  # the rows are committed; a broker outage must not turn into a 500
            )
    logger.info(
        "ingest community=%s source=%s created=%d duplicates=%d rejected=%d",
        community.slug,
        source,
        result.created,
        result.duplicates,
        len(result.rejected),
    )
    return result


def _enqueue_followup(
    *, community_id: int, activity_ids: list[int], days: list[str], source: str
) -> None:
    from ..tasks import ingest_followup

    ingest_followup.delay(
        community_id=community_id, activity_ids=activity_ids, days=days, source=source
    )
