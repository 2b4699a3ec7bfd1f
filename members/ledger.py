"""The member ledger: members, their platform identities, the activity ledger every KPI, timeline
and auto-moderation rule reads, and merge suggestions raised while ingesting.

Imported by members.models (Django finds models through that module). Writes go through
members.ingestion / members.services; nothing here has logic in save()."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Community, TimestampedModel

PLATFORM_MAX = 32
EXTERNAL_ID_MAX = 255
CONTENT_MAX = 4000
METADATA_MAX_BYTES = 8 * 1024


class KeyRole(models.TextChoices):
    NONE = "", _("Not a key member")
    CHAMPION = "champion", _("Champion")
    INFLUENCER = "influencer", _("Influencer")


class Member(TimestampedModel):
    """A person in the community, across platforms. `joined_at`, `first_contribution_at` and
    `last_active_at` are derived from the ledger by ingestion (never typed in); `staff` and `bot`
    take a member out of every KPI population. Erasure blanks personal data and sets
    `erased_at`; the row stays so activity history keeps its actor."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Foreign keys already leading a composite index below skip Django's single-column index.
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="members", db_index=False
    )
    display_name = models.CharField(max_length=255, blank=True)
    # NULL, not "", means no known email, so lookups and a future unique index skip it.
    email = models.EmailField(max_length=254, null=True, blank=True)  # noqa: DJ001
    staff = models.BooleanField(default=False)
    bot = models.BooleanField(default=False)
    joined_at = models.DateTimeField(null=True, blank=True)
    first_contribution_at = models.DateTimeField(null=True, blank=True)
    last_active_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    KeyRole = KeyRole

    # A champion or influencer, looked after by `relationship_owner` on the team.
    key_role = models.CharField(
        max_length=16, choices=KeyRole.choices, blank=True, default="", db_default=""
    )
    relationship_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # Set when this member was merged into another (members.merging); the row stays so an undo
    # can restore it, and the directory and the member list leave it out.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(key_role__in=KeyRole.values),
                name="members_member_key_role_valid",
            ),
        ]
        indexes = [
            # Directory default sort and the "gone quiet" list: a community's members by recency.
            # On PostgreSQL migration 0004 rebuilds it DESC NULLS LAST, as the directory sorts
            # (SQLite has no NULLS LAST in an index).
            models.Index(
                fields=["community", "-last_active_at"], name="members_member_comm_active"
            ),
            # Cohorts and the directory's joined-range filter: members by join time.
            models.Index(fields=["community", "joined_at"], name="members_member_comm_joined"),
            # The key-member filter and "gone quiet": a community's champions and influencers.
            models.Index(
                fields=["community", "key_role"],
                name="members_member_comm_key",
                condition=~Q(key_role=""),
            ),
            # Handover: the key members one teammate owns.
            models.Index(
                fields=["relationship_owner"],
                name="members_member_owner",
                condition=Q(relationship_owner__isnull=False),
            ),
            # The directory's name sort.
            models.Index(fields=["community", "display_name"], name="members_member_comm_name"),
            # A survivor's profile: the members merged into it (and SET NULL on delete).
            models.Index(
                fields=["merged_into"],
                name="members_member_merged_into",
                condition=Q(merged_into__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or str(self.public_id)


class Identity(TimestampedModel):
    """One account of a member on one platform. Ingestion resolves every activity's actor through
    (community, platform, platform_user_id); emails are stored lowercased."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="identities", db_index=False
    )
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    platform = models.CharField(max_length=PLATFORM_MAX)
    platform_user_id = models.CharField(max_length=EXTERNAL_ID_MAX)
    username = models.CharField(max_length=255, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    name = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["community", "platform", "platform_user_id"],
                name="members_identity_unique_per_platform",
            ),
        ]
        indexes = [
            # Merge suggestions: "another identity in this community with the same email".
            models.Index(
                fields=["community", "email"],
                name="members_identity_comm_email",
                condition=~Q(email=""),
            ),
            # A profile lists its member's identities.
            models.Index(fields=["member"], name="members_identity_member"),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.username or self.platform_user_id}"


class ActivityKind(models.TextChoices):
    JOIN = "join", _("Joined")
    POST = "post", _("Post")
    REPLY = "reply", _("Reply")
    REACTION = "reaction", _("Reaction")
    EVENT_RSVP = "event_rsvp", _("Event RSVP")
    EVENT_ATTENDED = "event_attended", _("Event attended")
    OTHER = "other", _("Other")


CONTRIBUTION_KINDS = (ActivityKind.POST, ActivityKind.REPLY)


class Activity(models.Model):
    """One thing a member did, on one platform. Append-only and idempotent: a second delivery of
    (community, platform, external_id) is a duplicate. `replied_to_member` is who a reply answers,
    filled when the parent (`parent_id`) is in the ledger, whichever of the two arrives first."""

    Kind = ActivityKind

    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    platform = models.CharField(max_length=PLATFORM_MAX)
    external_id = models.CharField(max_length=EXTERNAL_ID_MAX)
    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField()
    thread_id = models.CharField(max_length=EXTERNAL_ID_MAX, blank=True)
    parent_id = models.CharField(max_length=EXTERNAL_ID_MAX, blank=True)
    channel = models.CharField(max_length=255, blank=True)
    url = models.CharField(max_length=2048, blank=True)
    content = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    replied_to_member = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint(
                fields=["community", "platform", "external_id"],
                name="members_activity_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ActivityKind.values), name="members_activity_kind_valid"
            ),
        ]
        indexes = [
            # member_timeline: one member's activity, newest first (profile, auto-rules).
            models.Index(fields=["member", "-occurred_at"], name="members_activity_timeline"),
            # KPI rollups and the activity API: one community's activity in a time range.
            models.Index(fields=["community", "occurred_at"], name="members_activity_comm_time"),
            # First response of a thread: replies with this thread_id on this platform.
            models.Index(
                fields=["community", "platform", "thread_id"], name="members_activity_thread"
            ),
            # Ingestion back-fills replied_to_member on replies whose parent arrives later.
            models.Index(
                fields=["community", "platform", "parent_id"],
                name="members_activity_open_parent",
                condition=Q(replied_to_member__isnull=True) & ~Q(parent_id=""),
            ),
            # Who answered this member (relationships), and repointing replies on a merge.
            models.Index(
                fields=["replied_to_member"],
                name="members_activity_replied_to",
                condition=Q(replied_to_member__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id} ({self.kind})"


class MergeReason(models.TextChoices):
    SAME_EMAIL = "same_email", _("Same email")
    SAME_USERNAME = "same_username", _("Same username on another platform")


class MergeStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class MergeSuggestion(TimestampedModel):
    """Two members that may be one person. Never merged automatically; a person reviews it. The
    pair is stored ordered (member_a_id < member_b_id) and unique, so a rejected pair is never
    suggested again."""

    Reason = MergeReason
    Status = MergeStatus

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    member_a = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    member_b = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    reason = models.CharField(max_length=16, choices=MergeReason.choices)
    status = models.CharField(max_length=16, choices=MergeStatus.choices, default="pending")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member_a", "member_b"], name="members_mergesuggestion_unique_pair"
            ),
            models.CheckConstraint(
                condition=Q(member_a__lt=models.F("member_b")),
                name="members_mergesuggestion_ordered_pair",
            ),
            models.CheckConstraint(
                condition=Q(reason__in=MergeReason.values),
                name="members_mergesuggestion_reason_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=MergeStatus.values),
                name="members_mergesuggestion_status_valid",
            ),
        ]
        indexes = [
            # The review inbox: one community's pending suggestions, newest first.
            models.Index(fields=["community", "status", "-created_at"], name="members_merge_inbox"),
            # Suggestions naming a member as the second of the pair (profile, cascade on merge);
            # the first is covered by the unique pair.
            models.Index(fields=["member_b"], name="members_merge_member_b"),
        ]

    def __str__(self) -> str:
        return f"{self.member_a_id} ~ {self.member_b_id} ({self.reason}, {self.status})"
