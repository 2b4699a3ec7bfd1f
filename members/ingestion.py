"""Bulk ingestion into the activity ledger, exactly as ACTIVITY.md specifies.

`activities_ingest` is the one write path for the bulk API, webhooks, CSV and Hearth's own
activity. Per request, whatever the number of items (≤ 1,000), it runs a fixed set of queries:

  1. SELECT the identities of every (platform, platform_user_id) in the request
  2. INSERT the missing members                                   } only when some identity
  3. INSERT their identities … ON CONFLICT DO NOTHING RETURNING     } is new
  4. SELECT the stored parents (parent_id) of the new items              } only with parents
  5. INSERT the activities … ON CONFLICT DO NOTHING RETURNING id (one statement), each with
     replied_to_member already resolved from the batch or from step 4
  6. UPDATE replied_to_member of stored replies whose parent just arrived (index-driven)
  7. UPDATE members' derived facts from the new activities' aggregates (one UPDATE … FROM VALUES)
  8. SELECT identities sharing a new identity's email, INSERT merge suggestions   } only with
                                                                                   } new emails
Two concurrent requests creating the same identity: the loser's identity INSERT does nothing,
it re-selects the winner's row and deletes the member it made for nothing (race path only).
Resolving replied_to_member before the INSERT (not by an UPDATE after it) writes each row once:
updating that column touches every index of the ledger. Known gap: a reply and its parent
arriving in two concurrent requests can both miss each other; the reply stays unresolved (the
partial index members_activity_open_parent makes a periodic repair cheap).

Raw INSERT … ON CONFLICT DO NOTHING RETURNING (PostgreSQL, and SQLite ≥ 3.35) is used instead
of bulk_create(ignore_conflicts=True) because the latter cannot say which rows were inserted,
and created vs duplicate counts must be exact even when another request races this one.
"""

import json
import logging
import re
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from .ledger import (
    CONTENT_MAX,
    CONTRIBUTION_KINDS,
    EXTERNAL_ID_MAX,
    METADATA_MAX_BYTES,
    PLATFORM_MAX,
    Activity,
    ActivityKind,
    Identity,
    Member,
    MergeReason,
    MergeStatus,
    MergeSuggestion,
)
from .models import Community

logger = logging.getLogger(__name__)

MAX_ITEMS = 1000
FUTURE_TOLERANCE = timedelta(days=1)
_PLATFORM_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,%d})$" % (PLATFORM_MAX - 1))  # noqa: UP031
_RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?$"
)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
Errors = dict[str, Any]


@dataclass(frozen=True)
class MemberRef:
    platform_user_id: str
    username: str
    email: str
    name: str


@dataclass(frozen=True)
class CleanActivity:
    platform: str
    external_id: str
    kind: str
    occurred_at: datetime
    member: MemberRef
    thread_id: str
    parent_id: str
    channel: str
    url: str
    content: str
    metadata: dict[str, Any]


@dataclass
class IngestResult:
    created: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    activity_ids: list[int] = field(default_factory=list)
    members_created: int = 0


# --- validation (pure Python: no queries) ---------------------------------------------------


class _Invalid(Exception):
    pass


