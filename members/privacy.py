"""Privacy (GDPR): export everything Hearth holds about a member, and erase a member.

Erasure keeps the member row and every activity row, so KPI history (counts, cohorts, response
times) does not change; what goes is every copy of personal data:

- the member: display name → "Erased member", email → NULL, key role and owner cleared;
- identities: username, email and name blanked; `platform_user_id` replaced by
  `erased_token(platform, original)`, an HMAC of the original under SECRET_KEY. It is stable and
  non-reversible: the unique (community, platform, platform_user_id) constraint still holds, the
  original id is not kept, and re-ingested activity from the same platform user no longer
  resolves to the erased placeholder (which would silently re-fill it with a name and email);
  it makes a new member instead. Whoever needs to tell "this is someone who asked to be erased"
  can compute the same token from an incoming id without Hearth ever storing the id;
- activities: content, url and metadata blanked in one set-based UPDATE; kind, platform,
  occurred_at, thread and parent ids stay (the KPIs read them);
- notes: deleted, not blanked — a note is only ever about its member, and an empty note would
  still say "someone wrote about this person then";
- tags on the member and merge suggestions naming the member: deleted;
- the audit log: rows about the member (target members.member + its public id) and rows whose
  label or before/after JSON mention one of its names, usernames or emails (3 characters or
  more, so a two-letter name does not wipe unrelated history) get target_label "Erased member"
  and before/after NULL. This is the one sanctioned rewrite of the append-only log: on
  PostgreSQL the trigger of migration 0002 lets it through only after
  `SET LOCAL hearth.audit_redaction = 'on'`, which is switched off again straight after.

The erasure itself is audited as `member.erase` with the public id, counts and the reason only.

Apps above members (moderation's reports and their content snapshots, future merge records) reach
the member without members importing them: from their AppConfig.ready() they call
`register_eraser(name, fn)`; `fn(*, member)` runs inside the erasure's transaction, before the
audit redaction, and returns how many rows it changed (reported under `name` in the audit row);
`register_exporter(name, fn)` adds `fn(*, member)` (JSON-ready data) as a section of the export."""

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, IntegerField, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audit_record, target_ref
from .exceptions import ConflictError
from .intros import Introduction
from .ledger import Activity, Identity, Member, MergeSuggestion
from .models import AuditEvent, User
from .relations import MemberTag, Note

ERASED_NAME = "Erased member"
NEEDLE_MIN = 3
REDACT_CHUNK = 500


_erasers: dict[str, Callable[..., int]] = {}
_exporters: dict[str, Callable[..., Any]] = {}


def register_eraser(name: str, fn: Callable[..., int]) -> None:
    _erasers[name] = fn


def register_exporter(name: str, fn: Callable[..., Any]) -> None:
    _exporters[name] = fn


def unregister(name: str) -> None:
    _erasers.pop(name, None)
    _exporters.pop(name, None)


