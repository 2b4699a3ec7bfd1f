"""A record of one member merged into another, with the snapshot an undo restores from.

Imported by members.models (Django finds models through that module). Writes go through
members.merging; nothing here has logic in save()."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from .ledger import Member
from .models import Community


class MemberMerge(models.Model):
    """`merged` was folded into `survivor` by `actor`. The merged row is kept (marked with
    `Member.merged_into`); `snapshot` names exactly what moved (identity, activity, reply, note
    and tag-link ids, tag links dropped as duplicates, the survivor's key role, owner and derived
    dates before the merge), so `member_unmerge` can move back exactly that."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    survivor = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    merged = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    snapshot = models.JSONField(default=dict)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(survivor=models.F("merged")),
                name="members_membermerge_two_members",
            ),
        ]
        indexes = [
            # The merge inbox's "recent merges": one community's merges, newest first.
            models.Index(fields=["community", "-created_at"], name="members_membermerge_recent"),
        ]

    def __str__(self) -> str:
        # No member names: audit labels must not keep personal data an erasure has to reach.
        return f"merge {self.public_id}"
