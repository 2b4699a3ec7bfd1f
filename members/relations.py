"""What the team records about members: tags, notes, key roles with a relationship owner, and
saved directory segments.

Imported by members.models (Django finds models through that module). Writes go through
members.services_relations; nothing here has logic in save()."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .ledger import Member
from .models import Community, TimestampedModel

TAG_NAME_MAX = 50
NOTE_BODY_MAX = 10_000
SEGMENT_QUERY_MAX = 2000


class TagColor(models.TextChoices):
    GREY = "grey", _("Grey")
    ACCENT = "accent", _("Orange")
    OK = "ok", _("Green")
    WARN = "warn", _("Yellow")
    BAD = "bad", _("Red")
    INFO = "info", _("Blue")


class Tag(TimestampedModel):
    """A label the team puts on members ("speaker", "beta tester"). One name per community,
    case-insensitively."""

    Color = TagColor

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="tags", db_index=False
    )
    name = models.CharField(max_length=TAG_NAME_MAX)
    color = models.CharField(max_length=16, choices=TagColor.choices, default=TagColor.GREY)
    members = models.ManyToManyField(Member, through="MemberTag", related_name="tags")

    class Meta:
        ordering = ["name"]
        constraints = [
            # Also the index of the tag list and the directory's tag picker (community, name).
            models.UniqueConstraint(
                "community", Lower("name"), name="members_tag_unique_name_per_community"
            ),
            models.CheckConstraint(
                condition=Q(color__in=TagColor.values), name="members_tag_color_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MemberTag(models.Model):
    """A tag on a member, and when it was put there."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the index of "this member's tags" (profile, directory prefetch).
            models.UniqueConstraint(fields=["member", "tag"], name="members_membertag_unique"),
        ]
        indexes = [
            # The directory's tag filter: members carrying this tag.
            models.Index(fields=["tag", "member"], name="members_membertag_tag"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} #{self.tag_id}"


class Note(TimestampedModel):
    """A teammate's note on a member. Only its author edits or deletes it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="notes", db_index=False
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    body = models.TextField(max_length=NOTE_BODY_MAX)

    class Meta:
        indexes = [
            # The profile's notes: one member's notes, newest first.
            models.Index(fields=["member", "-created_at"], name="members_note_member_time"),
            # Handover and "notes by this teammate": one author's notes.
            models.Index(fields=["author"], name="members_note_author"),
        ]

    def __str__(self) -> str:
        return f"note on {self.member_id} by {self.author_id}"


class SavedSegment(TimestampedModel):
    """A named set of directory filters, kept as the query string the directory reads."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=SEGMENT_QUERY_MAX, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # Also the index of the directory's segment list: one owner's segments by name.
            models.UniqueConstraint(
                fields=["community", "owner", "name"], name="members_segment_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name