def erased_token(platform: str, platform_user_id: str) -> str:
    """What an erased identity's platform_user_id becomes: stable, not reversible."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{platform}:{platform_user_id}".encode(), hashlib.sha256
    )
    return f"erased-{digest.hexdigest()[:16]}"


def _iso(value: Any) -> Any:
    """JSON-ready: datetimes as ISO 8601, UUIDs as strings."""
    if isinstance(value, uuid.UUID):
        return str(value)
    return value.isoformat() if hasattr(value, "isoformat") else value


def _rows(queryset: QuerySet, *fields: str) -> list[dict[str, Any]]:
    return [
        {key: _iso(value) for key, value in row.items()}
        for row in queryset.values(*fields).iterator(chunk_size=1000)
    ]


# --- export ------------------------------------------------------------------------------------


def _member_audit_events(member: Member) -> QuerySet[AuditEvent]:
    target_type, target_id = target_ref(member)
    return AuditEvent.objects.filter(
        community_id=member.community_id, target_type=target_type, target_id=target_id
    )


def member_export(*, actor: User, member: Member) -> dict[str, Any]:
    """Everything Hearth holds about a member, as JSON-ready data. Audited as `member.export`
    (the counts, never the data)."""
    owner = member.relationship_owner
    data: dict[str, Any] = {
        "member": {
            "id": str(member.public_id),
            "display_name": member.display_name,
            "email": member.email,
            "staff": member.staff,
            "bot": member.bot,
            "key_role": member.key_role,
            "relationship_owner": owner.email if owner else None,
            "joined_at": _iso(member.joined_at),
            "first_contribution_at": _iso(member.first_contribution_at),
            "last_active_at": _iso(member.last_active_at),
            "erased_at": _iso(member.erased_at),
            "created_at": _iso(member.created_at),
        },
        "identities": _rows(
            Identity.objects.filter(member=member).order_by("platform", "id"),
            "platform",
            "platform_user_id",
            "username",
            "email",
            "name",
            "created_at",
        ),
        "activities": _rows(
            Activity.objects.filter(member=member).order_by("occurred_at", "id"),
            "platform",
            "external_id",
            "kind",
            "occurred_at",
            "channel",
            "thread_id",
            "parent_id",
            "url",
            "content",
            "metadata",
        ),
        "notes": [
            {
                "author": row.pop("author__email"),
                **row,
            }
            for row in _rows(
                Note.objects.filter(member=member).order_by("created_at", "id"),
                "author__email",
                "body",
                "created_at",
                "updated_at",
            )
        ],
        "introductions": _rows(
            Introduction.objects.filter(Q(member_a=member) | Q(member_b=member)).order_by(
                "created_at", "id"
            ),
            "member_a__public_id",
            "member_b__public_id",
            "reason",
            "status",
            "introduced_by__email",
            "created_at",
        ),
        "tags": list(
            member.tags.order_by("name").values_list("name", flat=True)  # type: ignore[attr-defined]
        ),
        "merge_suggestions": [
            {
                "other_member": str(
                    row["member_b__public_id"]
                    if row["member_a_id"] == member.pk
                    else row["member_a__public_id"]
                ),
                "reason": row["reason"],
                "status": row["status"],
                "created_at": _iso(row["created_at"]),
            }
            for row in MergeSuggestion.objects.filter(Q(member_a=member) | Q(member_b=member))
            .order_by("created_at", "id")
            .values(
                "member_a_id",
                "member_a__public_id",
                "member_b__public_id",
                "reason",
                "status",
                "created_at",
            )
        ],
        "audit_events": _rows(
            _member_audit_events(member).order_by("created_at", "id"),
            "action",
            "actor_label",
            "target_label",
            "before",
            "after",
            "created_at",
        ),
    }
    for name, exporter in _exporters.items():
        data[name] = exporter(member=member)
    counts = {key: len(value) for key, value in data.items() if isinstance(value, list)}
    audit_record(
        actor=actor,
        community=member.community,
        action="member.export",
        target=member,
        after={"member": str(member.public_id), **counts},
    )
    return data


# --- erasure -----------------------------------------------------------------------------------


def _count(model: type[Model], field: str) -> Coalesce:
    counted = (
        model._default_manager.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def erasure_preview(community_members: QuerySet[Member], public_id: object) -> Member | None:
    """The member with how much an erasure would remove, in one query (the confirmation page)."""
    return (
        community_members.filter(public_id=public_id)
        .annotate(
            n_identities=_count(Identity, "member"),
            n_activities=_count(Activity, "member"),
            n_notes=_count(Note, "member"),
            n_tags=_count(MemberTag, "member"),
            n_merges_a=_count(MergeSuggestion, "member_a"),
            n_merges_b=_count(MergeSuggestion, "member_b"),
        )
        .first()
    )


def _needles(member: Member, identities: list[dict[str, Any]]) -> set[str]:
    """The strings that identify the member in free text, each as typed and as JSON-escaped (the
    JSON column keeps non-ASCII escaped on SQLite, as typed on PostgreSQL)."""
    found: set[str] = {member.display_name, member.email or ""}
    for identity in identities:
        found |= {identity["username"], identity["email"], identity["name"]}
    found = {value.strip() for value in found if value and len(value.strip()) >= NEEDLE_MIN}
    return found | {json.dumps(value)[1:-1] for value in found}


def _redact_audit(member: Member, needles: set[str]) -> int:
    target_type, target_id = target_ref(member)
    mentions = Q(target_type=target_type, target_id=target_id)
    for needle in needles:
        mentions |= (
            Q(target_label__icontains=needle)
            | Q(before__icontains=needle)
            | Q(after__icontains=needle)
        )
    ids = list(
        AuditEvent.objects.filter(community_id=member.community_id)
        .filter(mentions)
        .values_list("id", flat=True)
    )
    if not ids:
        return 0
    qn = connection.ops.quote_name
    table = qn(AuditEvent._meta.db_table)
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("SET LOCAL hearth.audit_redaction = 'on'")
        for start in range(0, len(ids), REDACT_CHUNK):
            chunk = ids[start : start + REDACT_CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET {qn('target_label')} = %s, {qn('before')} = NULL, "  # noqa: S608
                f"{qn('after')} = NULL WHERE {qn('id')} IN ({marks})",
                [ERASED_NAME, *chunk],
            )
        if postgres:
            # Only this rewrite: the rest of the transaction is append-only again.
            cursor.execute("SET LOCAL hearth.audit_redaction = 'off'")
    return len(ids)


@transaction.atomic
def member_erase(*, actor: User, member: Member, reason: str = "") -> Member:
    """Erase a member's personal data everywhere (see the module docstring). Erasing an erased
    member is a ConflictError."""
    locked = (
        Member.objects.select_for_update(of=("self",))  # not the community row
        .select_related("community")
        .get(pk=member.pk)
    )
    if locked.erased_at is not None:
        raise ConflictError(_("This member has already been erased."))
    identities = list(
        Identity.objects.filter(member=locked).values(
            "id", "platform", "platform_user_id", "username", "email", "name"
        )
    )
    needles = _needles(locked, identities)

    for identity in identities:
        Identity.objects.filter(pk=identity["id"]).update(
            platform_user_id=erased_token(identity["platform"], identity["platform_user_id"]),
            username="",
            email="",
            name="",
            updated_at=timezone.now(),
        )
    activities = Activity.objects.filter(member=locked).update(content="", url="", metadata={})
    notes, _by_model = Note.objects.filter(member=locked).delete()
    tags, _by_model = MemberTag.objects.filter(member=locked).delete()
    merges, _by_model = MergeSuggestion.objects.filter(
        Q(member_a=locked) | Q(member_b=locked)
    ).delete()
    # Introductions stay (the other member's history and the manager's counts), but their reason
    # is free text about the erased person.
    intros = Introduction.objects.filter(Q(member_a=locked) | Q(member_b=locked)).update(reason="")

    locked.display_name = ERASED_NAME
    locked.email = None
    locked.key_role = ""
    locked.relationship_owner = None
    locked.erased_at = timezone.now()
    locked.save(
        update_fields=[
            "display_name",
            "email",
            "key_role",
            "relationship_owner",
            "erased_at",
            "updated_at",
        ]
    )
    elsewhere = {name: eraser(member=locked) for name, eraser in _erasers.items()}
    redacted = _redact_audit(locked, needles)
    audit_record(
        actor=actor,
        community=locked.community,
        action="member.erase",
        target=locked,
        after={
            "member": str(locked.public_id),
            "identities": len(identities),
            "activities": activities,
            "notes": notes,
            "tags": tags,
            "merge_suggestions": merges,
            "introductions": intros,
            **elsewhere,
            "audit_events_redacted": redacted,
            "reason": reason.strip()[:500],
        },
    )
    return locked