def _text(raw: dict, name: str, errors: Errors, *, max_length: int, required: bool = False) -> str:
    """A string field: ids may also arrive as JSON integers. No NUL, no lone surrogates
    (PostgreSQL cannot store either), at most max_length characters."""
    value = raw.get(name)
    if value is None or value == "":
        if required:
            errors[name] = [_("This field is required.")]
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors[name] = [_("Must be a string.")]
        return ""
    problem = _text_problem(value)
    if problem:
        errors[name] = [problem]
        return ""
    if len(value) > max_length:
        errors[name] = [
            _("At most %(max)d characters (this one has %(n)d).")
            % {"max": max_length, "n": len(value)}
        ]
        return ""
    return value


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return _("Must not contain NUL (\\u0000) characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("Must be valid Unicode (it contains an unpaired surrogate).")
    return None


def _occurred_at(raw: dict, errors: Errors, now: datetime) -> datetime | None:
    value = raw.get("occurred_at")
    if value in (None, ""):
        errors["occurred_at"] = [_("This field is required.")]
        return None
    match = _RFC3339_RE.match(value) if isinstance(value, str) else None
    if match is None:
        errors["occurred_at"] = [
            _("Must be an RFC 3339 date-time such as 2026-03-04T17:05:11+01:00.")
        ]
        return None
    if not match.group("offset"):
        errors["occurred_at"] = [
            _("Needs a UTC offset (such as +01:00 or Z); naive times are ambiguous.")
        ]
        return None
    try:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        errors["occurred_at"] = [_("Not a valid date-time.")]
        return None
    if moment > now + FUTURE_TOLERANCE:
        errors["occurred_at"] = [_("Is more than one day in the future.")]
        return None
    return moment


def _member(raw: dict, errors: Errors) -> MemberRef | None:
    value = raw.get("member")
    if not isinstance(value, dict):
        errors["member"] = (
            {"platform_user_id": [_("This field is required.")]}
            if value is None
            else [_("Must be an object with at least platform_user_id.")]
        )
        return None
    member_errors: Errors = {}
    ref = MemberRef(
        platform_user_id=_text(
            value, "platform_user_id", member_errors, max_length=EXTERNAL_ID_MAX, required=True
        ),
        username=_text(value, "username", member_errors, max_length=255),
        email=_text(value, "email", member_errors, max_length=254).strip().lower(),
        name=_text(value, "name", member_errors, max_length=255).strip(),
    )
    if ref.email and not _EMAIL_RE.match(ref.email):
        member_errors["email"] = [_("Enter a valid email address.")]
    if member_errors:
        errors["member"] = member_errors
        return None
    return ref


def _metadata(raw: dict, errors: Errors) -> dict[str, Any]:
    value = raw.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors["metadata"] = [_("Must be a JSON object.")]
        return {}
    try:
        encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        errors["metadata"] = [_("Must be plain JSON (no NaN or Infinity).")]
        return {}
    problem = _text_problem(encoded) if "\\u0000" not in encoded else _text_problem("\x00")
    if problem:
        errors["metadata"] = [problem]
        return {}
    size = len(encoded.encode("utf-8"))
    if size > METADATA_MAX_BYTES:
        errors["metadata"] = [
            _("At most %(max)d bytes as JSON (this one has %(n)d).")
            % {"max": METADATA_MAX_BYTES, "n": size}
        ]
        return {}
    return value


def activity_validate(raw: Any, *, now: datetime) -> tuple[CleanActivity | None, Errors]:
    """One item of the bulk API → (clean activity, {}) or (None, field errors). Unknown fields
    are ignored, so integrations can send more than Hearth reads."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": [_("Each activity must be a JSON object.")]}
    errors: Errors = {}
    platform = _text(raw, "platform", errors, max_length=PLATFORM_MAX, required=True)
    if platform and not _PLATFORM_RE.match(platform):
        errors["platform"] = [
            _("Must be a lowercase slug: letters a-z, digits, '-' or '_', 1-32 characters.")
        ]
    external_id = _text(raw, "external_id", errors, max_length=EXTERNAL_ID_MAX, required=True)
    kind = raw.get("kind")
    if kind not in ActivityKind.values:
        errors["kind"] = [
            _("Must be one of: %(kinds)s.") % {"kinds": ", ".join(ActivityKind.values)}
        ]
    occurred_at = _occurred_at(raw, errors, now)
    member = _member(raw, errors)
    thread_id = _text(raw, "thread_id", errors, max_length=EXTERNAL_ID_MAX)
    if kind == ActivityKind.REPLY and not thread_id and "thread_id" not in errors:
        errors["thread_id"] = [_("Required for a reply.")]
    parent_id = _text(raw, "parent_id", errors, max_length=EXTERNAL_ID_MAX)
    channel = _text(raw, "channel", errors, max_length=255)
    url = _text(raw, "url", errors, max_length=2048)
    content = _text(raw, "content", errors, max_length=10**7)[:CONTENT_MAX]
    metadata = _metadata(raw, errors)
    if errors or member is None or occurred_at is None:
        return None, errors
    return (
        CleanActivity(
            platform=platform,
            external_id=external_id,
            kind=kind,
            occurred_at=occurred_at,
            member=member,
            thread_id=thread_id or (external_id if kind == ActivityKind.POST else ""),
            parent_id=parent_id,
            channel=channel,
            url=url,
            content=content,
            metadata=metadata,
        ),
        {},
    )


# --- the service ---------------------------------------------------------------------------


def activities_ingest(*, community: Community, items: Sequence[Any], source: str) -> IngestResult:
    """Validate and store a batch of activities for one community; see the module docstring for
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
        members, new_identities = _resolve_members(community, unique.values(), now)
        parents = _parent_members(community, unique, members)
        created = _insert_activities(community, unique, members, parents, now)
        if created:
            _backfill_replied_to(community, created)
            _update_member_facts(created, members, now)
        if new_identities:
            _suggest_merges(community, new_identities, now)
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
    from .tasks import ingest_followup

    ingest_followup.delay(
        community_id=community_id, activity_ids=activity_ids, days=days, source=source
    )


# --- the steps -----------------------------------------------------------------------------

Pair = tuple[str, str]  # (platform, platform_user_id)


@dataclass(frozen=True)
class _NewIdentity:
    member_id: int
    email: str


def _resolve_members(
    community: Community, items: Iterable[CleanActivity], now: datetime
) -> tuple[dict[Pair, int], list[_NewIdentity]]:
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
    rows = _insert_returning(
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
    inserted = _insert_returning(
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
        _NewIdentity(member_id=made[pair], email=profiles[pair].email)
        for pair in missing
        if pair in won
    ]
    return members, new_identities


def _parent_members(
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


def _insert_activities(
    community: Community,
    unique: dict[tuple[str, str], CleanActivity],
    members: dict[Pair, int],
    parents: dict[tuple[str, str], int],
    now: datetime,
) -> dict[int, CleanActivity]:
    """One INSERT … ON CONFLICT DO NOTHING RETURNING: {new activity id: item}."""
    rows = _insert_returning(
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
                "metadata": item.metadata,
                "created_at": now,
            }
            for item in unique.values()
        ],
        conflict=("community", "platform", "external_id"),
        returning=("id", "platform", "external_id"),
    )
    return {pk: unique[(platform, external_id)] for pk, platform, external_id in rows}


def _backfill_replied_to(community: Community, created: dict[int, CleanActivity]) -> None:
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


def _update_member_facts(
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


def _suggest_merges(community: Community, new: list[_NewIdentity], now: datetime) -> None:
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
        _insert_returning(
            MergeSuggestion,
            [
                {
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


# --- INSERT … ON CONFLICT DO NOTHING RETURNING, on PostgreSQL and SQLite -------------------


def _max_params() -> int:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return 65535


def _insert_returning(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    returning: tuple[str, ...],
    conflict: tuple[str, ...] | None = None,
) -> list[tuple]:
    """Insert `rows` (field name → Python value, the same names in every row) in as few
    statements as the backend's parameter limit allows (one for ≤ 1,000 activities); with
    `conflict`, rows that would violate that unique constraint are skipped. Returns the
    `returning` columns of the inserted rows only, as the database gives them."""
    if not rows:
        return []
    meta = model._meta
    qn = connection.ops.quote_name
    fields = [meta.get_field(name) for name in rows[0]]
    columns = ", ".join(qn(f.column) for f in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    suffix = ""
    if conflict:
        suffix = " ON CONFLICT (%s) DO NOTHING" % ", ".join(  # noqa: UP031
            qn(meta.get_field(name).column) for name in conflict
        )
    suffix += " RETURNING " + ", ".join(qn(meta.get_field(name).column) for name in returning)
    per_statement = max(1, _max_params() // len(fields))
    out: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params = [f.get_db_prep_save(row[f.name], connection) for row in batch for f in fields]
            values = ", ".join([placeholder] * len(batch))
            cursor.execute(
                f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES {values}{suffix}",  # noqa: S608
                params,
            )
            out.extend(cursor.fetchall())
    return out
