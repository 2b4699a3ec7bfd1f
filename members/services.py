"""Every write to members' models. Each service owns its transaction and writes its audit row."""

import hashlib
import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audit_record
from .exceptions import ApplicationError, ConflictError
from .models import ApiToken, Community, Invitation, Role, TeamMembership, User, validate_timezone

TOKEN_PREFIX = "hth_"  # noqa: S105 - a public marker that lets secret scanners spot tokens


def token_hash(raw: str) -> str:
    """Tokens are 256 random bits, so a plain SHA-256 is a safe, indexable fingerprint."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_timezone(name: str) -> None:
    try:
        validate_timezone(name)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), field="timezone") from exc


def _new_secret() -> tuple[str, str]:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return raw, token_hash(raw)


# --- users and communities -------------------------------------------------------------------


@transaction.atomic
def user_create(*, email: str, password: str | None, name: str = "") -> User:
    """A staff login with a verified primary email (invitations and seeding vouch for it)."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ConflictError(_("A user with this email already exists."), field="email")
    user = User.objects.create_user(email=email, password=password, name=name.strip())
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


@transaction.atomic
def community_create(
    *,
    slug: str,
    name: str,
    timezone_name: str,
    owner: User | None = None,
    actor: User | None = None,
) -> Community:
    """A new tenant; its owner, if given, becomes its first admin."""
    _check_timezone(timezone_name)
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), field="slug") from exc
    if not name.strip():
        raise ApplicationError(_("A community needs a name."), field="name")
    if Community.objects.filter(slug=slug).exists():
        raise ConflictError(_("A community with this slug already exists."), field="slug")
    community = Community.objects.create(slug=slug, name=name, timezone=timezone_name)
    audit_record(
        actor=actor,
        community=community,
        action="community.create",
        target=community,
        after={"slug": slug, "name": name, "timezone": timezone_name},
    )
    if owner is not None:
        membership_add(actor=actor, community=community, user=owner, role=Role.ADMIN)
    return community


@transaction.atomic
def community_update(
    *, actor: User, community: Community, name: str, timezone_name: str
) -> Community:
    _check_timezone(timezone_name)
    name = name.strip()
    if not name:
        raise ApplicationError(_("A community needs a name."), field="name")
    before = {"name": community.name, "timezone": community.timezone}
    community.name, community.timezone = name, timezone_name
    community.save(update_fields=["name", "timezone", "updated_at"])
    audit_record(
        actor=actor,
        community=community,
        action="community.update",
        target=community,
        before=before,
        after={"name": name, "timezone": timezone_name},
    )
    return community


# --- team ----------------------------------------------------------------------------------


@transaction.atomic
def membership_add(
    *, actor: User | None, community: Community, user: User, role: str
) -> TeamMembership:
    if role not in Role.values:
        raise ApplicationError(_("Unknown role."), field="role")
    try:
        with transaction.atomic():
            membership = TeamMembership.objects.create(user=user, community=community, role=role)
    except IntegrityError as exc:
        raise ConflictError(
            _("%(email)s is already on this team.") % {"email": user.email}, field="email"
        ) from exc
    audit_record(
        actor=actor,
        community=community,
        action="team.add",
        target=membership,
        after={"user": user.email, "role": role},
    )
    return membership


