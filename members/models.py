"""The tenant (Community), staff logins, their roles, invitations, API tokens and the audit log.
The member ledger (Member, Identity, Activity, MergeSuggestion) lives in members.ledger and is
imported at the end of this module."""

import uuid
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


# Real places only: "localtime" (the server's own zone) and "Factory" are in the tz database
# but mean nothing for a community.
TIMEZONES: tuple[str, ...] = tuple(
    sorted(tz for tz in zoneinfo.available_timezones() if "/" in tz or tz == "UTC")
)


def validate_timezone(value: str) -> None:
    if value not in TIMEZONES:
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A staff login. Email is the username; roles live in TeamMembership, per community.
    `is_staff` here only means access to Django's admin site."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("email"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="members_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email


class Community(TimestampedModel):
    """The tenant. Every domain row carries its community; days are counted in its time zone."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    # A key member with no activity for this many days is on the "gone quiet" list.
    quiet_after_days = models.PositiveIntegerField(default=30, db_default=30)

    class Meta:
        verbose_name_plural = "communities"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Community manager")
    MODERATOR = "moderator", _("Moderator")
    VIEWER = "viewer", _("Executive (read-only)")


class TeamMembership(TimestampedModel):
    """A user's role in one community: the only source of what they may do there."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "community"], name="members_membership_one_per_user_community"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="members_membership_role_valid"
            ),
        ]
        indexes = [
            # The team page and the "last admin" guard list one community's team by role.
            models.Index(fields=["community", "role"], name="members_membership_comm_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.community} · {self.role}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class Invitation(TimestampedModel):
    """An admin invites an email address into a community with a role. The link carries a random
    token; only its SHA-256 is stored. Pending until accepted, revoked or past `expires_at`."""

    Status = InvitationStatus

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="members_invitation_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=InvitationStatus.values),
                name="members_invitation_status_valid",
            ),
            models.UniqueConstraint(
                Lower("email"),
                "community",
                condition=models.Q(status="pending"),
                name="members_invitation_one_pending_per_email",
            ),
        ]
        indexes = [
            # The team page lists a community's invitations, newest first.
            models.Index(fields=["community", "-created_at"], name="members_invitation_comm"),
            # The hourly expiry sweep finds pending invitations past their date.
            models.Index(fields=["status", "expires_at"], name="members_invitation_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.community} ({self.role})"

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at > timezone.now()


class ApiToken(TimestampedModel):
    """A community-scoped API token that acts with its user's role in that community.
    The secret is shown once; only its SHA-256 is stored, with an 8-character prefix to tell
    tokens apart in the UI."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The tokens page lists one community's tokens, newest first.
            models.Index(fields=["community", "-created_at"], name="members_apitoken_comm"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: object) -> int:
        raise TypeError("The audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit log is append-only.")


class AuditEvent(models.Model):
    """One staff action, written by the service that made the change, in the same transaction.
    Append-only: the ORM refuses updates and deletes, and on PostgreSQL a trigger refuses them
    too (members.migrations.0002). `target_label` freezes what the target was called then."""

    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    target_label = models.CharField(max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        indexes = [
            # The audit page: one community's events, newest first, optionally one action.
            models.Index(fields=["community", "-created_at"], name="members_audit_comm_time"),
            models.Index(
                fields=["community", "action", "-created_at"], name="members_audit_comm_action"
            ),
            # "Everything that happened to this object": filter by target.
            models.Index(
                fields=["community", "target_type", "target_id"], name="members_audit_comm_target"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or 'system'} {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise TypeError("The audit log is append-only.")


class IntegrationPlatform(models.TextChoices):
    DISCOURSE = "discourse", "Discourse"
    SLACK = "slack", "Slack"
    GITHUB = "github", "GitHub"


class Integration(TimestampedModel):
    """One platform's webhook for one community: its signing secret (Fernet-encrypted, see
    members.crypto; never shown again) and delivery counters. Counters are only ever changed by
    `UPDATE … SET n = n + 1` (members.integrations), so concurrent deliveries lose no count."""

    Platform = IntegrationPlatform
    ERRORS_KEPT = 10

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="integrations")
    platform = models.CharField(max_length=16, choices=IntegrationPlatform.choices)
    secret_encrypted = models.TextField()
    secret_set_at = models.DateTimeField(default=timezone.now)
    deliveries_ok = models.PositiveBigIntegerField(default=0)
    deliveries_rejected = models.PositiveBigIntegerField(default=0)  # bad or missing signature
    unknown_events = models.PositiveBigIntegerField(default=0)  # acknowledged and ignored
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # The last ERRORS_KEPT errors, newest first: [{"at": iso time, "reason": text}].
    last_errors = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            # Also the index of the webhook's lookup (community, platform).
            models.UniqueConstraint(
                fields=["community", "platform"], name="members_integration_one_per_platform"
            ),
            models.CheckConstraint(
                condition=models.Q(platform__in=IntegrationPlatform.values),
                name="members_integration_platform_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} webhook"


# The member ledger lives in its own module; importing it here registers its models.
from .intros import Introduction, IntroductionStatus  # noqa: E402
from .ledger import (  # noqa: E402
    Activity,
    ActivityKind,
    Identity,
    KeyRole,
    Member,
    MergeReason,
    MergeStatus,
    MergeSuggestion,
)
from .merges import MemberMerge  # noqa: E402
from .relations import MemberTag, Note, SavedSegment, Tag, TagColor  # noqa: E402

__all__ = [
    "Activity",
    "ActivityKind",
    "ApiToken",
    "AuditEvent",
    "Community",
    "Identity",
    "Integration",
    "IntegrationPlatform",
    "Introduction",
    "IntroductionStatus",
    "Invitation",
    "KeyRole",
    "Member",
    "MemberMerge",
    "MemberTag",
    "MergeReason",
    "MergeStatus",
    "MergeSuggestion",
    "Note",
    "Role",
    "SavedSegment",
    "Tag",
    "TagColor",
    "TeamMembership",
    "User",
]
