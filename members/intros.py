"""Introductions: a teammate introduces member A to member B, with a reason, and follows it
through proposed → made → connected (or declined).

Imported by members.models (Django finds models through that module). Writes go through
members.services_intros; nothing here has logic in save()."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from .ledger import Member
from .models import Community

INTRO_REASON_MAX = 2000


class IntroductionStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    MADE = "made", _("Made")
    CONNECTED = "connected", _("Connected")
    DECLINED = "declined", _("Declined")


# The only moves: proposed → made → connected, and declined from either open state.
INTRO_TRANSITIONS: dict[str, frozenset[str]] = {
    IntroductionStatus.PROPOSED: frozenset({IntroductionStatus.MADE, IntroductionStatus.DECLINED}),
    IntroductionStatus.MADE: frozenset({IntroductionStatus.CONNECTED, IntroductionStatus.DECLINED}),
    IntroductionStatus.CONNECTED: frozenset(),
    IntroductionStatus.DECLINED: frozenset(),
}


class Introduction(models.Model):
    """Member A introduced to member B by a teammate. Each status has the time it was reached."""

    Status = IntroductionStatus

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    member_a = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    member_b = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    reason = models.TextField(max_length=INTRO_REASON_MAX)
    introduced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    status = models.CharField(
        max_length=16, choices=IntroductionStatus.choices, default=IntroductionStatus.PROPOSED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    made_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(member_a=F("member_b")), name="members_intro_two_members"
            ),
            models.CheckConstraint(
                condition=Q(status__in=IntroductionStatus.values), name="members_intro_status_valid"
            ),
        ]
        indexes = [
            # "Intros of a member" (profile card, API ?member=): one side …
            models.Index(fields=["member_a", "-created_at"], name="members_intro_member_a"),
            # … and the other side, OR-ed with the first.
            models.Index(fields=["member_b", "-created_at"], name="members_intro_member_b"),
            # The introductions page: a community's intros by status, newest first.
            models.Index(
                fields=["community", "status", "-created_at"], name="members_intro_comm_status"
            ),
            # Counts per manager: a community's intros grouped by who made them.
            models.Index(fields=["community", "introduced_by"], name="members_intro_manager"),
        ]

    def __str__(self) -> str:
        return f"introduction {self.public_id}"

    @property
    def next_statuses(self) -> list[str]:
        return [s for s in IntroductionStatus.values if s in INTRO_TRANSITIONS[self.status]]