def _lock_admins(community: Community) -> list[int]:
    """Lock the community's admin rows so two demotions cannot both leave it without an admin.
    Always in primary-key order, so two of these never wait on each other (no deadlock)."""
    return list(
        TeamMembership.objects.select_for_update()
        .filter(community=community, role=Role.ADMIN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _lock_membership(membership: TeamMembership) -> TeamMembership:
    """The current row, locked; a teammate removed meanwhile is a conflict, not a crash."""
    current = (
        TeamMembership.objects.select_for_update(of=("self",))
        .select_related("user", "community")
        .filter(pk=membership.pk)
        .first()
    )
    if current is None:
        raise ConflictError(_("This person is no longer on the team."))
    return current


@transaction.atomic
def membership_set_role(*, actor: User, membership: TeamMembership, role: str) -> TeamMembership:
    if role not in Role.values:
        raise ApplicationError(_("Unknown role."), field="role")
    admins = _lock_admins(membership.community)
    membership = _lock_membership(membership)
    if membership.role == role:
        return membership
    if membership.role == Role.ADMIN and admins == [membership.pk]:
        raise ConflictError(_("A community needs at least one admin."), field="role")
    before = {"role": membership.role}
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    audit_record(
        actor=actor,
        community=membership.community,
        action="team.role_change",
        target=membership,
        before=before,
        after={"role": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: User, membership: TeamMembership) -> None:
    admins = _lock_admins(membership.community)
    # Decided on the locked rows, not on `membership.role`, which may be stale.
    if admins == [membership.pk]:
        raise ConflictError(_("A community needs at least one admin."))
    membership = _lock_membership(membership)
    # Tokens act with their user's role; without a role they must stop working too.
    ApiToken.objects.filter(
        community=membership.community, user=membership.user, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    audit_record(
        actor=actor,
        community=membership.community,
        action="team.remove",
        target=membership,
        before={"user": membership.user.email, "role": membership.role},
    )
    membership.delete()


# --- invitations ---------------------------------------------------------------------------


@transaction.atomic
def invitation_create(
    *, actor: User, community: Community, email: str, role: str
) -> tuple[Invitation, str]:
    """Invite an address with a role. Returns the invitation and the raw token for the link;
    the email goes out from a worker once the transaction commits. Inviting an address again
    replaces its pending invitation."""
    email = email.strip().lower()
    if role not in Role.values:
        raise ApplicationError(_("Unknown role."), field="role")
    if TeamMembership.objects.filter(community=community, user__email__iexact=email).exists():
        raise ConflictError(
            _("%(email)s is already on this team.") % {"email": email}, field="email"
        )
    for previous in Invitation.objects.select_for_update().filter(
        community=community, email__iexact=email, status=Invitation.Status.PENDING
    ):
        _invitation_end(actor=actor, invitation=previous, status=Invitation.Status.REVOKED)
    raw, hashed = _new_secret()
    try:
        # A concurrent invitation to the same address, not yet committed when we looked, makes
        # the one-pending-per-email constraint fail here: answer with a conflict, not a 500.
        with transaction.atomic():
            invitation = Invitation.objects.create(
                community=community,
                email=email,
                role=role,
                token_hash=hashed,
                invited_by=actor,
                expires_at=timezone.now() + timedelta(days=settings.HEARTH_INVITATION_DAYS),
            )
    except IntegrityError as exc:
        raise ConflictError(
            _("%(email)s is being invited by someone else right now; try again.")
            % {"email": email},
            field="email",
        ) from exc
    audit_record(
        actor=actor,
        community=community,
        action="invitation.create",
        target=invitation,
        after={"email": email, "role": role, "expires_at": invitation.expires_at.isoformat()},
    )
    _send_on_commit(invitation.pk, raw)
    return invitation, raw


def _send_on_commit(invitation_id: int, raw: str | None) -> None:
    """Queue the email once committed. `robust`: with the broker down the invitation is still
    saved and the admin still gets an answer; the ten-minute sweep (invitations_send_unsent)
    sends it, with a fresh link, once the broker is back."""
    from .tasks import invitation_send

    transaction.on_commit(lambda: invitation_send.delay(invitation_id, raw), robust=True)


@transaction.atomic
def invitation_resend(*, actor: User, invitation: Invitation) -> Invitation:
    """Send the invitation again with a new link; the old link stops working."""
    raw, hashed = _new_secret()
    now = timezone.now()
    if not Invitation.objects.filter(
        pk=invitation.pk, status=Invitation.Status.PENDING, expires_at__gt=now
    ).update(token_hash=hashed, sent_at=None, updated_at=now):
        raise ConflictError(_("This invitation is no longer pending."))
    invitation.sent_at = None
    audit_record(
        actor=actor,
        community=invitation.community,
        action="invitation.resend",
        target=invitation,
        after={"email": invitation.email},
    )
    _send_on_commit(invitation.pk, raw)
    return invitation


def invitation_reissue_token(*, invitation_id: int) -> str | None:
    """A fresh link for a pending, unsent invitation whose first link was lost (the broker was
    down when it was created). Returns the raw token, or None if the invitation moved on."""
    raw, hashed = _new_secret()
    now = timezone.now()
    changed = Invitation.objects.filter(
        pk=invitation_id,
        status=Invitation.Status.PENDING,
        sent_at__isnull=True,
        expires_at__gt=now,
    ).update(token_hash=hashed, updated_at=now)
    return raw if changed else None


def _invitation_end(*, actor: User | None, invitation: Invitation, status: str) -> int:
    """Move a pending invitation to a final status; a conditional update, so only one of two
    racing requests (accept vs revoke) wins."""
    now = timezone.now()
    changed = Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.PENDING).update(
        status=status, ended_at=now, updated_at=now
    )
    if changed:
        invitation.status, invitation.ended_at = status, now
        audit_record(
            actor=actor,
            community=invitation.community,
            action=f"invitation.{status}",
            target=invitation,
            before={"status": Invitation.Status.PENDING},
            after={"status": status},
        )
    return changed


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    if not _invitation_end(actor=actor, invitation=invitation, status=Invitation.Status.REVOKED):
        raise ConflictError(_("This invitation is no longer pending."))
    return invitation


@transaction.atomic
def invitation_mark_sent(*, invitation_id: int) -> None:
    Invitation.objects.filter(pk=invitation_id, sent_at__isnull=True).update(sent_at=timezone.now())


@transaction.atomic
def invitations_expire() -> int:
    """Mark every pending invitation past its date as expired (hourly, from beat)."""
    expired = 0
    for invitation in Invitation.objects.select_related("community").filter(
        status=Invitation.Status.PENDING, expires_at__lte=timezone.now()
    ):
        expired += _invitation_end(
            actor=None, invitation=invitation, status=Invitation.Status.EXPIRED
        )
    return expired


def invitation_for_token(raw: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("community", "invited_by")
        .filter(token_hash=token_hash(raw))
        .first()
    )


@transaction.atomic
def invitation_accept(
    *, raw_token: str, user: User | None = None, name: str = "", password: str = ""
) -> TeamMembership:
    """Accept an invitation as the signed-in `user` (whose email must match), or create the
    login for the invited address with `name` and `password`."""
    invitation = invitation_for_token(raw_token)
    if invitation is None or not invitation.is_usable:
        raise ConflictError(
            _(
                "This invitation link is not valid any more. Ask an admin of the "
                "community for a new one."
            )
        )
    if user is None:
        try:
            validate_password(password, User(email=invitation.email, name=name))
        except ValidationError as exc:
            raise ApplicationError(" ".join(exc.messages), field="password") from exc
        user = user_create(email=invitation.email, password=password, name=name)
    elif user.email.lower() != invitation.email.lower():
        raise ApplicationError(
            _("This invitation is for %(email)s. Sign out and open the link again.")
            % {"email": invitation.email}
        )
    if not _invitation_end(actor=user, invitation=invitation, status=Invitation.Status.ACCEPTED):
        raise ConflictError(_("This invitation link is not valid any more."))
    Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
    invitation.accepted_by = user
    return membership_add(
        actor=user, community=invitation.community, user=user, role=invitation.role
    )


# --- API tokens -----------------------------------------------------------------------------


@transaction.atomic
def api_token_create(
    *, actor: User | None, community: Community, user: User, name: str
) -> tuple[ApiToken, str]:
    """A token that acts as `user` (with their role) in `community`. The raw token is returned
    once and never stored."""
    if not TeamMembership.objects.filter(community=community, user=user).exists():
        raise ApplicationError(
            _("%(email)s is not on this community's team.") % {"email": user.email}, field="user"
        )
    name = name.strip() or _("API token")
    raw, hashed = _new_secret()
    token = ApiToken.objects.create(
        community=community,
        user=user,
        name=name[:100],
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=hashed,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        community=community,
        action="api_token.create",
        target=token,
        after={"name": token.name, "user": user.email, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    now = timezone.now()
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now, updated_at=now
    ):
        raise ConflictError(_("This token is already revoked."))
    token.revoked_at = now
    audit_record(
        actor=actor,
        community=token.community,
        action="api_token.revoke",
        target=token,
        before={"revoked": False},
        after={"revoked": True},
    )
    return token


def api_token_touch(*, token: ApiToken) -> None:
    """Record use at most once a minute, so a busy integration costs no write per request."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


# --- audit log -------------------------------------------------------------------------------


@transaction.atomic
def audit_log_export(*, actor: User, community: Community, filters: dict[str, str]) -> None:
    """Exports of the audit log are themselves recorded: who took a copy, with which filters."""
    audit_record(
        actor=actor,
        community=community,
        action="audit.export",
        target=community,
        after={"filters": filters},
    )
